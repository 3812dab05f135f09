"""Cost of cleaning: confident learning against the out-of-fold fits it needs.

Run by hand:  .venv/bin/python benchmarks/cleaning_bench.py [--repeats 3]

Confident learning = k out-of-fold fits (cross_val_predict, k=5) + cleanlab's
find_label_issues.  The budget is at most the k fits plus 10 %.  For
each dataset x model x training size, on a label-noise-0.2 training subset
drawn exactly as a curve draws it, this times

  * oof    -- sklearn's cross_val_predict alone, same pipeline, folds and rows;
  * cl     -- mvd's ConfidentLearning.clean end to end;

(process CPU time, best of --repeats, interleaved, one BLAS thread: CPU time
rather than wall time, because the figures were taken on a shared machine) and
prints cl / oof, the extra milliseconds, and cleanlab's precision and recall.  It also times the corruptions and dedup on a full pool,
which should be negligible next to any fit.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
from hydra import compose, initialize_config_dir
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from mvd import cleaning, data, models, quality, splits
from mvd.config import CONF_DIR, register

from machine import best_cpu_seconds, cpu_seconds  # benchmarks/machine.py (scripts run from benchmarks/)

CASES = [("breast_cancer", 128), ("breast_cancer", 426), ("digits", 256), ("digits", 1024)]
MODELS = ["logreg", "forest", "gbm"]


def _cfg(dataset: str, model: str, kind: str = "label_noise", rate: float = 0.2):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[
            f"dataset={dataset}", f"model={model}", f"quality={kind}", f"quality.rate={rate}",
            "cleaning=confident_learning"])


def _subset(cfg, n: int, seed: int = 0):
    ds = data.load(cfg.dataset)
    pool, _ = splits.split(ds.y, seed=seed, test_fraction=cfg.curve.test_fraction, task=ds.task)
    pooled = quality.build(cfg.quality).corrupt(ds.X[pool], ds.y[pool], ds, seed=seed)
    order = splits.nested_order(pooled.y, seed=seed, task=ds.task)
    return (ds, pooled, order, *pooled.subset(order, n))


def bench_confident_learning(repeats: int) -> None:
    print(f"{'dataset':14} {'model':7} {'n':>5} {'oof s':>8} {'cl s':>8} {'cl/oof':>7} {'extra ms':>9} "
          f"{'prec':>5} {'rec':>5}")
    for dataset, n in CASES:
        for model in MODELS:
            cfg = _cfg(dataset, model)
            ds, _, _, X, y, bad = _subset(cfg, n)
            folds = int(max(2, min(cfg.cleaning.folds, np.bincount(y).min())))
            labels = np.unique(y, return_inverse=True)[1]

            def oof():
                pipe = models.build(cfg.model, ds, seed=0)
                cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
                cross_val_predict(pipe, X, labels, cv=cv, method="predict_proba")

            method = cleaning.build(cfg.cleaning)

            def cl():
                return method.clean(X, y, bad, seed=0, model=models.build(cfg.model, ds, seed=0))

            info = cl()[1]  # warm-up (imports, caches), and the cleaning's own figures
            pairs = [(cpu_seconds(oof), cpu_seconds(cl)) for _ in range(repeats)]  # interleaved: same load
            t_oof, t_cl = min(p[0] for p in pairs), min(p[1] for p in pairs)
            print(f"{dataset:14} {model:7} {n:5d} {t_oof:8.3f} {t_cl:8.3f} {t_cl / t_oof:7.3f} "
                  f"{1e3 * (t_cl - t_oof):9.1f} {info['clean_precision']:5.2f} {info['clean_recall']:5.2f}")


def bench_corruptions(repeats: int) -> None:
    print(f"\n{'quality (digits pool 1347)':28} {'corrupt ms':>10} {'subset ms':>10} {'dedup ms':>9}")
    for kind in quality.KINDS:
        cfg = _cfg("digits", "logreg", kind, 0.0 if kind == "clean" else 0.3)
        ds = data.load(cfg.dataset)
        pool, _ = splits.split(ds.y, seed=0, test_fraction=0.25, task=ds.task)
        corruption = quality.build(cfg.quality)
        t_corrupt = best_cpu_seconds(lambda: corruption.corrupt(ds.X[pool], ds.y[pool], ds, seed=0), repeats)
        pooled = corruption.corrupt(ds.X[pool], ds.y[pool], ds, seed=0)
        order = splits.nested_order(pooled.y, seed=0, task=ds.task)
        n = len(order)
        t_subset = best_cpu_seconds(lambda: pooled.subset(order, n), repeats)
        X, y, bad = pooled.subset(order, n)
        dedup = cleaning.Dedup()
        t_dedup = best_cpu_seconds(lambda: dedup.clean(X, y, bad, seed=0), repeats)
        print(f"{kind:28} {1e3 * t_corrupt:10.2f} {1e3 * t_subset:10.2f} {1e3 * t_dedup:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    register()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    import os

    print(f"# {platform.python_version()}, {os.cpu_count()} CPUs ({cpu}), 1 BLAS thread, best of {args.repeats}")
    with threadpool_limits(limits=1):
        bench_confident_learning(args.repeats)
        bench_corruptions(args.repeats)


if __name__ == "__main__":
    main()
