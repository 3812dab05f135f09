"""Benchmark: build the report of a 100,000-point synthetic study (target: < 10 s, < 2 GB).

    .venv/bin/python benchmarks/report_bench.py [--points-dir /tmp/mvd-bench] [--bootstrap 1000]

The study: 5 datasets x 10 models x 10 label-noise rates x 20 sizes (16 ·
sqrt(2)^k) x 10 seeds = 100,000 points in 500 curve files, written once
through the store layout.  The report is built in a fresh child process, so
its wall time includes imports and its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the study writer lives with the tests

from tests.synthetic_study import write_study  # noqa: E402

MODELS = {f"m{r}": (r, 2.0 / (1 + 0.3 * r), 0.35 + 0.03 * r, 0.02 + 0.002 * r) for r in range(10)}
SIZES = [round(16 * 2 ** (k / 2)) for k in range(20)]
RATES = [round(0.04 * i, 2) for i in range(10)]
SEEDS = list(range(10))
DATASETS = [f"d{i}" for i in range(5)]

CHILD = """
import json, sys, time
t = time.perf_counter()
from mvd.report import build
out = build(sys.argv[1], bootstrap=int(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points-dir", default="/tmp/mvd-report-bench")
    p.add_argument("--bootstrap", type=int, default=1000)
    args = p.parse_args()
    study = Path(args.points_dir) / "bench"
    if not (study / "points").exists():
        write_study(study, models=MODELS, sizes=SIZES, seeds=SEEDS, rates=RATES, datasets=DATASETS,
                    noise=0.01, noise_effect=0.4)
    n_points = len(DATASETS) * len(MODELS) * len(RATES) * len(SIZES) * len(SEEDS)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(study), str(args.bootstrap)],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # Linux: kB
    cpu = usage.ru_utime + usage.ru_stime
    inner = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
    size = (study / "summary.json").stat().st_size / 1e6
    print(f"points: {n_points:,}  curves: {n_points // (len(SIZES) * len(SEEDS))}  bootstrap: {args.bootstrap}")
    load = os.getloadavg()[0]
    print(f"report build: {inner:.2f} s wall in the child (process {wall:.2f} s incl. start), CPU {cpu:.2f} s, "
          f"peak RSS {peak_mb:,.0f} MB, summary.json {size:.1f} MB; load average {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
