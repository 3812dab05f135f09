"""Is the per-point inference cost a stable number?  Repeated measurements of one rung, as points record it.

    .venv/bin/python benchmarks/inference_bench.py [--repeats 10] [--rows 1000] [--models logreg forest gbm knn mlp]

Each model (its conf/model defaults) is fitted once on ``--rows`` rows of digits (bundled), then
``mvd.costs.predict_ms_per_1000`` (warm, one thread, median of 5 timed calls on 1,000 test rows) is
called ``--repeats`` times.  Prints the median, the largest deviation of one measurement from the median,
the spread (max/min - 1) and the model size per rung.  The target: repeated measurements of one rung agree
within 10% on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from omegaconf import OmegaConf

from machine import cpu  # benchmarks/machine.py (scripts run from benchmarks/)
from mvd import costs, data, models, splits
from mvd.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--models", nargs="+", default=["logreg", "nb", "knn", "tree", "forest", "svm", "gbm", "mlp"])
    args = p.parse_args(argv)
    print(cpu())
    dataset = data.load(OmegaConf.load(ROOT / "conf" / "dataset" / "digits.yaml"))
    pool, test = splits.split(dataset.y, seed=0, test_fraction=0.25, task=dataset.task)
    fit = pool[: args.rows]
    X_fit, y_fit, X_test = data.take(dataset.X, fit), dataset.y[fit], data.take(dataset.X, test)
    print(f"{'model':8} {'median ms/1000':>15} {'max dev':>8} {'spread':>8} {'bytes':>10}")
    for name in args.models:
        cfg = OmegaConf.merge(OmegaConf.structured(ModelConfig),
                              OmegaConf.load(ROOT / "conf" / "model" / f"{name}.yaml"))
        pipe = models.build(cfg, dataset, seed=0, threads=1)
        pipe.fit(X_fit, y_fit)
        ms = [costs.predict_ms_per_1000(pipe, X_test) for _ in range(args.repeats)]
        median = statistics.median(ms)
        deviation = max(abs(m / median - 1) for m in ms)
        spread = max(ms) / min(ms) - 1
        print(f"{name:8} {median:15.3f} {100 * deviation:7.1f}% {100 * spread:7.1f}% {costs.model_bytes(pipe):10,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
