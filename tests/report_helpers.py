"""Report curves built straight from a points table (no study folder, no report build): fast known-answer tests."""

from __future__ import annotations

import pandas as pd

from mvd.report.aggregate import SeedResamples, aggregate, cells
from mvd.report.curves import build_curves


def curves_of(points: pd.DataFrame, sophistication: dict, *, resamples: int = 200) -> tuple[dict, dict]:
    """(curves, {dataset: SeedResamples}) as the report builds them, from rows with the CELL columns, seed,
    error and score."""
    table = cells(points)
    rs = {d: SeedResamples(sorted(points["seed"].unique()), n=resamples, seed=0) for d in points["dataset"].unique()}
    return build_curves(table, aggregate(table, rs), sophistication), rs


def lever_points(curves: dict, *, dataset: str = "toy", n_test: int | None = 1000) -> pd.DataFrame:
    """Stored points of known-answer curves: ``{(model, sophistication): {n: per-seed accuracies}}`` on clean
    data, or ``{(model, sophistication, quality, rate, cleaning): ...}``; a model ending in " (tuned)" is
    stored as its tuned curve.  Each point stores test confusion counts summing to ``n_test`` (the test size
    the decision's ties are measured in); ``n_test=None`` stores none."""
    import json

    from mvd.levers import TUNED_SUFFIX, plain_model

    rows = []
    for key, by_size in curves.items():
        model, rank, quality, rate, cleaning = (tuple(key) + ("clean", 0.0, "none"))[:5]
        tuned = model.endswith(TUNED_SUFFIX)
        for n, accuracies in by_size.items():
            for seed, acc in enumerate(accuracies):
                rows.append({"study": "known", "run_id": f"{dataset}-{model}-{quality}{rate:g}-{cleaning}",
                             "dataset": dataset, "task": "classification", "model": plain_model(model),
                             "sophistication": rank, "quality": quality, "quality_rate": float(rate),
                             "cleaning": cleaning, "train_size": int(n), "n_fit": int(n), "seed": seed,
                             "test_accuracy": float(acc), "primary_metric": "accuracy", "status": "ok",
                             "fit_seconds": 1e-3 * n, "predict_seconds": 1e-4, "tuned": tuned,
                             "tune_seconds": 1.0 if tuned else 0.0,
                             "confusion": None if n_test is None else json.dumps([[n_test, 0], [0, 0]])})
    return pd.DataFrame(rows)
