"""Every learning curve of a study, aggregated over seeds and fitted.

``build_curves`` is the one pass over the points that the rest of the report
reads: per curve, its sizes, the seeds x sizes matrix of errors (for seed
resampling), the mean and standard error per size, the power-law fit and
its LCDB shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mvd.levers import CurveKey
from mvd.report.aggregate import Cells
from mvd.report.fits import fit_curves, shape
from mvd.report.study import CURVE

__all__ = ["Curve", "build_curves", "curve_key"]


@dataclass
class Curve:
    key: CurveKey         # (dataset, model, quality, quality_rate, cleaning)
    sophistication: int
    n: np.ndarray         # sizes, ascending
    err: np.ndarray       # mean error per size
    se: np.ndarray        # standard error per size (NaN with one seed)
    score: np.ndarray     # mean primary metric per size
    wide: np.ndarray      # error per (size, seed); NaN where a point is missing
    seeds: np.ndarray
    fit: dict | None      # a, b, c, fit quality; None with fewer than 3 sizes
    shape: dict

    @property
    def dataset(self):
        return self.key[0]

    @property
    def model(self):
        return self.key[1]

    @property
    def condition(self):
        """(quality, quality_rate, cleaning): the data the model was trained on."""
        return self.key[2:]

    def error_at(self, n: int) -> float:
        i = np.searchsorted(self.n, n)
        return float(self.err[i]) if i < len(self.n) and self.n[i] == n else float("nan")


def curve_key(row) -> tuple:
    return tuple(row[c] for c in CURVE)


def build_curves(table: Cells, agg: pd.DataFrame, sophistication: dict) -> dict[tuple, Curve]:
    """Curves keyed by (dataset, model, quality, quality_rate, cleaning), in sorted order.

    ``table`` and ``agg`` are the per-size aggregation (rows in the same sorted
    cell order); ``sophistication`` maps each model to its ladder position.
    """
    matrix = table.wide["error"]
    starts = agg.groupby(CURVE, sort=True).indices
    pending = []
    for key, rows in sorted(starts.items()):
        rows = np.sort(rows)
        n = agg["train_size"].to_numpy()[rows].astype(float)
        err, se = agg["error"].to_numpy()[rows], agg["se"].to_numpy()[rows]  # se of the score = se of the error
        curve = Curve(key=CurveKey.of(key), sophistication=sophistication[key[1]], n=n, err=err, se=se,
                      score=agg["score"].to_numpy()[rows], wide=matrix[rows], seeds=table.seeds,
                      fit=None, shape=shape(n, err, se))
        pending.append(curve)
    fitted = [c for c in pending if len(c.n) >= 3]
    for curve, fit in zip(fitted, fit_curves([(c.n, c.err, c.se) for c in fitted])):
        curve.fit = fit
    return {c.key: c for c in pending}
