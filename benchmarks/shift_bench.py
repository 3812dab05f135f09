"""Overhead of the shift kinds and of test-label noise against a logreg fit at n = 1,024.

Run by hand:  MVD_DATA=/work/shared/data .venv/bin/python benchmarks/shift_bench.py [--repeats 5]

For each dataset of the shift study, on seed 0's full training pool, this
times (process CPU time, best of --repeats, one BLAS thread):

  * fit      -- the job's logreg pipeline fitted on a 1,024-row nested subset;
  * each shift kind's selection on the whole pool (it runs once per seed and
    curve, so charging it to one point overstates it);
  * mixed    -- the mixed-pool order (m = 512 shifted rows, then the pool);
  * noise_labels -- noisy test labels at four rates (once per seed);
  * noise_scores -- the primary metric (accuracy) against each of them,
    which a job with test-label noise adds to every point.

Work done once per seed is spread over the points of the seed's curve (the
default curve on that pool) and printed as ms per call / share of the fit per
point. The budget is 5 % per kind.
"""

from __future__ import annotations

import argparse

import numpy as np
from hydra import compose, initialize_config_dir
from threadpoolctl import threadpool_limits

from mvd import data, evaluation, metrics, models, shift, splits
from mvd.config import CONF_DIR, register

from machine import best_cpu_seconds  # benchmarks/machine.py (scripts run from benchmarks/)

CASES = {"adult": ("age", "sex", "Female"), "magic": (None, None, None), "letter": (None, None, None)}
RATES = [0.02, 0.05, 0.1, 0.2]


def _numeric(ds):
    cats = set(ds.categorical or [])
    return [c for c in (ds.feature_names or range(ds.X.shape[1])) if c not in cats]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    register()
    # per-seed work: ms per call / share of the fit per point (call spread over the curve's points)
    print(f"{'dataset':8} {'pool':>6} {'points':>6} {'fit ms':>8} " + " ".join(f"{k:>13}" for k in
          ("covariate", "label", "subgroup", "mixed", "noise_labels", "noise_scores")))
    for name, (feature, column, value) in CASES.items():
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"dataset={name}", "model=logreg"])
        ds = data.load(cfg.dataset)
        official = ds.test_index if cfg.dataset.official_split else None
        pool, test = splits.split(ds.y, seed=0, test_fraction=0.25, task=ds.task, test_index=official)
        X, y = data.take(ds.X, pool), ds.y[pool]
        order = splits.nested_order(y, seed=0, task=ds.task)
        sub = order[:1024]
        X_sub, y_sub = data.take(X, sub), y[sub]
        y_test = ds.y[test]
        with threadpool_limits(limits=1):
            pipe = models.build(cfg.model, ds, seed=0, missing=models.has_missing(ds.X))
            fit = best_cpu_seconds(lambda: pipe.fit(X_sub, y_sub), args.repeats)
            pred = pipe.predict(data.take(ds.X, test))
            proba = pipe.predict_proba(data.take(ds.X, test))
            candidates = _numeric(ds)

            def covariate():
                chosen = feature if feature is not None else shift.choose_feature(X, y, candidates, ds.feature_names)
                shift.covariate_selection(shift.feature_values(X, chosen, ds.feature_names), 0.5, shift.stream("covariate_shift", 0))

            def label():
                shift.label_selection(y, 0.5, shift.stream("label_shift", 0), n_classes=ds.n_classes)

            def subgroup():
                col = column if column is not None else candidates[0]
                values = X[col].to_numpy() if hasattr(X, "columns") else shift.feature_values(X, col, ds.feature_names)
                member = shift.subgroup_members(values, value=value) if value is not None else \
                    shift.subgroup_members(values, band=[np.median(values), np.inf])
                shift.subgroup_selection(member, 0.5, shift.stream("subgroup_shift", 0))

            sel = shift.label_selection(y, 0.5, shift.stream("label_shift", 0), n_classes=ds.n_classes).rows

            def mixed():
                shift.mixed_order(sel[splits.nested_order(y[sel], seed=0, task=ds.task)], order, 512)

            noisy = evaluation.noisy_labels(y_test, RATES, mode="symmetric", n_classes=ds.n_classes, seed=0)

            def noise_labels():
                evaluation.noisy_labels(y_test, RATES, mode="symmetric", n_classes=ds.n_classes, seed=0)

            def noise_scores():
                for labels, _ in noisy.values():
                    metrics.score(ds.task, labels, pred, proba, ds.n_classes, None, only="accuracy")

            per_seed = [best_cpu_seconds(f, args.repeats) for f in (covariate, label, subgroup, mixed, noise_labels)]
            per_point = best_cpu_seconds(noise_scores, args.repeats)
        points = len(splits.sizes(len(y), start=cfg.curve.start, growth=cfg.curve.growth))
        cells = " ".join(f"{1000 * t:6.2f}/{100 * t / fit / points:4.2f}%" for t in per_seed)
        print(f"{name:8} {len(y):6d} {points:6d} {1000 * fit:8.1f} {cells} {1000 * per_point:6.2f}/{100 * per_point / fit:4.2f}%")


if __name__ == "__main__":
    main()
