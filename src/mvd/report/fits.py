"""Learning-curve fits: err(n) = a * n^(-b) + c, a >= 0, 0.01 <= b <= 3, c >= 0.

For a fixed exponent ``b`` the model is linear in (a, c), so weighted least
squares has a closed form (variable projection).  ``fit_many`` solves it for
many curves at once on a grid of ``b`` plus a golden-section refinement; this
is what makes thousands of bootstrap refits cheap.  ``fit_curve`` polishes
that solution with ``scipy.optimize.curve_fit`` (bounded, weighted by the
standard errors with a floor) and returns parameter errors and fit quality.

``shape`` names what a curve does in LCDB's vocabulary (Mohr et al. 2023):
flat, monotone, peaking, dipping or non-monotone, plus convexity; a curve
that is not monotone is flagged rather than trusted blindly.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

__all__ = ["power_law", "fit_many", "fit_curves", "fit_curve", "shape", "invert", "sigma_floor", "B_BOUNDS", "FIT_OK_R2"]

B_BOUNDS = (0.01, 3.0)
# below this R², a fit is reported but not drawn or trusted in the text (e.g. a step-shaped curve)
FIT_OK_R2 = 0.9
_GRID = np.geomspace(*B_BOUNDS, 41)
_GOLDEN = (np.sqrt(5) - 1) / 2


def power_law(n, a, b, c):
    return a * np.power(n, -b) + c


def invert(err, a, b, c):
    """Training size at which the curve reaches ``err``; inf at or below the floor ``c``."""
    err, a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (err, a, b, c)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gap = err - c
        n = np.power(a / np.where(gap > 0, gap, 1.0), 1.0 / b)
    n = np.where(gap > 0, n, np.inf)
    return np.where(a > 0, n, np.where(gap >= 0, 0.0, np.inf))


def _solve(b, logn, y, w, syy):
    """Best (a, c) >= 0 for exponent(s) ``b`` (broadcast over leading axes) and its weighted SSE.

    The SSE of each candidate comes from the weighted sums (no pass over the
    sizes per candidate); ``syy`` is the weighted sum of squares of ``y``.
    """
    x = np.exp(-b[..., None] * logn)
    wx = w * x
    sw, sx, sy = w.sum(-1), wx.sum(-1), (w * y).sum(-1)
    sxx, sxy = (wx * x).sum(-1), (wx * y).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        det = sw * sxx - sx * sx
        a_free = (sw * sxy - sx * sy) / det
        c_free = (sy - a_free * sx) / sw
        candidates = [
            (a_free, c_free),                                   # interior
            (np.zeros_like(sw), sy / sw),                       # a = 0: a flat line
            (np.maximum(sxy / sxx, 0.0), np.zeros_like(sw)),    # c = 0: a pure power law
        ]
    best_a = best_c = best_sse = None
    for a, c in candidates:
        a, c = np.nan_to_num(a, nan=-1.0), np.nan_to_num(c, nan=-1.0)
        with np.errstate(over="ignore", invalid="ignore"):  # a degenerate candidate's SSE is inf or NaN: never best
            sse = syy - 2 * a * sxy - 2 * c * sy + a * a * sxx + 2 * a * c * sx + c * c * sw
        sse = np.where((a >= 0) & (c >= 0) & np.isfinite(sse), np.maximum(sse, 0.0), np.inf)
        if best_sse is None:
            best_a, best_c, best_sse = a, c, sse
        else:
            better = sse < best_sse
            best_a, best_c, best_sse = (np.where(better, a, best_a), np.where(better, c, best_c),
                                        np.where(better, sse, best_sse))
    return best_a, best_c, best_sse


def fit_many(n, y, w):
    """Fit every row of ``y`` (curves x sizes; weight 0 marks a missing size).

    ``n`` and ``w`` broadcast against ``y``.  Returns arrays ``a, b, c, sse``
    of the weighted least-squares optimum, one per curve.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    finite = np.isfinite(y)
    if not finite.all():
        w = np.where(finite, np.broadcast_to(w, y.shape), 0.0)
        y = np.where(finite, y, 0.0)
    # n and w keep their own shapes: with sizes shared by all rows, the grid's
    # powers n^-b are computed once, not once per row
    logn = np.log(np.asarray(n, dtype=float))
    syy = (w * y * y).sum(-1)
    _, _, sse = _solve(_GRID.reshape(-1, 1), logn, y, w, syy)
    i = np.argmin(sse, axis=0)
    lo = np.log(_GRID[np.maximum(i - 1, 0)])
    hi = np.log(_GRID[np.minimum(i + 1, len(_GRID) - 1)])
    # golden-section search on log b inside the bracket around the best grid point (one new point per step)
    x1, x2 = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    f1, f2 = _solve(np.exp(x1), logn, y, w, syy)[2], _solve(np.exp(x2), logn, y, w, syy)[2]
    for _ in range(24):  # bracket shrinks to 0.618^24 ~ 1e-5 of a grid step
        left = f1 < f2                        # the minimum lies in [lo, x2]
        hi, lo = np.where(left, x2, hi), np.where(left, lo, x1)
        x_new = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        f_new = _solve(np.exp(x_new), logn, y, w, syy)[2]
        x1, x2, f1, f2 = (np.where(left, x_new, x2), np.where(left, x1, x_new),
                          np.where(left, f_new, f2), np.where(left, f1, f_new))
    b = np.broadcast_to(np.exp((lo + hi) / 2), y.shape[:1])
    a, c, _ = _solve(b, logn, y, w, syy)
    sse = (w * (y - a[..., None] * np.exp(-b[..., None] * logn) - c[..., None]) ** 2).sum(-1)  # exact, no cancellation
    return a, b, c, sse


def sigma_floor(se, err):
    """Standard errors with a floor, so a cell whose seeds agree exactly does not get infinite weight."""
    se = np.asarray(se, dtype=float)
    positive = se[np.isfinite(se) & (se > 0)]
    floor = max(0.25 * float(np.median(positive)) if positive.size else 0.0,
                1e-3 * float(np.nanmax(np.abs(err))) if np.size(err) else 0.0, 1e-9)
    return np.where(np.isfinite(se), np.maximum(se, floor), floor)


def _jac(n, a, b, c):
    x = np.power(n, -b)
    return np.stack([x, -a * np.log(n) * x, np.ones_like(n)], axis=1)


def fit_curves(curves) -> list[dict]:
    """Fit many curves, each ``(n, err, se)`` (mean error per size and its standard errors).

    Curves of the same length are solved at once by ``fit_many`` (no padding,
    so a curve's fit does not depend on the other curves of the study); each
    solution is then polished by ``curve_fit``, which also gives parameter
    standard errors.  Returns one dict per curve with the fit and its quality.
    """
    curves = [(np.asarray(n, dtype=float), np.asarray(e, dtype=float), sigma_floor(s, e)) for n, e, s in curves]
    out = [None] * len(curves)
    for width in sorted({len(n) for n, _, _ in curves}):
        same = [i for i, (n, _, _) in enumerate(curves) if len(n) == width]
        N, Y, S = (np.stack([curves[i][j] for i in same]) for j in range(3))
        A, B, C, SSE = fit_many(N, Y, 1.0 / S**2)
        for i, a, b, c, sse in zip(same, A, B, C, SSE):
            n, e, sigma = curves[i]
            out[i] = _polish(n, e, sigma, float(a), float(b), float(c), float(sse))
    return out


def fit_curve(n, err, se) -> dict:
    """Fit one curve; see ``fit_curves``."""
    return fit_curves([(n, err, se)])[0]


def _polish(n, err, sigma, a, b, c, sse) -> dict:
    a_se = b_se = c_se = float("nan")
    if len(n) > 3 and a > 0:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                p, cov = curve_fit(power_law, n, err, p0=(a, b, c), sigma=sigma, absolute_sigma=False, jac=_jac,
                                   bounds=([0.0, B_BOUNDS[0], 0.0], [np.inf, B_BOUNDS[1], np.inf]),
                                   method="trf", max_nfev=200)
            polished = float(np.sum(((err - power_law(n, *p)) / sigma) ** 2))
            if polished <= sse:
                (a, b, c), sse = (float(v) for v in p), polished
            a_se, b_se, c_se = (float(v) for v in np.sqrt(np.clip(np.diag(cov), 0, None)))
        except (RuntimeError, ValueError):
            pass  # the variable-projection optimum stands
    resid = err - power_law(n, a, b, c)
    total = float(np.sum((err - err.mean()) ** 2))
    dof = len(n) - 3
    return {
        "a": a, "b": b, "c": c, "a_se": a_se, "b_se": b_se, "c_se": c_se,
        "r2": 1.0 - float(np.sum(resid**2)) / total if total > 0 else float("nan"),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "chi2_dof": sse / dof if dof > 0 else float("nan"),
        "n_sizes": int(len(n)), "n_min": int(n.min()), "n_max": int(n.max()),
        "sigma": sigma,
    }


def shape(n, err, se) -> dict:
    """LCDB-style shape of a mean error curve; differences count only beyond two standard errors."""
    order = np.argsort(n)
    e = np.asarray(err, dtype=float)[order]
    s = np.nan_to_num(np.asarray(se, dtype=float)[order], nan=0.0)
    k = len(e)
    scale = max(float(np.max(np.abs(e))), 1e-12) if k else 1.0
    # up[i, j]: the error at size j is significantly above the error at size i
    up = (e[None, :] - e[:, None]) > np.maximum(2 * np.hypot(s[:, None], s[None, :]), 0.005 * scale)
    later = np.triu(np.ones((k, k), dtype=bool), 1)            # i < j
    monotone = not (up & later).any()                          # never significantly worse with more data
    flat = not (up.T & later).any()                            # never significantly better either
    best = int(np.argmin(e)) if k else 0
    dipping = k > 2 and best < k - 1 and bool(up[best, k - 1])
    # peaking: some j is significantly above an earlier point and above a later one
    peaking = bool(((up & later).any(axis=0) & (up.T & later).any(axis=1))[1:k - 1].any()) if k > 2 else False
    slope = np.diff(e) / np.maximum(np.diff(np.log(np.asarray(n, dtype=float)[order])), 1e-12)
    convex = bool(np.all(np.diff(slope) >= -max(2 * float(np.max(s)) if k else 0.0, 0.005 * scale)))
    if flat and monotone:
        name = "flat"
    elif monotone:
        name = "monotone"
    elif peaking and not dipping:
        name = "peaking"
    elif dipping and not peaking:
        name = "dipping"
    else:
        name = "non-monotone"
    return {"shape": name, "monotone": bool(monotone), "convex": convex,
            "peaking": peaking, "dipping": bool(dipping), "flat": bool(flat and monotone)}
