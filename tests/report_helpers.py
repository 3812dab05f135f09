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
