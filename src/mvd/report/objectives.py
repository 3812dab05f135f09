"""Objectives chosen at report time: a named metric, or a weighted sum of metrics and costs.

The sweep measures every objective once (the ``test_*`` metrics, the
calibration scores of ``mvd.calibration`` and the deployment costs of
``mvd.costs``); the decision is remade for any objective from the stored
points, without refitting.  An objective is either one stored metric
(``log_loss``: the decision is made on it, in its own unit) or a weighted
sum that is maximised, written in metric points::

    accuracy - 0.1*predict_ms_per_1000      # one accuracy point is worth 10 ms per 1,000 rows

A task with two targets has a curve per target (``dataset=adult`` and
``dataset=adult_hours``); naming the dataset of each term combines them, per
model, size and seed, into one decision::

    adult:accuracy + 0.5*adult_hours:accuracy

Rates (accuracy, F1, AUC, Brier, ECE) count in points (x100) inside a sum;
every other name counts in its own unit.  Costs and lower-is-better metrics
take negative weights, the others positive ones; anything else is refused
in one sentence.  A metric the study did not store is named as missing and
its datasets or rungs are left out, never scored as zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mvd.errors import ConfigError
from mvd.metrics import LOWER_IS_BETTER

__all__ = ["Objective", "parse", "apply", "allowed", "COSTS", "flip_weights", "evaluate", "blocks", "standard",
           "folder_name", "STANDARD"]

# deployment costs a weighted objective can charge for, and the stored columns they come from
COSTS = {"predict_ms_per_1000": "ms to predict 1,000 rows (warm, one thread)",
         "model_mb": "fitted model size in MB", "train_seconds": "fit plus tuning seconds"}
# a cost's unit, as a weight's sentence says it ("0.1 points per ms per 1,000 rows")
UNITS = {"predict_ms_per_1000": "ms per 1,000 rows", "model_mb": "MB", "train_seconds": "s of training"}
# metrics a study may store; a study's own test_* columns are allowed too
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "roc_auc", "brier", "ece", "rmse", "mae", "r2")
_RATES = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "brier", "ece")
# the objectives a report compares side by side, where the study stored what they need; calibration by the
# two proper scoring rules (ECE alone rewards the constant predictor, which is perfectly calibrated)
STANDARD = ("accuracy", "macro_f1", "log_loss", "brier", "accuracy - 0.1*predict_ms_per_1000")
_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)\s*\*\s*)?"
                   r"((?:[a-z_][a-z0-9_]*:)?[a-z_][a-z0-9_]*)\s*", re.IGNORECASE)
# the columns that pair two targets' points: one model at one size, quality and seed
_PAIR = ["model", "quality", "quality_rate", "cleaning", "train_size", "seed"]


@dataclass(frozen=True)
class Objective:
    """A parsed objective: ``(weight, name)`` terms; one term of weight 1 is a plain metric."""

    text: str
    terms: tuple

    @property
    def single(self) -> bool:
        return len(self.terms) == 1 and self.terms[0][0] == 1.0 and not self.qualified

    @property
    def qualified(self) -> bool:
        """Terms name their dataset ('adult:accuracy'): one decision over several targets' curves."""
        return ":" in self.terms[0][1]

    @property
    def metric(self) -> str:
        """The name the decision reports it under: the metric itself, or the objective's text."""
        return self.terms[0][1] if self.single else self.text

    @property
    def names(self) -> list[str]:
        return [name.split(":")[-1] for _, name in self.terms]


def _rate(name: str) -> bool:
    return name in _RATES or name.endswith("accuracy")


def _lower(name: str) -> bool:
    return name in LOWER_IS_BETTER or name in COSTS


def allowed(points: pd.DataFrame | None = None) -> list[str]:
    """Every name an objective may use: the known metrics, the study's own test_* columns and the costs,
    and each of them qualified by a dataset of ``points`` ('adult:accuracy')."""
    stored = [c[5:] for c in (points.columns if points is not None else ()) if c.startswith("test_")]
    names = list(dict.fromkeys([*METRICS, *sorted(stored), *COSTS]))
    datasets = sorted(points["dataset"].astype(str).unique()) if points is not None and "dataset" in points else []
    return names + [f"{d}:{n}" for d in datasets for n in names]


def _shown(names: list[str]) -> str:
    """The allowed names as a refusal lists them: unqualified, then 'DATASET:' once."""
    plain = [n for n in names if ":" not in n]
    datasets = sorted({n.split(":")[0] for n in names if ":" in n})
    return ", ".join(plain) + (f"; each may be prefixed by a dataset ({', '.join(datasets)}) and ':'" if datasets else "")


def parse(text: str, names: list[str] | None = None) -> Objective:
    """``text`` as an Objective; unknown names and wrongly signed weights are refused in one sentence."""
    names = names or allowed()
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"objective={text!r} must name a metric or a weighted sum such as "
                          f"'accuracy - 0.1*predict_ms_per_1000'; allowed names: {_shown(names)}.")
    terms, pos = [], 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (terms and m.group(1) is None):
            raise ConfigError(f"objective={text!r} is not a weighted sum of names at {text[pos:]!r}; write it like "
                              f"'accuracy - 0.1*predict_ms_per_1000' with names from: {_shown(names)}.")
        sign = -1.0 if m.group(1) == "-" else 1.0
        weight = sign * (float(m.group(2)) if m.group(2) else 1.0)
        name = m.group(3).lower()
        if name not in names:
            raise ConfigError(f"objective={text!r}: unknown name {name!r}; allowed: {_shown(names)}.")
        terms.append((weight, name))
        pos = m.end()
    objective = Objective(text=" ".join(text.split()), terms=tuple(terms))
    if len({":" in name for _, name in terms}) > 1:
        raise ConfigError(f"objective={text!r} names the dataset of some terms but not of others; name it for every "
                          "term (e.g. 'adult:accuracy + 0.5*adult_hours:accuracy') or for none.")
    if objective.single:
        return objective
    for weight, name in terms:
        name = name.split(":")[-1]
        lower = _lower(name)
        if weight != 0 and (weight > 0) == lower:
            kind = "a cost" if name in COSTS else ("lower is better" if lower else "higher is better")
            want = "negative" if lower else "positive"
            raise ConfigError(f"objective={text!r}: {name} ({kind}) needs a {want} weight, since the objective is "
                              f"maximised, e.g. 'accuracy - 0.1*predict_ms_per_1000'; allowed names: {_shown(names)}.")
    return objective


def _column(points: pd.DataFrame, name: str) -> pd.Series:
    """The stored values behind ``name`` (NaN where a point lacks them)."""
    nan = pd.Series(np.nan, index=points.index)
    if name == "model_mb":
        return points["model_bytes"].astype(float) / 1e6 if "model_bytes" in points else nan
    if name == "train_seconds":
        if "fit_seconds" not in points:
            return nan
        tune = points["tune_seconds"].astype(float).fillna(0.0) if "tune_seconds" in points else 0.0
        return points["fit_seconds"].astype(float) + tune
    column = name if name in COSTS else f"test_{name}"
    return points[column].astype(float) if column in points else nan


def _combined(points: pd.DataFrame, objective: Objective) -> tuple[pd.DataFrame, list[str]]:
    """One dataset named by the objective: its terms' datasets paired by model, size, quality and seed,
    with ``score`` their weighted sum (the first term's dataset gives every other column)."""
    label = " + ".join(dict.fromkeys(name.split(":")[0] for _, name in objective.terms))
    first = objective.terms[0][1].split(":")[0]
    base = points[points["dataset"] == first].set_index(_PAIR)
    score = pd.Series(0.0, index=base.index)
    for weight, qualified in objective.terms:
        dataset, name = qualified.split(":")
        rows = points[points["dataset"] == dataset].set_index(_PAIR)
        if weight != 0:
            term = weight * _column(rows, name) * (1.0 if _rate(name) else 0.01)
            score = score + term.reindex(base.index)
    out = base.assign(score=score, dataset=label).reset_index()
    unpaired = out.loc[out["score"].isna(), "model"].astype(str).unique()
    notes = [f"{label}: {', '.join(sorted(unpaired))} left out where a term's dataset lacks the point"] if len(unpaired) else []
    return out[out["score"].notna()], notes


def apply(points: pd.DataFrame, objective: Objective) -> tuple[pd.DataFrame, dict, list[str]]:
    """The scored points under ``objective`` (``score`` and ``error`` replaced), the metric name per dataset,
    and one note per dataset or rung left out because it lacks a stored value (never counted as zero)."""
    if objective.qualified:
        out, notes = _combined(points, objective)
        out["error"] = 1.0 - out["score"]
        return out.reset_index(drop=True), {d: objective.metric for d in out["dataset"].unique()}, notes
    if objective.single:
        score = _column(points, objective.metric)
    else:
        # in rate units, since the decision counts a higher-is-better score x100: a rate enters as it is
        # (weight 1 on accuracy is accuracy, bit for bit), any other unit per hundred; a zero weight drops its term
        score = pd.Series(0.0, index=points.index)
        for weight, name in objective.terms:
            if weight != 0:
                score = score + weight * _column(points, name) * (1.0 if _rate(name) else 0.01)
    notes, keep = [], pd.Series(True, index=points.index)
    for dataset, rows in points.groupby("dataset", sort=True):
        missing = score[rows.index].isna()
        if missing.all():
            lacking = [n for _, n in objective.terms if _column(rows, n).isna().all()]
            notes.append(f"{dataset}: left out, its points store no {', '.join(lacking)}")
            keep[rows.index] = False
        elif missing.any():
            models = sorted(rows.loc[missing, "model"].astype(str).unique())
            whole = [m for m in models if missing[rows.index[rows["model"] == m]].all()]
            if whole:
                need = " (it needs probabilities)" if {"log_loss", "brier", "ece"} & set(objective.names) else ""
                notes.append(f"{dataset}: {', '.join(whole)} left out, with no stored {objective.metric}{need}")
            keep[rows.index[missing]] = False
    out = points.assign(score=score)[keep].copy()
    higher = not (objective.single and _lower(objective.metric))
    out["error"] = (1.0 - out["score"]) if higher else out["score"]
    metric = {d: objective.metric for d in out["dataset"].unique()}
    return out.reset_index(drop=True), metric, notes


def folder_name(text: str) -> str:
    """Where a report under another objective goes inside its study: 'objective-accuracy_0_1_predict_ms_per_1000'."""
    return "objective-" + re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _gains(decision) -> dict:
    return {lv.name: lv for lv in decision.levers}


def flip_weights(base, cost, *, confidence: float = 0.95) -> list[dict]:
    """Where the chosen lever changes as the weight ``w`` of ``base - w*cost`` grows from 0.

    ``base`` and ``cost`` are one dataset's decisions under the base objective (points) and under the
    cost alone (its gain is the cost saved).  A lever's gain under the sum is linear in ``w``:
    ``g_base + w * g_cost``; keeping the current model gains 0.  Returns one record per change:
    ``{"weight", "low", "high", "before", "after"}``, with an interval over the decisions' paired resamples.
    """
    a, c = _gains(base), _gains(cost)
    names = sorted(set(a) & set(c))
    line = {n: (a[n].gain, c[n].gain) for n in names}
    line[None] = (0.0, 0.0)                                 # keep the current model

    def best(w: float):
        return max(line, key=lambda n: (line[n][0] + w * line[n][1], n is None, str(n)))

    cuts = sorted({(line[i][0] - line[j][0]) / (line[j][1] - line[i][1])
                   for i in line for j in line if line[j][1] != line[i][1]})
    cuts = [w for w in cuts if w > 0 and math.isfinite(w)]
    out, current = [], best(0.0)
    for w in cuts:
        after = best(w * (1 + 1e-9) + 1e-12)
        if after != current:
            low = high = float("nan")
            pair = [n for n in (current, after) if n is not None]
            if all(a[n].resampled is not None and c[n].resampled is not None for n in pair):
                ga = [a[n].resampled if n is not None else 0.0 for n in (current, after)]
                gc = [c[n].resampled if n is not None else 0.0 for n in (current, after)]
                with np.errstate(divide="ignore", invalid="ignore"):
                    draws = (np.asarray(ga[0]) - np.asarray(ga[1])) / (np.asarray(gc[1]) - np.asarray(gc[0]))
                draws = np.asarray(draws, dtype=float)[np.isfinite(draws)]
                if len(draws):
                    tail = 100 * (1 - confidence) / 2
                    low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
            out.append({"weight": float(w), "low": low, "high": high, "before": current, "after": after})
            current = after
    return out


def _row(objective: Objective, d, notes: list[str]) -> dict:
    note = "; ".join(n.split(": ", 1)[1] for n in notes)
    lv = d.lever(d.chosen) if d is not None and d.chosen else None
    if lv is None:
        return {"objective": objective.text, "chosen": None, "note": note or "nothing to decide on"}
    return {"objective": objective.text, "unit": d.unit, "chosen": d.chosen, "kind": lv.kind, "gain": lv.gain,
            "ci_low": lv.ci_low, "ci_high": lv.ci_high, "settled": bool(d.settled), "note": note}


def _business_row(d) -> dict | None:
    """The primary decision in the business config's money: value per 1,000 decisions of the chosen lever's
    gain, at the config's price per error (a linear price, so the same lever and interval, scaled)."""
    lv = d.lever(d.chosen) if d is not None and d.chosen else None
    if lv is None or lv.value_per_1000 is None or not lv.gain:
        return None
    per = lv.value_per_1000 / lv.gain
    low, high = sorted((lv.ci_low * per, lv.ci_high * per)) if lv.ci_low is not None else (None, None)
    return {"objective": f"business value per 1,000 decisions ({d.currency})", "unit": d.currency,
            "chosen": d.chosen, "kind": lv.kind, "gain": lv.value_per_1000, "ci_low": low, "ci_high": high,
            "settled": bool(d.settled), "note": f"the {d.metric} decision at {per / 1000:.3g} {d.currency} per "
                                                f"point per decision (business config)"}


def _without_current(scored: pd.DataFrame, current) -> bool:
    """Whether the objective left out every point of the current model (as curves stored before its column existed are)."""
    if current is None or not getattr(current, "model", None):
        return False
    return not (scored["model"].astype(str) == current.model).any()


def standard(task: str, primary: str) -> list[str]:
    """The objectives a report compares for a task, its primary metric first."""
    rest = STANDARD if task == "classification" else ("rmse", "mae", "r2")
    return list(dict.fromkeys([primary, *rest]))


def evaluate(points: pd.DataFrame, decide, *, primary: str, current=None, objectives=None,
             cost: str = "predict_ms_per_1000") -> dict:
    """One dataset's decision under each objective its points can evaluate, and what a latency weight does.

    ``points``: the dataset's scored points; ``decide(scored, metric) -> Decision`` is the report's decision
    at the study's operating point; ``current`` is its decision under ``primary`` (reused, not remade).
    Returns ``{"rows": [...], "flips": [...], "pareto": [...]}``: a row per objective (chosen lever, gain,
    interval, settled, what was left out); where ``cost`` was stored, the weight of ``primary - w*cost``
    at which the chosen lever first changes, and each lever's gain against its added cost.
    """
    task = str(points["task"].iloc[0]) if "task" in points and len(points) else "classification"
    names = allowed(points)
    rows, base = [], current
    for text in objectives or standard(task, primary):
        objective = parse(text, names)
        if objective.text == primary and current is not None:
            rows.append(_row(objective, current, []))
            continue
        scored, metric, notes = apply(points, objective)
        if len(scored) and _without_current(scored, current):
            # a decision is relative to the current model: remade from other rungs it would answer another question
            notes = [f"{current.model}: no decision: the current model ({current.model}) stores no {objective.metric}"]
            scored = scored.iloc[:0]
        d = decide(scored, metric) if len(scored) else None
        rows.append(_row(objective, d, notes))
        if objective.text == primary:
            base = d
    money = _business_row(current)
    if money is not None:
        rows.append(money)
    out = {"rows": rows, "flips": [], "pareto": [], "cost": cost}
    scored, metric, _ = apply(points, parse(cost, names))
    if base is None or scored.empty or _without_current(scored, current) or primary in LOWER_IS_BETTER:
        return out
    by_cost = decide(scored, metric)
    out["flips"] = flip_weights(base, by_cost)[:1]   # where the choice first changes; past it, cost dominates
    spent = _gains(by_cost)
    out["pareto"] = [{"lever": lv.name, "kind": lv.kind, "gain": lv.gain, "ci_low": lv.ci_low, "ci_high": lv.ci_high,
                      "added_cost": -spent[lv.name].gain, "cost_low": -spent[lv.name].ci_high,
                      "cost_high": -spent[lv.name].ci_low}
                     for lv in base.levers if lv.name in spent]
    front, best = set(), -math.inf
    for p in sorted(out["pareto"], key=lambda p: (p["added_cost"], -p["gain"])):
        if p["gain"] > best:
            front.add(p["lever"])
            best = p["gain"]
    for p in out["pareto"]:
        p["front"] = p["lever"] in front
    return out


def _num(v, digits: int = 1) -> str:
    return "?" if v is None or not math.isfinite(v) else f"{v:+.{digits}f}".replace("-", "−")


def blocks(entry: dict, primary: str) -> list[tuple]:
    """The report's blocks for one dataset's objectives: the table, then where a latency weight flips it."""
    rows = []
    for r in entry["rows"]:
        if r["chosen"] is None:
            rows.append([r["objective"], "—", "—", "—", r["note"]])
            continue
        digits = 1 if r["unit"] == "points" else 2 if r["objective"].startswith("business value") else 3
        ci = "" if r["ci_low"] is None or not math.isfinite(r["ci_low"]) else \
            f" [{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]".replace("-", "−")
        unit = "points" if r["unit"] == "points" else r["unit"]
        rows.append([r["objective"], r["chosen"], f"{_num(r['gain'], digits)} {unit}{ci}",
                     "settled" if r["settled"] else "open", r["note"] or "—"])
    out = [("h3", "The decision under each objective"),
           ("p", "Remade from the stored points for each objective the study can evaluate, at the same operating "
                 "point; mvd-report STUDY --objective TEXT writes a whole report under one."),
           ("table", ["objective", "chosen lever", "gain [95% CI]", "settled", "left out"], rows)]
    cost = entry.get("cost", "predict_ms_per_1000")
    said = []
    for f in entry.get("flips", []):
        ci = "" if not math.isfinite(f["low"]) else f" [{f['low']:.3g}, {f['high']:.3g}]"
        said.append(f"below w = {f['weight']:.3g}{ci} points per {UNITS.get(cost, cost)}, "
                    f"{f['before'] or 'keep the current model'}; above, {f['after'] or 'keep the current model'}")
    if said:
        out.append(("p", f"Weighing inference cost ({primary} − w × {cost}): " + "; ".join(said)
                    + " (measured levers; 95% interval over seed resamples)."))
    return out
