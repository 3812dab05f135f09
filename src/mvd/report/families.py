"""Curve families for extrapolation, chosen per curve by a held-out backtest.

The report's decision prices more labels on rates with ``mvd.report.forecast``
(a gain model learned on real curves, which beat these families there) and
interpolates inside the measured sizes; the families extrapolate errors in
other units (rmse, mae) and are checked on synthetic curves of known family.

Every family is an error curve e(n) = c + a·f_θ(n) with one shape function
f_θ (decreasing in n) and a ≥ 0, as in LCDB (Mohr et al. 2023) and Sun et
al. (2017):

- ``pow3``: f = n^-b                     (a·n^-b + c)
- ``pow4``: f = (n + d)^-b               (a·(n + d)^-b + c)
- ``mmf4``: f = 1 / (1 + (n / s)^d)      (Morgan-Mercer-Flodin: (a·b + c·n^d) / (b + n^d))
- ``loglinear``: f = -log n              (error falls linearly in log n)
- ``last``: the last observed value      (the baseline every family must beat)

For fixed θ the model is linear in (a, c), so weighted least squares has a
closed form; ``fit`` evaluates it on a grid of θ for many curves (rows) at
once, which is what makes refits on hundreds of seed resamples cheap (scipy
has no batched least squares), and ``polish`` refines one curve's optimum
with ``scipy.optimize.least_squares``.

``choose`` backtests: fit on the anchors up to n_max/8, n_max/4, n_max/2
and 3·n_max/4, predict the held-out anchors above each cut, and keep the
family with the smallest mean absolute error (ties within the seed noise or 2% go to the simpler family).  ``predict``
gives a prediction and its interval at any size: the spread of refits on
the seed resamples, the noise of a future mean over the seeds, and the gap
to the runner-up family, combined in quadrature with a Student t quantile
over the seeds' degrees of freedom.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import least_squares

from mvd.report.aggregate import standard_error

__all__ = ["FAMILIES", "Fits", "fit", "polish", "backtest_scores", "choose", "Extrapolation", "predict", "coverage"]

# simplest first: ties in the backtest go to the earlier family
FAMILIES = ("last", "loglinear", "pow3", "pow4", "mmf4")
_PARAMS = {"last": 1, "loglinear": 2, "pow3": 3, "pow4": 4, "mmf4": 4}
_TIE = 0.02
# the backtest's cuts, as fractions of the largest size: the two the decision's extrapolations need
# (n_max/4, n_max/2) and one on each side; four cuts instead of two raised the true-family rate on
# four draws of 500 synthetic curves from 89.2-91.6% to 92.4-93.8% (benchmarks/README.md)
CUTS = (0.125, 0.25, 0.5, 0.75)
_NOISE_TIE = 1.5
_B = np.geomspace(0.01, 3.0, 96)
_D_POW = np.concatenate([[0.0], np.geomspace(0.05, 8.0, 15)])   # offset d, in units of the smallest size
_D_MMF = np.geomspace(0.2, 4.0, 20)                              # mmf4 slope d
_S_MMF = np.geomspace(0.05, 200.0, 36)                           # mmf4 scale s, in units of the smallest size


def _grid(name: str) -> np.ndarray:
    """θ candidates (G, 2) of a family; the second column is unused by one-parameter shapes."""
    if name == "pow3":
        return np.stack([_B, np.zeros_like(_B)], axis=1)
    if name == "pow4":
        b, d = np.meshgrid(_B[::2], _D_POW, indexing="ij")
        return np.stack([b.ravel(), d.ravel()], axis=1)
    if name == "mmf4":
        s, d = np.meshgrid(_S_MMF, _D_MMF, indexing="ij")
        return np.stack([s.ravel(), d.ravel()], axis=1)
    return np.zeros((1, 2))


def shape(name: str, n, theta) -> np.ndarray:
    """f_θ(n) for θ (..., 2) in absolute units (pow4's d and mmf4's s are sizes); result (..., len(n))."""
    n = np.asarray(n, dtype=float)
    theta = np.asarray(theta, dtype=float)
    t0, t1 = theta[..., 0:1], theta[..., 1:2]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if name == "pow3":
            return np.power(n, -t0)
        if name == "pow4":
            return np.power(n + t1, -t0)
        if name == "mmf4":
            return 1.0 / (1.0 + np.power(n / t0, t1))
        if name == "loglinear":
            return -np.log(n) + 0.0 * t0
    raise ValueError(f"family={name!r} has no shape function; allowed: {', '.join(FAMILIES[1:])}")


def _absolute(name: str, theta: np.ndarray, unit) -> np.ndarray:
    """Grid θ (relative to the smallest size) in absolute units."""
    theta = np.array(theta, dtype=float)
    if name == "pow4":
        theta[..., 1] = theta[..., 1] * unit
    elif name == "mmf4":
        theta[..., 0] = theta[..., 0] * unit
    return theta


def _linear(f, y, w):
    """Weighted LS of y = c + a·f with a ≥ 0 (else a flat line), over the last axis."""
    sw, sf, sy = w.sum(-1), (w * f).sum(-1), (w * y).sum(-1)
    sff, sfy, syy = (w * f * f).sum(-1), (w * f * y).sum(-1), (w * y * y).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = sw * sff - sf * sf
        a = (sw * sfy - sf * sy) / det
        c = (sy - a * sf) / sw
        flat = ~(np.isfinite(a) & (a >= 0) & (det > 1e-12 * np.maximum(sw * sff, 1e-300)))
        a = np.where(flat, 0.0, a)
        c = np.where(flat, sy / sw, c)
        sse = syy - 2 * a * sfy - 2 * c * sy + a * a * sff + 2 * a * c * sf + c * c * sw
    return a, c, np.where(np.isfinite(sse), np.maximum(sse, 0.0), np.inf)


@dataclass
class Fits:
    """One family fitted to R rows: e(n) = c + a·f_θ(n), θ in absolute units, per row."""

    name: str
    a: np.ndarray
    c: np.ndarray
    theta: np.ndarray   # (R, 2)
    last: np.ndarray    # (R,) the value at the last fitted anchor (the ``last`` family)

    def at(self, n) -> np.ndarray:
        """Predicted mean error (R, sizes) at sizes ``n``; never below 0."""
        n = np.asarray(n, dtype=float)
        if self.name == "last":
            return np.repeat(self.last[:, None], n.shape[-1], axis=1)
        f = shape(self.name, n, self.theta)
        return np.maximum(self.c[:, None] + self.a[:, None] * f, 0.0)


def _prepare(n, y, w):
    y = np.atleast_2d(np.asarray(y, dtype=float))
    n = np.broadcast_to(np.asarray(n, dtype=float), y.shape)
    w = np.where(np.isfinite(y), np.broadcast_to(np.asarray(w, dtype=float), y.shape), 0.0)
    return n, np.where(w > 0, y, 0.0), w


def fit(name: str, n, y, w) -> Fits:
    """Fit family ``name`` to every row of ``y`` (R x S; NaN or weight 0 = not an anchor) on a θ grid.

    ``n`` is (S,) or (R, S); ``w`` broadcasts against ``y``.
    """
    n, y, w = _prepare(n, y, w)
    used = w > 0
    R = len(y)
    unit = np.where(used, n, np.inf).min(axis=1)
    unit = np.where(np.isfinite(unit), unit, 1.0)
    last = y[np.arange(R), np.where(used, n, -np.inf).argmax(axis=1)]
    if name == "last":
        return Fits(name, np.zeros(R), last.copy(), np.zeros((R, 2)), last)
    grid = _grid(name)                                            # (G, 2)
    theta = _absolute(name, np.broadcast_to(grid[:, None, :], (len(grid), R, 2)), unit[None, :])  # (G, R, 2)
    f = np.where(used[None], shape(name, n[None], theta), 0.0)      # (G, R, S)
    a, c, sse = _linear(f, y[None], w[None])                     # (G, R)
    best = np.argmin(sse, axis=0)
    rows = np.arange(R)
    return Fits(name, a[best, rows], c[best, rows], theta[best, rows], last)


def polish(fits: Fits, n, y, w) -> Fits:
    """Refine each row's θ with ``scipy.optimize.least_squares`` (variable projection), from the grid optimum."""
    if fits.name in ("last", "loglinear"):
        return fits
    n, y, w = _prepare(n, y, w)
    out = Fits(fits.name, fits.a.copy(), fits.c.copy(), fits.theta.copy(), fits.last)
    free = 1 if fits.name == "pow3" else 2
    for r in range(len(y)):
        keep = w[r] > 0
        if keep.sum() < _PARAMS[fits.name]:
            continue
        nr, yr, wr = n[r, keep], y[r, keep], w[r, keep]
        unit = float(nr.min())
        rel = {"pow3": ([_B[0]], [_B[-1]]), "pow4": ([_B[0], 0.0], [_B[-1], _D_POW[-1]]),
               "mmf4": ([_S_MMF[0], _D_MMF[0]], [_S_MMF[-1], _D_MMF[-1]])}[fits.name]
        lo = _absolute(fits.name, np.array(rel[0] + [0.0] * (2 - free)), unit)[:free]
        hi = _absolute(fits.name, np.array(rel[1] + [0.0] * (2 - free)), unit)[:free]

        def full(t):
            return np.array([t[0], t[1] if free == 2 else 0.0])

        def resid(t):
            f = shape(fits.name, nr, full(t))
            a, c, _ = _linear(f, yr, wr)
            return np.sqrt(wr) * (yr - c - a * f)

        x0 = np.clip(fits.theta[r, :free], lo, hi)
        if np.any(lo >= hi):
            continue
        try:
            res = least_squares(resid, x0, bounds=(lo, hi), method="trf", max_nfev=50)
        except ValueError:
            continue
        if np.sum(resid(res.x) ** 2) < np.sum(resid(x0) ** 2):
            t = full(res.x)
            f = shape(fits.name, nr, t)
            a, c, _ = _linear(f, yr, wr)
            out.a[r], out.c[r], out.theta[r] = a, c, t
    return out


def _cut(n: np.ndarray, fraction: float) -> np.ndarray:
    return n <= n.max() * fraction * (1 + 1e-9)


def backtest_scores(n, err, w, *, fractions=CUTS) -> dict:
    """Mean absolute error on held-out anchors of each family, fitted on anchors up to n_max·fraction.

    ``err`` is one curve (S,) or many (R, S; NaN where a size is missing),
    sharing the sizes ``n``.  Returns {family: score} with a float, or an (R,)
    array for many curves (NaN where no cut leaves enough anchors on both sides).
    """
    n = np.asarray(n, dtype=float)
    single = np.ndim(err) == 1
    err = np.atleast_2d(np.asarray(err, dtype=float))
    w = np.broadcast_to(np.asarray(w, dtype=float), err.shape)
    present = np.isfinite(err)
    top = np.where(present, n, -np.inf).max(axis=1, keepdims=True)
    scores = {}
    for name in FAMILIES:
        total, count = np.zeros(len(err)), np.zeros(len(err))
        for frac in fractions:
            inside = present & (n <= top * frac * (1 + 1e-9))
            held = present & ~inside
            usable = (inside.sum(axis=1) >= max(_PARAMS[name], 2)) & (held.sum(axis=1) >= 1)
            if not usable.any():
                continue
            pred = fit(name, n, np.where(inside, err, np.nan), w).at(n)
            with np.errstate(invalid="ignore"):
                mae = np.where(held, np.abs(pred - err), 0.0).sum(axis=1) / np.maximum(held.sum(axis=1), 1)
            total += np.where(usable, mae, 0.0)
            count += usable
        with np.errstate(invalid="ignore"):
            score = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        scores[name] = float(score[0]) if single else score
    return scores


def choose(scores: dict, noise: float = 0.0) -> tuple[str, str | None]:
    """The backtest's family and its runner-up.

    The lowest score wins, except that a simpler family within 1.5 ``noise``
    (the seed noise of a held-out mean) or 2% of it wins instead: a difference
    the seeds cannot resolve does not buy flexibility (1.5 rather than 1 raised
    the true-family rate on three draws of 500 synthetic curves by 1.2-2.0
    points at the same coverage; benchmarks/README.md) (``FAMILIES`` runs from the
    least to the most flexible; mmf4 mimics the others within noise).
    """
    ok = [(s, FAMILIES.index(k), k) for k, s in scores.items() if np.isfinite(s)]
    if not ok:
        return "pow3", None
    best = min(s for s, _, _ in ok)
    tied = sorted((i, k) for s, i, k in ok if s <= best * (1 + _TIE) + _NOISE_TIE * noise + 1e-12)
    chosen = tied[0][1]
    rest = sorted((s, i, k) for s, i, k in ok if k != chosen)
    return chosen, (rest[0][2] if rest else None)


def noise_of(wide) -> float:
    """Median standard error of a curve's means over seeds (0 with one seed)."""
    wide = np.asarray(wide, dtype=float)
    if wide.ndim != 2:
        return 0.0
    se = standard_error(wide)
    return float(np.nanmedian(se)) if np.isfinite(se).any() else 0.0


@dataclass
class Extrapolation:
    """A prediction of a curve's mean error at sizes ``n``, with the scale and degrees of freedom of its interval."""

    n: np.ndarray
    error: np.ndarray
    scale: np.ndarray        # standard deviation of the prediction (NaN with one seed)
    dof: int
    family: str
    resampled: np.ndarray    # (distinct resamples, sizes): the family refitted on each seed resample
    spread: np.ndarray       # the part of ``scale`` that the seed resamples carry
    extrapolated: np.ndarray

    def interval(self, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        if self.dof < 1:
            nan = np.full(len(self.n), np.nan)
            return nan, nan.copy()
        q = stats.t.ppf(0.5 + confidence / 2, df=self.dof)
        return np.maximum(self.error - q * self.scale, 0.0), self.error + q * self.scale


def predict(n_fit, wide, seeds, w, n_out, resamples, *, family: str, runner_up: str | None = None,
            backtest_error: float = 0.0) -> Extrapolation:
    """Mean error at ``n_out`` of a curve with seeds matrix ``wide`` (sizes x seeds) at sizes ``n_fit``.

    The point estimate is ``family`` fitted to the mean curve (polished with
    scipy).  Its standard deviation combines, in quadrature: the spread of the
    family refitted on every distinct seed resample (paired with every other
    statistic of the report; scaled by k/(k-1) for k seeds), the seed noise of a
    future mean (the median standard error of the three largest anchors), half
    the gap to the runner-up family's prediction, and the family's own backtest
    error (mean absolute error x sqrt(pi/2)) times log2 of how far beyond the
    fitted sizes the prediction reaches (capped at 2).  Intervals use Student's
    t with seeds - 1 degrees of freedom.
    """
    n_fit, n_out = np.asarray(n_fit, dtype=float), np.atleast_1d(np.asarray(n_out, dtype=float))
    wide = np.asarray(wide, dtype=float)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(wide, axis=1)
    point = polish(fit(family, n_fit, mean[None], w), n_fit, mean[None], w).at(n_out)[0]
    refits = fit(family, n_fit, resamples.means(wide, seeds), w).at(n_out)          # (U, out)
    k = int(np.isfinite(wide).any(axis=0).sum())
    outside = (n_out > n_fit.max() * (1 + 1e-9)) | (n_out < n_fit.min() * (1 - 1e-9))
    if k < 2:
        nan = np.full(len(n_out), np.nan)
        return Extrapolation(n_out, point, nan, 0, family, refits, nan.copy(), outside)
    spread = np.nanstd(refits[resamples.inverse], axis=0) * np.sqrt(k / (k - 1))
    se = standard_error(wide)
    top = np.argsort(n_fit)[-3:]
    noise = float(np.nanmedian(se[top])) if np.isfinite(se[top]).any() else 0.0
    gap = 0.0
    if runner_up is not None:
        gap = np.abs(fit(runner_up, n_fit, mean[None], w).at(n_out)[0] - point) / 2
    reach = np.minimum(np.log2(np.maximum(n_out / n_fit.max(), 1.0)), 2.0)
    model = backtest_error * np.sqrt(np.pi / 2) * reach
    scale = np.sqrt(spread**2 + noise**2 + gap**2 + model**2)
    return Extrapolation(n_out, point, scale, k - 1, family, refits, spread, outside)


def coverage(n, wide, seeds, w, resamples, *, fraction: float = 0.5, levels=(0.8, 0.95)) -> dict | None:
    """Backtest the intervals of one curve: fit on anchors up to n_max·fraction, predict the held-out means.

    Returns {"family", "held_out": count, "covered": {level: count}} or None
    when the curve has fewer than 4 anchors in the fit, none held out, or one seed.
    """
    n = np.asarray(n, dtype=float)
    inside = _cut(n, fraction)
    if inside.sum() < 4 or (~inside).sum() < 1:
        return None
    wide = np.asarray(wide, dtype=float)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(wide, axis=1)
    w = np.asarray(w, dtype=float)
    scores = backtest_scores(n[inside], mean[inside], w[inside])
    family, runner = choose(scores, noise_of(wide[inside]))
    error = scores.get(family, 0.0)
    ex = predict(n[inside], wide[inside], seeds, w[inside], n[~inside], resamples, family=family, runner_up=runner,
                 backtest_error=error if np.isfinite(error) else 0.0)
    if ex.dof < 1:
        return None
    out = {"family": family, "held_out": int((~inside).sum()), "covered": {}}
    for level in levels:
        low, high = ex.interval(level)
        out["covered"][level] = int(((low <= mean[~inside]) & (mean[~inside] <= high)).sum())
    return out
