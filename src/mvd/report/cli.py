"""``mvd-report STUDY_DIR``: rebuild a study's report from its stored points."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    p.add_argument("--objective", help="decide on another stored metric or a weighted sum, without refitting, e.g. "
                                       "log_loss or 'accuracy - 0.1*predict_ms_per_1000' (one accuracy point per "
                                       "10 ms per 1,000 rows); written to STUDY_DIR/objective-<name>/")
    v = p.add_argument_group("operating point of the decision (default: the study's verdict config)")
    v.add_argument("--n-now", type=float, help="labelled rows you have now (default: the largest measured size)")
    v.add_argument("--data", help="the data you have now, e.g. 'clean' or 'label_noise 0.4' "
                                  "(default: the noisiest uncleaned condition when quality varies)")
    v.add_argument("--model", help="your current model (default: the model of sophistication 1)")
    v.add_argument("--step", type=float, help="a lever of your own: this many extra labels, e.g. 5000")
    v.add_argument("--backtest", action=argparse.BooleanOptionalAction, default=None,
                   help="backtest the decision by hiding the largest sizes (default: when a dataset has >= 4 sizes)")
    p.add_argument("--findings", action="store_true", help="print the study's findings table (one row per dataset) "
                   "from its summary.json, without rebuilding the report")
    w = p.add_argument_group("Weights & Biases: log the study from its stored points, without refitting")
    w.add_argument("--wandb", action="store_true",
                   help="one W&B run per curve and the study run (online with credentials, else offline: "
                        "upload later with `wandb sync`)")
    w.add_argument("--wandb-project", default="mvd", help="W&B project (default mvd)")
    w.add_argument("--wandb-dir", help="where the wandb/ folder goes (default: WANDB_DIR or the current directory)")
    w.add_argument("--wandb-group", default="dataset", help="group runs by 'dataset' (one group per "
                                                            "dataset: its whole ladder) or 'study' (default dataset)")
    return p


def main(argv: list[str] | None = None) -> int:
    from mvd.errors import ConfigError
    from mvd.store import StoreError

    args = _parser().parse_args(argv)
    if args.findings:
        from mvd.report import findings

        summary = Path(args.study_dir) / "summary.json"
        if not summary.is_file():
            print(f"mvd-report: error: {summary} does not exist; build the report first (mvd-report {args.study_dir}).",
                  file=sys.stderr)
            sys.exit(2)
        print(findings.table(json.loads(summary.read_text())), end="")
        return 0
    try:
        from mvd.report import build

        verdict = {"n_now": args.n_now, "data": args.data, "model": args.model, "step": args.step,
                   "backtest": args.backtest}
        settings = None
        if args.wandb:
            from mvd.loggers.wandb import Settings

            settings = Settings(project=args.wandb_project, mode="online", group=args.wandb_group,
                                dir=args.wandb_dir).check()
        out = build(args.study_dir, baseline=args.baseline, target=args.target, bootstrap=args.bootstrap,
                    verdict=verdict, objective=args.objective)
        print(f"report: {out}")
        print(f"summary: {out.with_name('summary.json')}")
        if settings is not None:
            from mvd.loggers.wandb import relog

            runs = relog(args.study_dir, settings)
            print(f"W&B: {runs} curve run(s) and the study run logged to project {args.wandb_project!r}, "
                  f"grouped by {args.wandb_group}")
    except (ConfigError, StoreError) as exc:
        print(f"mvd-report: error: {exc}", file=sys.stderr)
        sys.exit(2)
    return 0


if __name__ == "__main__":
    main()
