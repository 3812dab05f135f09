"""Seeds are the replicates: the one per-size aggregation of a study, and the
one resampling engine behind every interval of the report.

``cells`` turns the points into a seeds matrix per value (one row per cell of
a curve, one column per seed) in a single pass; every mean, standard error,
curve and per-cell interval is read from it.  ``SeedResamples`` draws the
bootstrap resamples of a dataset's seeds once, and every interval (per cell,
fits, multipliers, Shapley values, lever gains) is a percentile over those same
resamples, so intervals are paired across models and sizes exactly as the
points are (a seed fixes the test split).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mvd.report.study import CELL

__all__ = ["Cells", "cells", "aggregate", "SeedResamples", "CONFIDENCE", "standard_error"]

CONFIDENCE = 0.95


def standard_error(wide) -> np.ndarray:
    """Standard error of each row's mean over its seeds (columns; NaN where missing): NaN with fewer than two."""
    wide = np.atleast_2d(np.asarray(wide, dtype=float))
    k = np.isfinite(wide).sum(axis=1)
    if wide.shape[1] < 2:
        return np.full(len(wide), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with one seed have no spread: NaN
        sd = np.nanstd(wide, axis=1, ddof=1)
    return np.where(k > 1, sd / np.sqrt(np.maximum(k, 1)), np.nan)


@dataclass
class Cells:
    """A study's points as seeds matrices: ``wide[column]`` is (cells x seeds), NaN where a point is missing."""

    index: pd.DataFrame       # the CELL columns of each row, sorted
    seeds: np.ndarray         # the seed of each matrix column, ascending
    wide: dict                # column -> (cells x seeds) float matrix

    def mean(self, column: str) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cell without this value: NaN
            return np.nanmean(self.wide[column], axis=1)

    def count(self, column: str = "score") -> np.ndarray:
        return np.isfinite(self.wide[column]).sum(axis=1)

    def se(self, column: str) -> np.ndarray:
        return standard_error(self.wide[column])

    def rows(self, dataset: str) -> np.ndarray:
        return np.flatnonzero(self.index["dataset"].to_numpy() == dataset)


def cells(points: pd.DataFrame, columns=("score", "error")) -> Cells:
    """The per-size aggregation: one groupby over (cell, seed), unstacked to seeds matrices.

    Several points of one cell and seed (e.g. a foreign writer's duplicates) are averaged first.
    """
    columns = [c for c in columns if c in points]
    grouped = points.groupby(CELL + ["seed"], sort=True)[columns].mean().unstack("seed")
    index = grouped.index.to_frame(index=False)
    seeds = np.asarray(grouped[columns[0]].columns, dtype=int)
    wide = {c: grouped[c].to_numpy(dtype=float) for c in columns}
    return Cells(index=index, seeds=seeds, wide=wide)


def aggregate(table: Cells, resamples: dict, *, column: str = "score") -> pd.DataFrame:
    """One row per cell: ``n_seeds``, ``score``/``error`` means, ``se`` and a percentile interval.

    The interval of a cell's mean comes from its dataset's seed resamples (the
    same draws every other statistic uses); a cell with one seed has none (NaN).
    """
    out = table.index.copy()
    count = table.count(column)
    mean = table.mean(column)
    low, high = np.full(len(out), np.nan), np.full(len(out), np.nan)
    for dataset, rs in resamples.items():
        rows = table.rows(dataset)
        if rows.size == 0:
            continue
        lo, hi = rs.interval(rs.means(table.wide[column][rows], table.seeds))
        low[rows], high[rows] = lo, hi
    one = count < 2
    low[one], high[one] = np.nan, np.nan
    out["n_seeds"] = count
    out["score"], out["se"], out["ci_low"], out["ci_high"] = mean, table.se(column), low, high
    if "error" in table.wide:
        out["error"] = table.mean("error")
    # mean cost of a point, for the business view
    for extra in ("fit_seconds", "n_fit", "tune_seconds"):
        if extra in table.wide:
            out[extra] = table.mean(extra)
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
        mine = [i for i, s in enumerate(seeds) if int(s) in col]
        weights = self.counts[:, [col[int(seeds[i])] for i in mine]].astype(float)  # (U, S)
        wide = np.asarray(wide, dtype=float)[:, mine]
        present = np.isfinite(wide)
        num = weights @ np.where(present, wide, 0.0).T
        den = weights @ present.T.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def interval(self, values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval over all resamples of per-distinct-resample ``values`` (U, ...).

        Resamples where a statistic is undefined (NaN) are left out; inf is kept.
        """
        if len(self.seeds) < 2:  # one seed: every resample is the sample, there is no interval
            nan = np.full(np.shape(values)[1:], np.nan)
            return nan, nan.copy()
        full = np.sort(np.asarray(values, dtype=float)[self.inverse], axis=0)  # NaN sorts last
        count = (~np.isnan(full)).sum(axis=0)
        alpha = (1 - confidence) / 2

        # numpy's "inverted_cdf" quantile of each column's defined values, in one vectorised pass
        # (np.nanquantile loops over columns in Python: 90% of the equivalence table's time)
        def pick(q):
            index = np.clip(np.ceil(q * count - 1e-9).astype(int) - 1, 0, None)
            taken = np.take_along_axis(full, index[None, ...], axis=0)[0]
            return np.where(count > 0, taken, np.nan)

        return pick(alpha), pick(1 - alpha)
