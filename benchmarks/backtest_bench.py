"""Benchmark: how well the report's curve families and extrapolation intervals hold up.

    .venv/bin/python benchmarks/backtest_bench.py [--curves 500] [--lcdb PATH/database-accuracy.csv] [--lcdb-curves 300]

1. Synthetic curves with known families (``tests/synthetic_study.py``, ``family_curves``:
   pow3, pow4, mmf4, log-linear and flat, 15 sizes 16..2,048, 5 seeds, Gaussian
   noise 0.01 per seed, kept when a backtest can tell the family apart):
   how often the backtest picks the true family, and the empirical coverage of
   the 80% and 95% intervals on the anchors above n_max/2.
2. External learning curves (LCDB 1.0, Mohr et al. 2023; the ``lcdb`` package
   on PyPI ships its database: ``pip download lcdb==0.1.0 --no-deps`` and untar
   ``lcdb/database-accuracy.csv``): curves of 20 scikit-learn learners on OpenML
   datasets, the five outer seeds (inner seed 0) as seeds, error = 1 - test
   accuracy, through the same fit-and-backtest path; their coverage is compared
   with the synthetic claim.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def lcdb_curves(path: str, count: int, seed: int = 0) -> list:
    import pandas as pd

    frame = pd.read_csv(path, usecols=["openmlid", "learner", "size_train", "outer_seed", "inner_seed", "score_test"],
                        engine="pyarrow")
    frame = frame[frame["inner_seed"] == 0]
    wide = frame.pivot_table(index=["openmlid", "learner", "size_train"], columns="outer_seed", values="score_test")
    wide = wide.dropna()
    keys = sorted({k[:2] for k in wide.index})
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.permutation(len(keys)):
        rows = wide.loc[keys[i]]
        if len(rows) < 8 or rows.shape[1] < 3:
            continue
        out.append((None, rows.index.to_numpy(dtype=float), 1.0 - rows.to_numpy(dtype=float)))
        if len(out) == count:
            break
    return out


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the synthetic curves live with the tests
    from tests.synthetic_study import backtest_curves, family_curves

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--curves", type=int, default=500)
    p.add_argument("--margin", type=float, default=4.0, help="identifiability margin, in standard errors of a mean")
    p.add_argument("--lcdb", help="path of LCDB's database-accuracy.csv")
    p.add_argument("--lcdb-curves", type=int, default=300)
    args = p.parse_args()
    start = time.perf_counter()
    synthetic = backtest_curves(family_curves(args.curves, seed=0, margin=args.margin), bootstrap=200)
    print("synthetic:", json.dumps(synthetic), f"({time.perf_counter() - start:.0f} s)")
    if args.lcdb:
        start = time.perf_counter()
        external = backtest_curves(lcdb_curves(args.lcdb, args.lcdb_curves), bootstrap=200)
        print("lcdb:", json.dumps(external), f"({time.perf_counter() - start:.0f} s)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
