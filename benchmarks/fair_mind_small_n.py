"""Tuning at small n: does the small-subset rule (tuning.small_n) fix the fair_mind cells where tuned
boosting lost to its own default, and at what cost?

    MVD_DATA=/path/to/data .venv/bin/python benchmarks/fair_mind_small_n.py [OUT_DIR]

Runs only the failing cells of the committed fair_mind grid (digits gbm and lightgbm at 45, 64 and
91 rows; spambase lightgbm at 256; 5 seeds) with fair_mind's budget (4 trials, 2 inner folds, the
one-standard-error rule) plus ``tuning.small_n=256`` (20 inner folds at subsets up to 256 rows),
into OUT_DIR (default: a temporary folder; never results/).  The default and the committed tuned
points are read from results/fair_mind; one default and one committed tuned point are refitted
first to check that the subsets and splits are the committed ones.  Prints, per cell: the default,
the committed tuned and the new tuned test accuracy, the paired difference to the default with its
standard error (over seeds: same seed = same split and subset), whether tuned >= default - 2 SE, and
the mean search seconds per point (tune_seconds) of each rule.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

import mvd.store
from mvd import curve
from mvd.config import CONF_DIR, register

CELLS = [("digits", "gbm", [45, 64, 91]), ("digits", "lightgbm", [45, 64, 91]), ("spambase", "lightgbm", [256])]
SEEDS = [0, 1, 2, 3, 4]
FAIR_MIND = ["tuning.trials=4", "tuning.folds=2", "tuning.untunable=default", "tuning.keep_default_within=1.0",
             "curve.max_size=4096"]
SMALL_N = 256


def _cfg(out: str, dataset: str, model: str, sizes: list, *extra: str):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            f"dataset={dataset}", f"model={model}", "study=fair_mind_small_n", "logger=none",
            f"curve.sizes=[{','.join(map(str, sizes))}]", f"curve.seeds=[{','.join(map(str, SEEDS))}]", *extra])
    with open_dict(cfg):
        cfg.results_dir = out
        cfg.progress = False
    return cfg


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    d = (a - b).dropna()
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def main(out: str) -> None:
    committed = mvd.store.load("results/fair_mind")
    committed = committed[committed["status"] == "ok"]
    key = ["dataset", "model", "train_size", "seed"]
    # the subsets and splits are the committed grid's: refit one default and one committed-rule tuned point
    for extra, tuned in (((), False), (("tuning=optuna", *FAIR_MIND), True)):
        check = curve.run_curve(_cfg(os.path.join(out, "check"), "digits", "gbm", [45], *extra))
        check = check[check["seed"] == 0]
        stored = committed[(committed["dataset"] == "digits") & (committed["model"] == "gbm")
                           & (committed["train_size"] == 45) & (committed["seed"] == 0)
                           & (committed["tuned"].fillna(False).astype(bool) == tuned)]
        assert float(check["test_accuracy"].iloc[0]) == float(stored["test_accuracy"].iloc[0]), (extra, check, stored)
    rows = []
    for dataset, model, sizes in CELLS:
        start = time.perf_counter()
        new = curve.run_curve(_cfg(out, dataset, model, sizes, "tuning=optuna", *FAIR_MIND,
                                   f"tuning.small_n={SMALL_N}"))
        wall = time.perf_counter() - start
        mine = committed[(committed["dataset"] == dataset) & (committed["model"] == model)
                         & committed["train_size"].isin(sizes)]
        tuned = mine["tuned"].fillna(False).astype(bool)
        default = mine[~tuned].set_index(key)
        old = mine[tuned].set_index(key)
        new = new.assign(dataset=dataset, model=model).set_index(key)
        for n in sizes:
            at = lambda f: f.xs(n, level="train_size")["test_accuracy"].droplevel(["dataset", "model"])  # noqa: E731
            d, o, t = at(default), at(old), at(new)
            od, ose = _paired(o, d)
            nd, nse = _paired(t, d)
            cost = lambda f: float(f.xs(n, level="train_size")["tune_seconds"].mean())  # noqa: E731
            fits = lambda f: float(f.xs(n, level="train_size")["fit_seconds"].mean())  # noqa: E731
            rows.append({"dataset": dataset, "model": model, "n": n, "default": d.mean(),
                         "tuned (2 folds)": o.mean(), "diff": od, "SE": ose, "holds": od >= -2 * ose,
                         "tuned (small_n)": t.mean(), "diff new": nd, "SE new": nse, "holds new": nd >= -2 * nse,
                         "folds new": int(new.xs(n, level="train_size")["tune_folds"].iloc[0]),
                         "search s (2 folds)": cost(old), "search s (small_n)": cost(new),
                         "default fit s": fits(default), "wall s": wall})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(table.round(4).to_string(index=False))
    print(f"\ncells holding tuned >= default - 2 SE: committed rule {int(table['holds'].sum())} of {len(table)}, "
          f"small_n={SMALL_N}: {int(table['holds new'].sum())} of {len(table)}")
    print(f"search seconds per point, mean over cells: committed {table['search s (2 folds)'].mean():.2f}, "
          f"small_n {table['search s (small_n)'].mean():.2f} "
          f"({table['search s (small_n)'].sum() / table['search s (2 folds)'].sum():.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="fair_mind_small_n_"))
