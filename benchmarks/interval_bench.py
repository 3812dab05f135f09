"""Coverage of the report's 95% intervals on the difference of two levers at 5 seeds, by simulation.

    .venv/bin/python benchmarks/interval_bench.py [--reps 4000] [--seeds 3]

The simulation is the one ``tests/test_intervals.py`` checks (``simulate``): two models scored on 400
test rows, 5 seeds, the test set drawn per seed or fixed for all seeds, and a test-row effect that is
moderate (swing 0.25) or dominant (swing 0.6).  For each case it prints the coverage and mean width of
the t-interval the report uses now (``new``), of the same t-interval over the seeds alone (``seeds
only``: what points without per-row scores get on a fixed test set) and of the percentile bootstrap over
seed resamples it replaced (``old``), pooled over ``--seeds`` independent simulations of ``--reps`` each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_intervals import simulate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=4000, help="simulated studies per case and seed")
    p.add_argument("--seeds", type=int, default=3, help="independent simulations per case")
    args = p.parse_args()
    print(f"{args.reps * args.seeds:,} simulated studies per case; 95% nominal; 5 seeds; 400 test rows")
    print("| test set | test-row effect | new | width | seeds only | width | old (percentile) | width |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    start = time.perf_counter()
    for fixed in (False, True):
        for swing in (0.25, 0.6):
            runs = [simulate(fixed=fixed, reps=args.reps, swing=swing, seed=s) for s in range(args.seeds)]
            mean = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
            print(f"| {'fixed' if fixed else 'per seed'} | {'moderate' if swing < 0.5 else 'dominant'} "
                  f"| {mean['new']:.1%} | {100 * mean['new_width']:.2f} "
                  f"| {mean['seeds_only']:.1%} | {100 * mean['seeds_only_width']:.2f} "
                  f"| {mean['old']:.1%} | {100 * mean['old_width']:.2f} |")
    print(f"({time.perf_counter() - start:.1f} s; widths in accuracy points)")


if __name__ == "__main__":
    main()
