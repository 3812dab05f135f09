"""Coverage of the pooled backtest's 95% interval over datasets (``backtest.pooled``), by simulation.

    .venv/bin/python benchmarks/pooled_interval_bench.py [--reps 400] [--seed 1]

A simulated study has k datasets of 1-3 trials each; a trial's more-labels error difference (a rule's
minus the forecast's) is its dataset's effect plus noise (sd 0.3), the effect normal, t with 3 degrees
of freedom or skewed (a centred exponential), sd 0.3, mean 0. For each case it prints how often the
interval holds 0 and its median width: the jackknife t-interval over datasets the report uses
(``backtest._difference``), the percentile bootstrap over datasets and BCa (``scipy.stats.bootstrap``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mvd.report.backtest import _difference  # noqa: E402

EFFECTS = {"normal": lambda rng: rng.normal(0.0, 0.3), "t3": lambda rng: 0.3 * rng.standard_t(3),
           "skewed": lambda rng: 0.3 * (rng.exponential() - 1.0)}


def bootstrap(per: list, method: str, seed: int) -> tuple[float, float]:
    sums = np.array([sum(r) - sum(m) for r, m in per])
    counts = np.array([len(m) for _, m in per], dtype=float)
    ci = stats.bootstrap((sums, counts), lambda s, c, axis=-1: s.sum(axis=axis) / c.sum(axis=axis), paired=True,
                         vectorized=True, n_resamples=1000, method=method,
                         random_state=np.random.default_rng(seed)).confidence_interval
    return ci.low, ci.high


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=400, help="simulated studies per case")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.reps} simulated studies per case; 95% nominal; held / median width")
    print(f"{'effect':<8}{'datasets':>9}{'jackknife t':>18}{'percentile':>18}{'BCa':>18}")
    for name, effect in EFFECTS.items():
        for k in (3, 5, 7, 10, 14):
            held, width = {m: 0 for m in ("jack", "percentile", "BCa")}, {m: [] for m in ("jack", "percentile", "BCa")}
            for r in range(args.reps):
                per = []
                for _ in range(k):
                    mu, t = effect(rng), int(rng.integers(1, 4))
                    method = np.abs(rng.normal(0.5, 0.4, t))
                    per.append((list(method + mu + rng.normal(0.0, 0.3, t)), list(method)))
                d = _difference(per, 0.95)
                got = {"jack": (d["ci_low"], d["ci_high"])}
                if k >= 5:  # the bootstrap over fewer datasets is degenerate
                    got.update({m: bootstrap(per, m, r) for m in ("percentile", "BCa")})
                for m, (lo, hi) in got.items():
                    held[m] += lo <= 0.0 <= hi
                    width[m].append(hi - lo)
            cells = [f"{100 * held[m] / args.reps:5.1f}% / {np.median(width[m]):4.2f}" if width[m] else "–"
                     for m in ("jack", "percentile", "BCa")]
            print(f"{name:<8}{k:>9}" + "".join(f"{c:>18}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
