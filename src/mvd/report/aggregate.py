"""Seeds are the replicates: the one per-size aggregation of a study, and the
one resampling engine behind every interval of the report.

``cells`` turns the points into a seeds matrix per value (one row per cell of
a curve, one column per seed) in a single pass; every mean, standard error,
curve and per-cell interval is read from it.  ``SeedResamples`` holds the
resamples of a dataset's seeds, drawn once, and every statistic of the report
(per cell, fits, multipliers, Shapley values, lever gains) is computed on the
same resamples, so intervals are paired across models and sizes exactly as
the points are.

An interval is Student's t around the full-sample statistic, ``stat ± t(k-1)·SE``,
with the standard error from the k leave-one-seed-out values (the jackknife:
for a mean, or a paired difference of means, it is exactly the sample standard
error, so the interval is the paired t-interval).  A percentile interval over
five seeds spans only about ±1.75 standard errors (t with 4 degrees of freedom:
±2.78) and covers about 88% where 95% is claimed (``benchmarks/interval_bench.py``).

Where every seed scores on one fixed test set (an official test split), the
seeds share the test sample, and their spread misses its variance.  Points
that store their per-row correctness (``per_row_correct``) or residuals
(``per_row_residual``) then add a paired bootstrap over the test rows: every
point of the dataset is rescored on the same row draws and the statistic is
computed on each.  Seeds x rows is a crossed design (a score is seed effect +
row effect + their interaction), so the row draws are taken twice: shared by
all seeds (variance ``Vs = (row + interaction/k) / R``) and independent per
seed (``Vi = (row + interaction) / (k R)``); ``k/(k-1) (Vs - Vi)`` is the row
term alone, which adds to the seeds' jackknife variance (which holds the
interaction already) without counting anything twice.  Degrees of freedom by
Welch-Satterthwaite.  ``interval_covers`` says which sources of variance a
dataset's intervals hold.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mvd.report.study import CELL, LOWER_IS_BETTER

__all__ = ["Cells", "cells", "aggregate", "SeedResamples", "CONFIDENCE", "standard_error", "TEST_DRAWS",
           "row_draws", "interval_covers", "metric_range", "clip_to_range", "PER_ROW_METRICS"]

CONFIDENCE = 0.95
# bootstrap draws over a fixed test set's rows: the test-sample standard deviation of a statistic to
# about 5% (its relative error is 1/sqrt(2*(B-1)))
TEST_DRAWS = 200
# primary metrics that a point's per-row column rescores on a row draw
PER_ROW_METRICS = frozenset({"accuracy", "rmse", "mae", "r2"})
SOURCES = ("training sample", "model seed", "test sample")


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
    """A study's points as seeds matrices: ``wide[column]`` is (cells x seeds), NaN where a point is missing.

    ``perturbed[column]`` (only from ``cells(..., per_row=True)``) is (cells x seeds x TEST_DRAWS): each
    point's value rescored on the same bootstrap draws of its fixed test set's rows, NaN where the point
    has no per-row column or its test set is drawn per seed.
    """

    index: pd.DataFrame       # the CELL columns of each row, sorted
    seeds: np.ndarray         # the seed of each matrix column, ascending
    wide: dict                # column -> (cells x seeds) float matrix
    perturbed: dict | None = None

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

    def subset(self, rows) -> "Cells":
        """The cells at ``rows`` (e.g. one dataset's), with every matrix."""
        return Cells(index=self.index.iloc[rows].reset_index(drop=True), seeds=self.seeds,
                     wide={c: m[rows] for c, m in self.wide.items()},
                     perturbed=None if self.perturbed is None else {c: m[rows] for c, m in self.perturbed.items()})

    def test_draws(self, dataset: str) -> int:
        """TEST_DRAWS where some point of ``dataset`` was rescored on test-row draws, else 0."""
        if not self.perturbed:
            return 0
        rows = self.rows(dataset)
        return TEST_DRAWS if any(np.isfinite(m[rows]).any() for m in self.perturbed.values()) else 0

    def rescored(self, column: str, rows=None) -> np.ndarray | None:
        """``perturbed[column]`` (at ``rows``), or None when no point has one."""
        if not self.perturbed or column not in self.perturbed:
            return None
        m = self.perturbed[column] if rows is None else self.perturbed[column][rows]
        return m if np.isfinite(m).any() else None


def cells(points: pd.DataFrame, columns=("score", "error"), *, per_row: bool = False) -> Cells:
    """The per-size aggregation: one groupby over (cell, seed), unstacked to seeds matrices.

    Several points of one cell and seed (e.g. a foreign writer's duplicates) are averaged first.
    ``per_row``: also rescore "score" and "error" of points on a fixed test set on its row draws
    (``Cells.perturbed``); only for points whose "score" is their primary metric.
    """
    columns = [c for c in columns if c in points]
    grouped = points.groupby(CELL + ["seed"], sort=True)[columns].mean().unstack("seed")
    index = grouped.index.to_frame(index=False)
    seeds = np.asarray(grouped[columns[0]].columns, dtype=int)
    wide = {c: grouped[c].to_numpy(dtype=float) for c in columns}
    perturbed = _perturbed(points, grouped.index, seeds, [c for c in columns if c in ("score", "error")]) \
        if per_row else None
    return Cells(index=index, seeds=seeds, wide=wide, perturbed=perturbed)


# ---------------------------------------------------------------- fixed test sets: per-row rescoring


@functools.lru_cache(maxsize=8)
def row_draws(n_rows: int, draws: int = TEST_DRAWS, seed: int = 0) -> np.ndarray:
    """(draws x n_rows) bootstrap counts over a test set's rows: the same draws for every point scored on it."""
    rng = np.random.default_rng([seed, n_rows])
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=draws).astype(np.float32)


def _fixed(points: pd.DataFrame) -> np.ndarray:
    if "fixed_test_set" not in points:
        return np.zeros(len(points), dtype=bool)
    fixed = points["fixed_test_set"].astype(object)
    return fixed.where(fixed.notna(), False).astype(bool).to_numpy()


def _rows_of(point: dict, metric: str) -> np.ndarray | None:
    """The point's per-row values its primary metric is rescored from (correctness, or residuals), or None."""
    correct, residual = point.get("per_row_correct"), point.get("per_row_residual")
    if metric == "accuracy" and isinstance(correct, (bytes, bytearray)) and point.get("per_row_count"):
        return np.unpackbits(np.frombuffer(correct, dtype=np.uint8), count=int(point["per_row_count"]))
    if metric in ("rmse", "mae") and isinstance(residual, (bytes, bytearray)):
        return np.frombuffer(residual, dtype="<f4")
    if metric == "r2" and isinstance(residual, (bytes, bytearray)):
        r2 = float(point.get("test_r2", np.nan))
        return np.frombuffer(residual, dtype="<f4") if math.isfinite(r2) and r2 < 1 else None
    return None


def _rescore(metric: str, values: np.ndarray, r2=None) -> np.ndarray:
    """(points x draws): the primary metric of each point (a row of ``values``, its per-row values) on every
    draw of its test rows; one matrix product per metric and test-set length (a product per point is
    70 times slower on adult's 16,281 rows)."""
    n = values.shape[1]
    w = row_draws(n)
    if metric == "accuracy":
        return (values.astype(np.float32) @ w.T).astype(float) / n
    r = values.astype(float)
    if metric == "mae":
        return np.abs(r) @ w.T.astype(float) / n
    sse = (r * r) @ w.T.astype(float)
    if metric == "rmse":
        return np.sqrt(sse / n)
    sst = (r * r).sum(axis=1) / (1.0 - np.asarray(r2, dtype=float))  # the test targets' spread, held fixed
    return 1.0 - sse / sst[:, None]


def _perturbed(points: pd.DataFrame, index: pd.MultiIndex, seeds: np.ndarray, columns: list) -> dict | None:
    fixed = _fixed(points)
    if not columns or not fixed.any() or not ({"per_row_correct", "per_row_residual"} & set(points)):
        return None
    out = {c: np.full((len(index), len(seeds), TEST_DRAWS), np.nan, dtype=np.float32) for c in columns}  # 800 B a point
    col = {int(s): j for j, s in enumerate(seeds)}
    chosen = points[fixed]
    at = index.get_indexer(pd.MultiIndex.from_frame(chosen[CELL]))
    groups: dict = {}   # (metric, test rows) -> [(cell row, seed column, per-row values, r2)]
    lengths: dict = {}
    for i, point in zip(at, chosen.to_dict("records")):
        metric = str(point.get("primary_metric"))
        values = _rows_of(point, metric) if i >= 0 else None
        if values is None:
            continue
        lengths.setdefault(point["dataset"], set()).add(len(values))
        groups.setdefault((metric, len(values)), []).append((i, col[int(point["seed"])], values,
                                                             point.get("test_r2")))
    for (metric, _), members in groups.items():
        i, j, values, r2 = zip(*members)
        scores = _rescore(metric, np.stack(values), r2)
        i, j = np.asarray(i), np.asarray(j)
        if "score" in out:
            out["score"][i, j] = scores
        if "error" in out:
            out["error"][i, j] = scores if metric in LOWER_IS_BETTER else 1.0 - scores
    # the draws pair rows across points only where every point scored the same test rows
    names = index.get_level_values("dataset")
    for dataset in (d for d, n in lengths.items() if len(n) > 1):
        for m in out.values():
            m[names == dataset] = np.nan
    return out


def interval_covers(points: pd.DataFrame) -> dict:
    """Which sources of variance one dataset's intervals hold, from its scored points.

    ``{"covers": [...], "phrase": "..."}``: the seeds always redraw the training
    sample and the model's seed; the test sample is covered when the seed draws
    each test split, or when every point on a fixed test set carries a per-row
    column its primary metric can be rescored from.
    """
    covers = ["training sample", "model seed"]
    if "fixed_test_set" not in points or points["fixed_test_set"].isna().all():
        why = "points stored before the test split was recorded"
    else:
        fixed = _fixed(points)
        metric = str(points["primary_metric"].iloc[0]) if "primary_metric" in points and len(points) else ""
        if not fixed.any():
            covers.append("test sample")
            why = "each seed draws its own test split"
        elif metric not in PER_ROW_METRICS:
            why = f"one fixed test set, and {metric} is not rescored per row"
        elif all(_has_rows(p, metric) for p in points[fixed].to_dict("records")):
            covers.append("test sample")
            why = "one fixed test set, bootstrapped over its rows"
        else:
            why = "one fixed test set, and some points lack per-row scores"
        if fixed.any():
            why += "; at the full pool the seeds also share the training rows, so there only the model seed varies"
    missing = [s for s in SOURCES if s not in covers]
    phrase = f"intervals cover {' and '.join([', '.join(covers[:-1]), covers[-1]])}"
    if missing:
        phrase += ", not the " + " or the ".join(missing)
    phrase += f" ({why})"
    return {"covers": covers, "phrase": phrase}


def _has_rows(point: dict, metric: str) -> bool:
    key = "per_row_correct" if metric == "accuracy" else "per_row_residual"
    return isinstance(point.get(key), (bytes, bytearray))


# ---------------------------------------------------------------- the metric's range


def metric_range(metric: str) -> tuple[float, float]:
    """The values ``metric`` can take: [0, 1] for rates and AUC, [0, inf) for losses, (-inf, 1] for R²."""
    if metric == "r2":
        return -math.inf, 1.0
    if metric in LOWER_IS_BETTER:
        return 0.0, math.inf
    return 0.0, 1.0


def clip_to_range(low, high, *, metric: str, now: float | None = None, scale: float = 1.0):
    """``(low, high, clipped)``: an interval held inside what ``metric`` can reach.

    Without ``now`` the interval is of the metric itself.  With ``now`` (the
    current score) it is of a gain ``scale·(after − now)`` (``scale·(now − after)``
    for a metric where lower is better), so no gain takes the score past the
    metric's range: from 98.2% accuracy a gain is at most +1.8 points.
    ``clipped`` says where a bound moved.
    """
    lo_m, hi_m = metric_range(metric)
    if now is not None:
        if metric in LOWER_IS_BETTER:
            lo_m, hi_m = (now - hi_m) * scale, (now - lo_m) * scale
        else:
            lo_m, hi_m = (lo_m - now) * scale, (hi_m - now) * scale
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    with np.errstate(invalid="ignore"):
        new_low, new_high = np.clip(low, lo_m, hi_m), np.clip(high, lo_m, hi_m)
        clipped = (new_low != low) | (new_high != high)
    clipped &= np.isfinite(low) | np.isfinite(high)
    if np.ndim(new_low) == 0:
        return float(new_low), float(new_high), bool(clipped)
    return new_low, new_high, clipped


# ---------------------------------------------------------------- aggregation and resamples


def aggregate(table: Cells, resamples: dict, *, column: str = "score", metric: dict | None = None) -> pd.DataFrame:
    """One row per cell: ``n_seeds``, ``score``/``error`` means, ``se`` and a t-interval.

    The interval of a cell's mean comes from its dataset's seed resamples (the
    same draws every other statistic uses), with the test rows' variance where
    the cells carry it; a cell with one seed has none (NaN).  With ``metric``
    ({dataset: primary metric}; ``column`` "score" only) it is held inside the
    metric's range, and ``ci_clipped`` says where.
    """
    out = table.index.copy()
    count = table.count(column)
    mean = table.mean(column)
    low, high = np.full(len(out), np.nan), np.full(len(out), np.nan)
    for dataset, rs in resamples.items():
        rows = table.rows(dataset)
        if rows.size == 0:
            continue
        perturbed = table.rescored(column, rows)
        if perturbed is not None and not rs.test_draws:
            rs = rs.with_test_draws(TEST_DRAWS)
        lo, hi = rs.interval(rs.means(table.wide[column][rows], table.seeds, perturbed=perturbed))
        low[rows], high[rows] = lo, hi
    one = count < 2
    low[one], high[one] = np.nan, np.nan
    clipped = np.zeros(len(out), dtype=bool)
    if metric is not None and column == "score":
        for dataset in resamples:
            rows = table.rows(dataset)
            if rows.size and dataset in metric:
                low[rows], high[rows], clipped[rows] = clip_to_range(low[rows], high[rows], metric=metric[dataset])
    out["n_seeds"] = count
    out["ci_clipped"] = clipped
    out["score"], out["se"], out["ci_low"], out["ci_high"] = mean, table.se(column), low, high
    if "error" in table.wide:
        out["error"] = table.mean("error")
    # mean cost of a point, for the business view
    for extra in ("fit_seconds", "n_fit", "tune_seconds"):
        if extra in table.wide:
            out[extra] = table.mean(extra)
    return out


class SeedResamples:
    """Resamples of a study's seeds as count vectors, deduplicated, for every statistic of the report.

    The distinct resamples (``counts``, one row each) are ``n`` bootstrap draws
    (``inverse`` maps the draws to their rows), the full sample (row ``full``),
    the k leave-one-seed-out samples (rows ``jackknife``) and, with
    ``test_draws``, as many rescorings of the full sample on bootstrap draws of
    a fixed test set's rows, shared by every seed (rows ``tests``) and
    independent per seed (rows ``tests_apart``: seed j reads draw b + j).  Every statistic is computed once
    per distinct row, so a thousand bootstrap draws of five seeds cost as much
    as the 126 distinct ones.  ``interval`` is a t-interval (module docstring).
    """

    def __init__(self, seeds, *, n: int, seed: int = 0, test_draws: int = 0):
        self.seeds = np.asarray(sorted(set(int(s) for s in seeds)))
        self.n, self.seed = int(n), seed
        rng = np.random.default_rng(seed)
        k = len(self.seeds)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n)
        ones = np.ones((1, k), dtype=draws.dtype)
        leave_one_out = ones - np.eye(k, dtype=draws.dtype)
        counts, inverse = np.unique(np.vstack([draws, ones, leave_one_out]), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self.inverse = inverse[:n]
        self.full = int(inverse[n])
        self.jackknife = inverse[n + 1:]
        self.test_draws = int(test_draws)
        self.tests = np.arange(len(counts), len(counts) + self.test_draws)
        self.tests_apart = self.tests + self.test_draws
        self.counts = np.vstack([counts, np.repeat(ones, 2 * self.test_draws, axis=0)])

    def with_test_draws(self, test_draws: int = TEST_DRAWS) -> "SeedResamples":
        """The same seed resamples, with ``test_draws`` rescorings on a fixed test set's rows."""
        if test_draws == self.test_draws:
            return self
        return SeedResamples(self.seeds, n=self.n, seed=self.seed, test_draws=test_draws)

    def means(self, wide: np.ndarray, seeds, *, perturbed: np.ndarray | None = None) -> np.ndarray:
        """Resampled means of ``wide`` (rows x seeds, NaN = missing): shape (distinct resamples, rows).

        ``perturbed`` (rows x seeds x test draws, from ``Cells.rescored``): the
        points rescored on the test-row draws; the ``tests`` and ``tests_apart``
        rows average those over all seeds.  Without it (or for a point without
        them) they repeat the full sample.
        """
        col = {s: i for i, s in enumerate(self.seeds)}
        mine = [i for i, s in enumerate(seeds) if int(s) in col]
        weights = self.counts[:, [col[int(seeds[i])] for i in mine]].astype(float)  # (U, S)
        wide = np.asarray(wide, dtype=float)[:, mine]
        present = np.isfinite(wide)
        num = weights @ np.where(present, wide, 0.0).T
        den = weights @ present.T.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        if self.test_draws:
            out[self.tests_apart] = out[self.tests] = out[self.full]
        if self.test_draws and perturbed is not None:
            b = self.test_draws
            p = np.asarray(perturbed, dtype=float)[:, mine, :b]                     # (rows, S, B)
            p = np.where(np.isfinite(p), p, wide[:, :, None])                       # no per-row scores: the point
            shift = np.array([col[int(seeds[i])] for i in mine], dtype=int)
            apart = p[:, np.arange(len(mine))[None, :], (np.arange(b)[:, None] + shift[None, :]) % b]  # (rows, B, S)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[self.tests] = np.nanmean(p, axis=1).T
                out[self.tests_apart] = np.nanmean(apart, axis=2).T
        return out

    def interval(self, values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
        """t-interval of per-distinct-resample ``values`` (U, ...) around the full sample's value.

        The seeds' standard error is the jackknife's; the test rows' (with
        ``test_draws``) comes from the rescorings (module docstring), added in
        variance.  Where the statistic is undefined or infinite on the full
        sample or on a leave-one-out sample (a multiplier beyond the fitted
        range, a crossing that does not happen), the interval is the
        percentile interval of the bootstrap draws that define it (``percentile``).
        """
        values = np.asarray(values, dtype=float)
        k = len(self.seeds)
        if k < 2:  # one seed: no spread to measure, there is no interval
            nan = np.full(values.shape[1:], np.nan)
            return nan, nan.copy()
        center = values[self.full]
        jack = values[self.jackknife]
        ok = np.isfinite(center) & np.isfinite(jack).all(axis=0)
        with np.errstate(invalid="ignore", over="ignore"):
            var_seed = (k - 1) / k * ((jack - jack.mean(axis=0)) ** 2).sum(axis=0)
            var_test = np.zeros_like(var_seed)
            if self.test_draws > 1:
                shared, apart = values[self.tests], values[self.tests_apart]
                ok &= np.isfinite(shared).all(axis=0) & np.isfinite(apart).all(axis=0)
                var_test = np.maximum(k / (k - 1) * (shared.var(axis=0, ddof=1) - apart.var(axis=0, ddof=1)), 0.0)
            total = var_seed + var_test
            # Welch-Satterthwaite: k-1 degrees of freedom for the seeds, B-1 for the row draws
            denom = var_seed ** 2 / (k - 1) + (var_test ** 2 / (self.test_draws - 1) if self.test_draws > 1 else 0.0)
            df = np.where(denom > 0, total ** 2 / np.where(denom > 0, denom, 1.0), k - 1)
            half = stats.t.ppf(0.5 + confidence / 2, np.where(np.isfinite(df), df, k - 1)) * np.sqrt(total)
            # the test rows' term only ever widens: a small one raises the degrees of freedom faster than
            # the standard error, which would narrow the seeds' own interval
            half = np.maximum(half, stats.t.ppf(0.5 + confidence / 2, k - 1) * np.sqrt(var_seed))
        low, high = center - half, center + half
        if not ok.all():
            p_low, p_high = self.percentile(values, confidence)
            low, high = np.where(ok, low, p_low), np.where(ok, high, p_high)
        return low, high

    def percentile(self, values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval over the ``n`` bootstrap draws of per-distinct-resample ``values`` (U, ...).

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
