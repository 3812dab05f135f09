"""Seeds are the replicates: per cell, the mean, its standard error and a
bootstrap confidence interval; and seed resamples shared by every later
statistic (fits, multipliers, Shapley values), so their intervals are
paired across models exactly as the points are (a seed fixes the test split).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from mvd.report.study import CELL

__all__ = ["aggregate", "SeedResamples", "CONFIDENCE"]

CONFIDENCE = 0.95
# resamples evaluated at once by scipy's vectorised bootstrap (bounds memory on big studies)
_BATCH = 64


def aggregate(points: pd.DataFrame, *, n_resamples: int, seed: int = 0) -> pd.DataFrame:
    """One row per cell: ``n_seeds``, ``score``/``error`` mean, ``se`` and a percentile-bootstrap CI.

    Cells are grouped by their number of seeds so each group is one vectorised
    ``scipy.stats.bootstrap`` call; a cell with one seed has no interval (NaN).
    """
    wide = points.pivot_table(index=CELL, columns="seed", values="score", aggfunc="mean", sort=True)
    values = wide.to_numpy(dtype=float)
    count = np.isfinite(values).sum(axis=1)
    mean = np.nanmean(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells with one seed have no spread: NaN
        sd = np.nanstd(values, axis=1, ddof=1) if values.shape[1] > 1 else np.full(len(values), np.nan)
    se = np.where(count > 1, sd / np.sqrt(np.maximum(count, 1)), np.nan)
    low, high = np.full(len(values), np.nan), np.full(len(values), np.nan)
    rng = np.random.default_rng(seed)
    packed = np.sort(values, axis=1)  # NaN last: the first `count` columns are a cell's seeds
    for k in sorted(set(count.tolist()) - {0, 1}):
        rows = np.flatnonzero(count == k)
        sample = packed[rows, :k]
        spread = np.ptp(sample, axis=1) > 0
        low[rows], high[rows] = mean[rows], mean[rows]  # no spread: the interval is the value
        if spread.any():
            res = stats.bootstrap((sample[spread],), np.mean, axis=-1, vectorized=True, paired=False,
                                  n_resamples=n_resamples, batch=_BATCH, confidence_level=CONFIDENCE,
                                  method="percentile", rng=rng)
            low[rows[spread]], high[rows[spread]] = res.confidence_interval
    out = wide.index.to_frame(index=False)
    out["n_seeds"] = count
    out["score"], out["se"], out["ci_low"], out["ci_high"] = mean, se, low, high
    errors = points.pivot_table(index=CELL, values="error", aggfunc="mean", sort=True)["error"].to_numpy()
    out["error"] = errors
    # mean cost of a point, for the business view
    for column in ("fit_seconds", "n_fit"):
        if column in points:
            out[column] = points.pivot_table(index=CELL, values=column, aggfunc="mean", sort=True)[column].to_numpy()
    return out


class SeedResamples:
    """``n`` bootstrap resamples of a study's seeds as count vectors, deduplicated.

    Every statistic is computed once per *distinct* resample (with three seeds
    there are only ten) and mapped back with ``inverse``, so a thousand
    resamples cost as much as the distinct ones.
    """

    def __init__(self, seeds, *, n: int, seed: int = 0):
        self.seeds = np.asarray(sorted(set(int(s) for s in seeds)))
        rng = np.random.default_rng(seed)
        k = len(self.seeds)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n)
        self.counts, self.inverse = np.unique(draws, axis=0, return_inverse=True)
        self.inverse = self.inverse.ravel()

    def means(self, wide: np.ndarray, seeds) -> np.ndarray:
        """Resampled means of ``wide`` (rows x seeds, NaN = missing): shape (distinct resamples, rows)."""
        col = {s: i for i, s in enumerate(self.seeds)}
        weights = self.counts[:, [col[int(s)] for s in seeds]].astype(float)  # (U, S)
        present = np.isfinite(wide)
        num = weights @ np.where(present, wide, 0.0).T
        den = weights @ present.T.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def interval(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval over all resamples of per-distinct-resample ``values`` (U, ...).

        Resamples where a statistic is undefined (NaN) are left out; inf is kept.
        """
        if len(self.seeds) < 2:  # one seed: every resample is the sample, there is no interval
            nan = np.full(np.shape(values)[1:], np.nan)
            return nan, nan.copy()
        full = np.sort(np.asarray(values, dtype=float)[self.inverse], axis=0)  # NaN sorts last
        count = (~np.isnan(full)).sum(axis=0)
        alpha = (1 - CONFIDENCE) / 2

        # numpy's "inverted_cdf" quantile of each column's defined values, in one vectorised pass
        # (np.nanquantile loops over columns in Python: 90% of the equivalence table's time)
        def pick(q):
            index = np.clip(np.ceil(q * count - 1e-9).astype(int) - 1, 0, None)
            taken = np.take_along_axis(full, index[None, ...], axis=0)[0]
            return np.where(count > 0, taken, np.nan)

        return pick(alpha), pick(1 - alpha)
