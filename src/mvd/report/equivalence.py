"""Data-equivalent value of a model upgrade, read off the measured curves.

For a model m at size n with mean error e, the baseline needs n* rows to do
as well: the first size at which the baseline's measured curve reaches e.
The curve is the baseline's running best mean error over its measured sizes
(a team with more rows can always use fewer), interpolated linearly in
log n between measured sizes, so n* and the multiplier k = n* / n rest on
points, never on a fitted curve.  Past the measured range the answer is a
bound, said in words (a ``Multiplier`` with a ``kind``):

- ``measured``: the baseline reaches e between two measured sizes: k = n* / n;
- ``at_least``: it does not reach e by its largest size N: k >= N / n;
- ``at_most``: it already does at its smallest size N0: k <= N0 / n;
- ``never``: it does not by N, and its fitted floor lies above e, from a fit
  the report trusts (R² >= ``FIT_OK_R2``); an untrusted fit says nothing.

Intervals come from seed resamples: both curves are re-averaged on each
resample (a seed fixes the test split, so the pairing is exact) and n* is
read again; the interval is taken on log k (a bound where a resample falls
outside the range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvd.report.aggregate import SeedResamples
from mvd.report.curves import Curve
from mvd.report.fits import FIT_OK_R2, fit_many

__all__ = ["Multiplier", "KINDS", "pick_baseline", "refit", "reach", "multipliers", "equivalence", "describe",
           "operating_row", "headline", "cell"]

KINDS = ("measured", "at_least", "at_most", "never")
_RELATION = {"measured": "=", "at_least": ">=", "at_most": "<=", "never": "never"}
# the fitted extrapolation limits other report modules price routes with (business), as factors of
# the baseline's observed size range; the multiplier itself never extrapolates
REACH_UP, REACH_DOWN = 2.0, 0.5


@dataclass(frozen=True)
class Multiplier:
    """How many times more data the baseline needs: a measured value or a bound, never a float inf."""

    kind: str                 # one of KINDS
    value: float | None       # n* / n (measured), the bound (at_least, at_most), None (never)
    n_needed: float | None    # n* (measured only)
    ci_low: float | None = None
    ci_high: float | None = None
    floor: float | None = None  # never: the baseline's fitted floor (error) that lies above the model's error

    @property
    def relation(self) -> str:
        return _RELATION[self.kind]

    def display(self) -> str:
        """Short form for tables: '3.2x [2.7, 3.9]', '≥ 8x', '≤ 0.5x' or 'never'."""
        return describe({"relation": self.relation, "multiplier": self.value, "ci_low": self.ci_low,
                         "ci_high": self.ci_high})

    def words(self, *, baseline: str, model: str, n: int, n_min: int, n_max: int) -> str:
        """The multiplier in a sentence that says what it rests on."""
        if self.kind == "measured":
            return (f"{baseline} needs {self.display()} the rows to match {model} at n = {n:,} "
                    f"(measured: {self.n_needed:,.0f} rows)")
        if self.kind == "at_least":
            bound = f": at least {self.value:.3g}x the rows" if self.value > 1 else ""
            return (f"{baseline} does not reach {model}'s score at n = {n:,} within its measured sizes "
                    f"(up to {n_max:,}){bound}")
        if self.kind == "at_most":
            return (f"{baseline} already matches {model}'s score at n = {n:,} with its smallest measured size "
                    f"({n_min:,}): at most {self.value:.3g}x the rows")
        return (f"{baseline} does not reach {model}'s score at n = {n:,} within its measured sizes (up to "
                f"{n_max:,}), and its fitted curve levels off above {model}'s error there (floor {self.floor:.3g}): "
                f"never, by extrapolation of a fit with R² >= {FIT_OK_R2:g}")


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


def reach(n, err, target) -> np.ndarray:
    """Rows at which the measured curve(s) ``err`` (..., sizes) first reach each ``target`` (..., T).

    The curve is its running best (``np.fmin.accumulate``: a missing size is
    skipped), interpolated linearly in log n.  inf: not reached by the
    largest size; ``n[0]``: reached at the smallest (the true n* may be lower).
    """
    n = np.asarray(n, dtype=float)
    err = np.atleast_2d(np.asarray(err, dtype=float))
    target = np.asarray(target, dtype=float)
    target = target.reshape(err.shape[:-1] + (-1,)) if target.ndim < err.ndim else target
    best = np.fmin.accumulate(err, axis=-1)                           # NaN before the first measured size stays NaN
    hit = best[..., None, :] <= target[..., :, None]                  # (..., T, S)
    found = hit.any(axis=-1)
    j = np.argmax(hit, axis=-1)                                       # first size at or below the target
    i = np.maximum(j - 1, 0)
    upper = np.take_along_axis(best, i.reshape(i.shape[:-1] + (-1,)), axis=-1).reshape(i.shape)
    lower = np.take_along_axis(best, j.reshape(j.shape[:-1] + (-1,)), axis=-1).reshape(j.shape)
    logn = np.log(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.clip((upper - target) / (upper - lower), 0.0, 1.0)
        inside = np.exp(logn[i] + f * (logn[j] - logn[i]))
    out = np.where(j == 0, n[0], inside)
    return np.where(found, out, np.inf)


def _trusted(curve: Curve) -> bool:
    return curve.fit is not None and bool(np.isfinite(curve.fit["r2"])) and curve.fit["r2"] >= FIT_OK_R2


def multipliers(base: Curve, other: Curve, rs: SeedResamples) -> list[Multiplier]:
    """The multiplier of ``other`` over ``base`` at each of ``other``'s sizes (same dataset and condition)."""
    needed = reach(base.n, base.err, other.err)[0]
    base_r = rs.means(base.wide, base.seeds)                          # (U, sizes)
    other_r = rs.means(other.wide, other.seeds)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_k = np.log(reach(base.n, base_r, other_r) / other.n)      # inf where a resample does not reach
    low, high = rs.interval(log_k)
    floor = base.fit["c"] if _trusted(base) else None
    out = []
    for i, n in enumerate(other.n):
        n_star = float(needed[i])
        if not np.isfinite(n_star):
            never = floor is not None and other.err[i] < floor
            kind, value = ("never", None) if never else ("at_least", float(base.n.max() / n))
        elif n_star <= base.n[0]:
            kind, value = "at_most", float(base.n[0] / n)
        else:
            kind, value = "measured", n_star / float(n)
        lo, hi = (_exp(low[i]), _exp(high[i])) if kind == "measured" else (None, None)
        out.append(Multiplier(kind=kind, value=value, n_needed=n_star if kind == "measured" else None,
                              ci_low=lo, ci_high=hi, floor=floor if kind == "never" else None))
    return out


def _exp(v) -> float | None:
    """exp of a log-interval end: None where undefined, inf kept (an open end)."""
    v = float(v)
    return None if np.isnan(v) else float(np.exp(v))


def describe(row: dict) -> str:
    """A multiplier as people read it: '3.2x [2.7, 3.9]', '≥ 8x', '≤ 0.5x' or 'never'."""
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
    """Rows of the equivalence table for every model, condition and size where the baseline has 3+ sizes
    (a shorter curve is too short to price, as the summary says)."""
    rows = []
    for key, base in sorted(curves.items()):
        if base.model != baseline or len(base.n) < 3:
            continue
        dataset, condition = base.dataset, base.condition
        rs = resamples[dataset]
        fit_ok = _trusted(base)
        for other in sorted(curves.values(), key=lambda c: c.key):
            if other.dataset != dataset or other.condition != condition or other.model == baseline:
                continue
            for i, (n, m) in enumerate(zip(other.n, multipliers(base, other, rs))):
                row = {
                    "dataset": dataset, "quality": condition[0], "quality_rate": float(condition[1]),
                    "cleaning": condition[2], "model": other.model, "baseline": baseline,
                    "train_size": int(n), "error": float(other.err[i]),
                    "kind": m.kind, "n_needed": m.n_needed, "multiplier": m.value,
                    "ci_low": m.ci_low if m.ci_low is None or np.isfinite(m.ci_low) else None,
                    "ci_high": m.ci_high if m.ci_high is None or np.isfinite(m.ci_high) else None,
                    "relation": m.relation, "extrapolated": m.kind != "measured",
                    "baseline_fit_ok": fit_ok, "baseline_shape": base.shape["shape"],
                    "words": m.words(baseline=baseline, model=other.model, n=int(n), n_min=int(base.n.min()),
                                     n_max=int(base.n.max())),
                }
                row["display"] = m.display() if m.kind != "measured" else describe(row)
                rows.append(row)
    return rows


def _kind(row: dict) -> str:
    """A row's kind (rows written before kinds existed carry only their relation)."""
    return row.get("kind") or {v: k for k, v in _RELATION.items()}[row["relation"]]


def operating_row(rows: list[dict], model: str, n_now: float | None = None) -> dict | None:
    """The row that prices ``model`` in data on clean, uncleaned data at the operating point: the size
    ``n_now`` (the largest measured size at or below it; without one, the largest size); None without rows."""
    mine = [r for r in rows if r["model"] == model and r["cleaning"] == "none"
            and (r["quality_rate"] == 0 or r["quality"] == "clean")]
    if not mine:
        return None
    below = [r for r in mine if n_now is None or r["train_size"] <= n_now]
    return max(below or mine, key=lambda r: r["train_size"])


def _last_measured(rows: list[dict], row: dict) -> dict | None:
    """The largest size where ``row``'s model was measured against the baseline, on ``row``'s data."""
    measured = [r for r in rows if r["model"] == row["model"] and _kind(r) == "measured"
                and (r["quality"], r["quality_rate"], r["cleaning"]) == (row["quality"], row["quality_rate"], row["cleaning"])]
    return max(measured, key=lambda r: r["train_size"]) if measured else None


def headline(rows: list[dict], model: str, n_now: float | None = None) -> str | None:
    """The multiplier at the operating point in words, and the largest size where it was measured when
    the operating point's is a bound; None without rows."""
    row = operating_row(rows, model, n_now)
    if row is None:
        return None
    text = row.get("words") or f"{row['display']} at n = {row['train_size']:,}"
    if _kind(row) == "measured":
        return text
    last = _last_measured(rows, row)
    if last is not None:
        text += f"; measured at n = {last['train_size']:,}: {last['display']}"
    return text


def cell(rows: list[dict], model: str, n_now: float | None = None) -> str | None:
    """``headline`` in a table cell: '3.59x [1.89, 6.84] at n = 256', or the bound in a few words and the
    largest size where it was measured; None without rows."""
    row = operating_row(rows, model, n_now)
    if row is None:
        return None
    at = f"n = {row['train_size']:,}"
    baseline = row["baseline"]
    kind = _kind(row)
    if kind == "measured":
        return f"{row['display']} at {at}"
    bound = f"{row['display']} at {at}" if kind != "at_least" or row["multiplier"] > 1 else at
    text = {"at_least": f"{baseline} does not reach it by its largest size ({bound})",
            "at_most": f"{row['display']} at {at} ({baseline} matches it at its smallest size)",
            "never": f"{baseline}'s fitted floor lies above it ({at}): never, by extrapolation"}[kind]
    last = _last_measured(rows, row)
    if last is not None:
        text += f"; measured: {last['display']} at n = {last['train_size']:,}"
    return text
