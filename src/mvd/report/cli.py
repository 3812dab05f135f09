"""``mvd-report STUDY_DIR``: rebuild a study's report from its stored points."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mvd-report",
        description="Build report.md, report.html, summary.json and figures/ of a study from its stored points.",
        epilog="Example: mvd-report results/quickstart --n-now 724 --step 5000")
    p.add_argument("study_dir", help="a study folder holding points/ (e.g. results/quickstart)")
    p.add_argument("--baseline", help="model whose curve prices the others in data (default: the model of sophistication 1)")
    p.add_argument("--target", type=float, help="target of the primary metric for the cheapest route "
                                                "(default: the best measured point)")
    p.add_argument("--bootstrap", type=int, help="seed resamples for confidence intervals (default 1000)")
    v = p.add_argument_group("operating point of the decision (default: the study's verdict config)")
    v.add_argument("--n-now", type=float, help="labelled rows you have now (default: the largest measured size)")
    v.add_argument("--data", help="the data you have now, e.g. 'clean' or 'label_noise 0.4' "
                                  "(default: the noisiest uncleaned condition when quality varies)")
    v.add_argument("--model", help="your current model (default: the model of sophistication 1)")
    v.add_argument("--step", type=float, help="a lever of your own: this many extra labels, e.g. 5000")
    v.add_argument("--backtest", action=argparse.BooleanOptionalAction, default=None,
                   help="backtest the decision by hiding the largest sizes (default: when a dataset has >= 4 sizes)")
    return p


def main(argv: list[str] | None = None) -> int:
    from mvd.errors import ConfigError
    from mvd.store import StoreError

    args = _parser().parse_args(argv)
    try:
        from mvd.report import build

        verdict = {"n_now": args.n_now, "data": args.data, "model": args.model, "step": args.step,
                   "backtest": args.backtest}
        out = build(args.study_dir, baseline=args.baseline, target=args.target, bootstrap=args.bootstrap,
                    verdict=verdict)
    except (ConfigError, StoreError) as exc:
        print(f"mvd-report: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"report: {out}")
    print(f"summary: {out.with_name('summary.json')}")
    return 0


if __name__ == "__main__":
    main()
