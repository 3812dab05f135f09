"""The business view: metric to money, and the cheapest route to a target.

Value per 1,000 decisions: a correct decision earns ``value_correct`` and an
error costs ``cost_error`` (or its entry of ``cost_matrix`` [true][predicted],
or ``cost_false_positive``/``cost_false_negative`` for a binary task with
class 1 positive, using each point's test confusion counts); a regression
prediction costs ``cost_per_unit_error`` per unit of absolute error.

Routes to a target score, from the fitted curves, starting at the baseline
model on the study's largest size (and its noisiest data, if quality varies):
more labels (same model, same data quality), cleaner labels (every label at
``cost_per_clean_label``; under a shift, rows from the target distribution at
that price), a cleaning method the study measured (the
oracle, which knows the corrupted rows, is priced as a review of every label
at ``cost_per_clean_label``), another model, or a model switch combined with
one of the data levers.  Each route costs its new labels plus one training run in compute
hours (fit time extrapolated by a log-log line through the measured times).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mvd.errors import ConfigError
from mvd.levers import LOWER_IS_BETTER, levers_at
from mvd.report.equivalence import REACH_UP
from mvd.report.fits import FIT_OK_R2, invert

__all__ = ["point_values", "routes", "iso_performance", "needs_confusion", "seconds_at"]


def needs_confusion(business: dict) -> bool:
    return business.get("cost_matrix") is not None or business.get("cost_false_positive") is not None \
        or business.get("cost_false_negative") is not None


def _cost_matrix(business: dict, k: int) -> np.ndarray:
    if business.get("cost_matrix") is not None:
        matrix = np.asarray(business["cost_matrix"], dtype=float)
        if matrix.shape != (k, k):
            raise ConfigError(f"business.cost_matrix has shape {matrix.shape[0]}x{matrix.shape[1]} "
                              f"but the task has {k} classes; give a {k}x{k} matrix [true][predicted].")
        return matrix
    cost = np.full((k, k), float(business["cost_error"]))
    np.fill_diagonal(cost, 0.0)
    if k == 2:
        fp, fn = business.get("cost_false_positive"), business.get("cost_false_negative")
        cost[0, 1] = cost[0, 1] if fp is None else float(fp)
        cost[1, 0] = cost[1, 0] if fn is None else float(fn)
    return cost


def point_values(points: pd.DataFrame, business: dict) -> tuple[pd.Series, list[str]]:
    """Money per 1,000 decisions of every point, and notes on what had to be assumed."""
    value = pd.Series(np.nan, index=points.index)
    notes = []
    reg = points["task"] == "regression"
    if reg.any():
        mae = points.loc[reg, "test_mae"].astype(float)
        value[reg] = -1000.0 * float(business["cost_per_unit_error"]) * mae
    cls = ~reg
    if not cls.any():
        return value, notes
    acc = points.loc[cls, "test_accuracy"].astype(float)
    value[cls] = 1000.0 * (acc * float(business["value_correct"]) - (1 - acc) * float(business["cost_error"]))
    if needs_confusion(business):
        have = points.loc[cls, "confusion"].notna() if "confusion" in points else pd.Series(False, index=acc.index)
        for i in have[have].index:
            counts = np.asarray(json.loads(points.at[i, "confusion"]), dtype=float)
            share = counts / counts.sum()
            cost = _cost_matrix(business, len(counts))
            value[i] = 1000.0 * (np.trace(share) * float(business["value_correct"]) - float((share * cost).sum()))
        if not have.all():
            notes.append(f"{int((~have).sum())} classification point(s) lack test confusion counts, so their errors "
                         "are costed at business.cost_error; rerun them to use the cost matrix.")
    return value, notes


def seconds_at(sizes, secs, n: float) -> float:
    """Time of one training run at size n, from a log-log line through the times measured at ``sizes``
    (never falling with n); the mean with one measured time, 0 with none."""
    sizes, secs = np.asarray(sizes, dtype=float), np.asarray(secs, dtype=float)
    ok = np.isfinite(secs) & (secs > 0)
    if ok.sum() >= 2:
        slope, icept = np.polyfit(np.log(sizes[ok]), np.log(secs[ok]), 1)
        return float(np.exp(icept + max(slope, 0.0) * np.log(max(n, 1.0))))
    return float(np.mean(secs[ok])) if ok.any() else 0.0


def _seconds_at(curve, n: float, fit_seconds: dict) -> float:
    secs = [fit_seconds.get((curve.key, int(s)), np.nan) for s in curve.n]
    return seconds_at(curve.n, secs, n)


def routes(curves: dict, dataset: str, *, baseline: str, start: tuple, target: float, metric: str,
           business: dict, fit_seconds: dict) -> list[dict]:
    """Every route from the start point (baseline, start condition, its largest size) to ``target``: the levers
    of ``mvd.levers.levers_at`` from there, each model lever on its default and its tuned curve."""
    target_error = target if metric in LOWER_IS_BETTER else 1.0 - target
    base = curves[(dataset, baseline) + tuple(start)]
    n0 = float(base.n.max())
    label, clean_label = float(business["cost_per_label"]), business.get("cost_per_clean_label")
    clean_label = label if clean_label is None else float(clean_label)
    hour = float(business["cost_per_compute_hour"])
    # the routes are the decision's levers from the start point (mvd.levers), each on every version of its model
    candidates = []
    for spec in levers_at(curves.values(), dataset, start, baseline, n0):
        if spec.kind == "step":
            continue
        keys = [spec.curve] + ([spec.twin] if spec.twin is not None else [])
        kind = _data_kind(spec) if spec.kind == "combined" else spec.kind
        if kind in ("labels", "tune", "model"):
            data, price, relabel = None, label, False
        elif kind == "relabel":
            data, price, relabel = "cleaner labels", clean_label, True
        elif kind == "target":  # under a shift: the same number of rows, drawn unshifted
            data, price, relabel = "rows from the target distribution", clean_label, True
        elif spec.curve.cleaning == "oracle":  # the oracle knows which labels are wrong: an expert reviews each
            data, price, relabel = "cleaning: oracle (every label reviewed)", clean_label, True
        else:
            data, price, relabel = f"cleaning: {spec.curve.cleaning}", label, False
        for key in keys:
            lever = [data] if data else []
            if key.model != baseline:
                lever.append("switch model")
            candidates.append((" + ".join(lever) or "more labels", curves[key], price, relabel))
    rows = []
    for route, c, price, relabel in candidates:
        if c.fit is None:
            continue
        needed = float(invert(target_error, c.fit["a"], c.fit["b"], c.fit["c"]))
        if np.isfinite(needed) and (c.err <= target_error).any():
            needed = min(needed, float(c.n[np.argmax(c.err <= target_error)]))  # measured beats fitted
        hi = REACH_UP * c.n.max()
        relation = "never" if not np.isfinite(needed) else (">=" if needed > hi else "=")
        # beyond twice the measured range the fit is only a lower bound: cost that bound
        total_n = {"=": needed, ">=": hi, "never": np.inf}[relation]
        new = total_n if relabel else max(total_n - n0, 0.0)
        row = {"route": route, "model": c.model, "quality": c.key.quality, "quality_rate": float(c.key.rate),
               "cleaning": c.key.cleaning, "relation": relation,
               "n_needed": float(np.ceil(total_n)) if np.isfinite(total_n) else None,
               "new_labels": float(np.ceil(new)) if np.isfinite(new) else None}
        if np.isfinite(new):
            hours = _seconds_at(c, total_n, fit_seconds) / 3600.0
            row.update(label_cost=float(np.ceil(new)) * price, compute_hours=hours, compute_cost=hours * hour)
            row["total_cost"] = row["label_cost"] + row["compute_cost"]
        else:
            row.update(label_cost=None, compute_hours=None, compute_cost=None, total_cost=None)
        rows.append(row)
    reachable = [r for r in rows if r["relation"] == "="]
    if reachable:
        cheapest = min(reachable, key=lambda r: (r["total_cost"], r["compute_hours"], r["route"], r["model"]))
        cheapest["cheapest"] = True
    for r in rows:
        r.setdefault("cheapest", False)
    # reachable routes first, cheapest first; unreachable ones last
    big = float("inf")
    return sorted(rows, key=lambda r: (r["relation"] == "never", r["relation"] != "=",
                                       big if r["total_cost"] is None else r["total_cost"], r["route"], r["model"]))


def _data_kind(spec) -> str:
    """The kind of data lever a combined lever pairs with another model: relabel, target or cleaning."""
    q = spec.curve.condition
    if q.rate == 0 and q.cleaning == "none":
        return "target" if spec.price.method == "target" else "relabel"
    return "cleaning"


def iso_performance(curves: dict, dataset: str, condition: tuple, *, target: float, metric: str) -> list[dict]:
    """Training size each model needs to reach ``target`` on one data condition (its fitted curve)."""
    target_error = target if metric in LOWER_IS_BETTER else 1.0 - target
    rows = []
    for c in sorted(curves.values(), key=lambda c: (c.sophistication, c.key)):
        if c.dataset != dataset or c.condition != tuple(condition) or c.fit is None:
            continue
        needed = float(invert(target_error, c.fit["a"], c.fit["b"], c.fit["c"]))
        if (c.err <= target_error).any():
            needed = min(needed, float(c.n[np.argmax(c.err <= target_error)]))
        relation = "never" if not np.isfinite(needed) else (">=" if needed > REACH_UP * c.n.max() else "=")
        bound = {"=": needed, ">=": REACH_UP * c.n.max(), "never": None}[relation]
        rows.append({"model": c.model, "n_needed": None if bound is None else float(np.ceil(bound)),
                     "relation": relation, "fit_ok": bool(c.fit["r2"] >= FIT_OK_R2)})
    return rows
