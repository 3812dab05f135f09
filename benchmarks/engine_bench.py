"""Engine overhead: one mvd curve job against scikit-learn's learning_curve doing the same fits.

Run by hand:  .venv/bin/python benchmarks/engine_bench.py [--repeats 3]
For each model of the ladder on digits (8 sizes x 3 seeds, one BLAS thread):
  * mvd      — curve.run_curve in-process (fit, predict, probabilities, 5 metrics,
               train score, one atomic parquet write per point);
  * sklearn  — learning_curve on the same splits and nested prefixes;
  * fit+predict — the estimators' own time as mvd measured it (fit, test
                  predictions and probabilities, training-set predictions),
and reports mvd's time / learning_curve's and mvd's overhead beyond fit+predict.
Also times `mvd --help` and the peak memory (max RSS) of a digits job in a subprocess.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from sklearn.model_selection import learning_curve
from threadpoolctl import threadpool_limits

from mvd import curve, data, models, splits
from mvd.config import CONF_DIR, register

LADDER = ["dummy", "logreg", "nb", "knn", "tree", "forest", "svm", "gbm"]
SIZES = [16, 32, 64, 128, 256, 512, 1024, 1347]
SEEDS = [0, 1, 2]


def _cfg(model: str, results: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "dataset=digits", f"model={model}", f"curve.sizes={SIZES}", f"curve.seeds={SEEDS}"])
    with open_dict(cfg):
        cfg.results_dir, cfg.progress = results, False
    return cfg


def time_mvd(model: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _cfg(model, tmp)
        prepared = curve.plan(cfg)  # data load is outside both timings
        start = time.perf_counter()
        frame = curve.run_curve(cfg, prepared=prepared)
        total = time.perf_counter() - start
    own = float((frame["fit_seconds"] + frame["predict_seconds"] + frame["train_predict_seconds"]).sum())
    return total, own


def time_sklearn(model: str) -> float:
    cfg = _cfg(model, "/tmp/unused")
    ds = data.load(cfg.dataset)
    cv = []
    for seed in SEEDS:
        pool, test = splits.split(ds.y, seed=seed, test_fraction=0.25, task="classification")
        cv.append((pool[splits.nested_order(ds.y[pool], seed=seed, task="classification")], test))
    total = 0.0
    with threadpool_limits(limits=1):
        for seed, fold in zip(SEEDS, cv):
            est = models.build(cfg.model, ds, seed=seed)
            start = time.perf_counter()
            learning_curve(est, ds.X, ds.y, train_sizes=SIZES, cv=[fold], shuffle=False)
            total += time.perf_counter() - start
    return total


def help_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "mvd"), "--help"], capture_output=True, check=True)
    return time.perf_counter() - start


def job_peak_mb(model: str = "gbm") -> float:
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([str(Path(sys.executable).parent / "mvd"), "dataset=digits", f"model={model}",
                        f"results_dir={tmp}", "progress=false", f"hydra.run.dir={tmp}/out"],
                       capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=LADDER)
    args = parser.parse_args()
    register()
    rows = []
    print(f"{'model':8} {'mvd s':>8} {'sklearn s':>10} {'ratio':>6} {'fit+pred s':>10} {'overhead':>9}")
    for model in args.models:
        mvd_runs = [time_mvd(model) for _ in range(args.repeats)]
        sk_runs = [time_sklearn(model) for _ in range(args.repeats)]
        mvd_t, own = min(mvd_runs)
        sk_t = min(sk_runs)
        rows.append((model, mvd_t, sk_t, own))
        print(f"{model:8} {mvd_t:8.3f} {sk_t:10.3f} {mvd_t / sk_t:6.2f} {own:10.3f} {(mvd_t - own) / mvd_t:8.1%}")
    mvd_total = sum(r[1] for r in rows)
    sk_total = sum(r[2] for r in rows)
    own_total = sum(r[3] for r in rows)
    print(f"{'ladder':8} {mvd_total:8.3f} {sk_total:10.3f} {mvd_total / sk_total:6.2f} {own_total:10.3f} "
          f"{(mvd_total - own_total) / mvd_total:8.1%}")
    print(f"mvd --help: {min(help_seconds() for _ in range(3)):.2f} s")
    print(f"peak RSS of a digits gbm job: {job_peak_mb():.0f} MB")
    print(f"points per job: {len(SIZES) * len(SEEDS)}; numpy {np.__version__}")


if __name__ == "__main__":
    main()
