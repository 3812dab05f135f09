"""Data-equivalent value of a model upgrade.

For a model m at size n, with mean error e, the baseline model's fitted curve
reaches e at n* = (a / (e - c))^(1/b); the multiplier k = n* / n says how many
times more data the baseline needs to do as well.  Intervals come from seed
resamples: the baseline is refitted on each resample's mean curve and m's
error is recomputed from the same seeds (a seed fixes the test split, so the
pairing is exact).  A multiplier that needs n* beyond twice the baseline's
largest observed size is written as a lower bound (">="), one below half its
smallest size as an upper bound ("<="), and "never" when e lies at or below
the baseline's fitted floor c.
"""

from __future__ import annotations

import numpy as np

from mvd.report.aggregate import SeedResamples
from mvd.report.curves import Curve
from mvd.report.fits import FIT_OK_R2, fit_many, invert

__all__ = ["pick_baseline", "refit", "equivalence", "describe"]

# extrapolation limits, as factors of the baseline's observed size range
REACH_UP, REACH_DOWN = 2.0, 0.5


def pick_baseline(curves: dict, requested: str | None) -> str:
    """The requested model, else the sophistication-1 model (the lowest sophistication >= 1; ties by name)."""
    if requested is not None:
        return requested
    ladder = sorted({(c.sophistication, c.model) for c in curves.values()})
    above = [r for r in ladder if r[0] >= 1]
    return (above or ladder)[0][1]


def refit(curve: Curve, resamples: SeedResamples) -> tuple[np.ndarray, ...]:
    """(a, b, c) of ``curve`` refitted on every distinct seed resample (weights from the full sample)."""
    means = resamples.means(curve.wide, curve.seeds)
    a, b, c, _ = fit_many(curve.n, means, 1.0 / curve.fit["sigma"] ** 2)
    return a, b, c


def _relation(n_needed: float, lo: float, hi: float) -> str:
    if not np.isfinite(n_needed):
        return "never"
    if n_needed > hi:
        return ">="
    if n_needed < lo:
        return "<="
    return "="


def describe(row: dict) -> str:
    """A multiplier as people read it: '3.2x [2.7, 3.9]', '>= 8x', '<= 0.5x' or 'never'."""
    rel, k = row["relation"], row["multiplier"]
    if rel == "never":
        return "never"
    if rel != "=":
        return f"{'≥' if rel == '>=' else '≤'} {k:.3g}x"
    lo, hi = row["ci_low"], row["ci_high"]
    ci = "" if lo is None or not np.isfinite(lo) else \
        f" [{lo:.3g}, {'∞' if hi is None or not np.isfinite(hi) else format(hi, '.3g')}]"
    return f"{k:.3g}x{ci}"


def equivalence(curves: dict, baseline: str, resamples: dict) -> list[dict]:
    """Rows of the equivalence table for every model, condition and size with a fitted baseline."""
    rows = []
    for key, base in sorted(curves.items()):
        if base.model != baseline or base.fit is None:
            continue
        dataset, condition = base.dataset, base.condition
        rs = resamples[dataset]
        a_r, b_r, c_r = refit(base, rs)
        fit = base.fit
        lo, hi = REACH_DOWN * base.n.min(), REACH_UP * base.n.max()
        for other in sorted(curves.values(), key=lambda c: c.key):
            if other.dataset != dataset or other.condition != condition or other.model == baseline:
                continue
            target_r = rs.means(other.wide, other.seeds)                     # (U, sizes)
            needed_r = invert(target_r, a_r[:, None], b_r[:, None], c_r[:, None])
            k_low, k_high = rs.interval(needed_r / other.n)
            needed = invert(other.err, fit["a"], fit["b"], fit["c"])
            for i, n in enumerate(other.n):
                rel = _relation(float(needed[i]), lo, hi)
                bound = {"=": needed[i], ">=": hi, "<=": lo, "never": np.inf}[rel]
                row = {
                    "dataset": dataset, "quality": condition[0], "quality_rate": float(condition[1]),
                    "cleaning": condition[2], "model": other.model, "baseline": baseline,
                    "train_size": int(n), "error": float(other.err[i]),
                    "n_needed": float(needed[i]) if np.isfinite(needed[i]) else None,
                    "multiplier": float(bound / n) if np.isfinite(bound) else None,
                    "ci_low": _finite(k_low[i]), "ci_high": _finite(k_high[i]),
                    "relation": rel, "extrapolated": rel != "=",
                    "baseline_fit_ok": bool(fit["r2"] >= FIT_OK_R2), "baseline_shape": base.shape["shape"],
                }
                row["display"] = describe(row)
                rows.append(row)
    return rows


def _finite(v):
    v = float(v)
    return v if np.isfinite(v) else None
