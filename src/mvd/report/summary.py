"""All the numbers of a report, computed from a study, as one JSON-ready dict.

The summary is deterministic: resampling is seeded, every table is sorted,
floats are rounded to 6 significant digits and nothing time-dependent is
included, so rebuilding from the same points gives a byte-identical file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from mvd.errors import ConfigError
from mvd.report.study import LOWER_IS_BETTER
from mvd.report import business as money
from mvd.report.aggregate import CONFIDENCE, SeedResamples, aggregate, cells, interval_covers
from mvd.report import backtest, cardinality, lead as leads, objectives
from mvd.report.attribution import LABELS, attribution, cannot_fit, fewer_conditions
from mvd.report.backtest import MIN_SIZES, check_sizes
from mvd.report.decision import EXTRAPOLATION_RESAMPLES, decide
from mvd.report.exponent import describe as describe_exponent, exponent_test
from mvd.report.flips import ranking_flips
from mvd.report.curves import Curve, build_curves
from mvd.report.equivalence import equivalence, headline, operating_row, pick_baseline
from mvd.report.fits import FIT_OK_R2
from mvd.report.study import CELL, Study
from mvd.report.shift import shift_section
from mvd.report import pretraining
from mvd.report.workers import fork_map

__all__ = ["Analysis", "analyse", "to_json", "schema", "SEED"]

SEED = 0
SCHEMA_VERSION = 2


@dataclass
class Analysis:
    """The summary plus the in-memory tables the figures are drawn from."""

    summary: dict
    agg: pd.DataFrame
    curves: dict[tuple, Curve]
    baseline: str


def analyse(study: Study, *, workers: int | None = None) -> Analysis:
    """Every number of the report.  Datasets are analysed independently, so with ``workers`` > 1
    (default: the CPUs, at most one per dataset) they are analysed in forked processes; the
    numbers do not depend on the worker count (each dataset reads rows of the same seeds matrices)."""
    points = study.points
    resamples = {d: SeedResamples(rows["seed"].unique(), n=study.bootstrap, seed=SEED)
                 for d, rows in points.groupby("dataset", sort=True)}
    table = cells(points, ("score", "error", "fit_seconds", "n_fit", "tune_seconds"), per_row=True)
    sophistication = points.groupby("model", sort=True)["sophistication"].max().astype(int).to_dict()
    settings = study.verdict
    kw = dict(data=settings["data"], model=settings["model"] if settings["model"] is not None else study.baseline,
              step=settings["step"], business=study.business, bootstrap=study.bootstrap, seed=SEED,
              cleaning_cost_per_row=settings["cleaning_cost_per_row"], metric=study.metric)
    if settings["backtest"]:
        for name, rows in points.groupby("dataset", sort=True):
            check_sizes(sorted(rows["train_size"].unique()), name)
    decisions = decide(points, n_now=settings["n_now"], **kw)
    names = sorted(resamples)
    global _SHARED
    _SHARED = dict(study=study, points=points, table=table, sophistication=sophistication,
                   resamples=resamples, decisions=decisions, settings=settings, kw=kw)
    try:
        parts = fork_map(_dataset_part, names, workers)
    finally:
        _SHARED = None
    agg = pd.concat([p[0] for p in parts], ignore_index=True)
    curves = {k: c for p in parts for k, c in p[1].items()}
    datasets = {name: p[2] for name, p in zip(names, parts)}
    baseline = pick_baseline(curves, study.baseline)
    value_agg, notes = _values(points, agg, study, resamples)
    for name, entry in datasets.items():
        entry["business"]["value_per_1000"] = _clean(_table(value_agg[value_agg["dataset"] == name],
                                                            ["score", "ci_low", "ci_high"], rename={"score": "value"}))

    summary = {
        "schema_version": SCHEMA_VERSION,
        "study": study.name, "question": study.question, "n_points": int(len(points)),
        "baseline": baseline,
        "bootstrap": {"resamples": study.bootstrap, "confidence": CONFIDENCE, "seed": SEED,
                      "method": "t over seeds (jackknife standard error), plus a paired bootstrap over a "
                                "fixed test set's rows where points store per-row scores"},
        "business": {**{k: v for k, v in sorted(study.business.items())}, "notes": notes},
        "datasets": {},
        "verdict": [d["verdict"] for d in datasets.values()],
        # every dataset's backtest added up, with how far the study's trials tell the rules apart
        "backtest": backtest.pooled(datasets),
        "operating_point": {k: settings[k] for k in ("n_now", "data", "model", "step", "backtest",
                                                     "cleaning_cost_per_row")},
    }
    if study.objective is not None:
        summary["objective"] = {"text": study.objective, "notes": list(study.objective_notes)}
    shift = shift_section(points, study.metric, n_resamples=study.bootstrap, seed=SEED, baseline=baseline)
    if shift:  # only studies with shift kinds or test-label noise carry the section
        summary["shift"] = shift
    card = cardinality.section(points, decisions, resamples)
    if card:  # only studies whose datasets differ by their number of classes (top_classes) carry the section
        summary["cardinality"] = card
    summary = _clean(summary)
    summary["datasets"] = datasets  # cleaned where they were made
    return Analysis(summary=summary, agg=agg, curves=curves, baseline=baseline)


_SHARED = None  # what a forked dataset worker inherits from ``analyse``


def _dataset_part(name: str) -> tuple[pd.DataFrame, dict, dict]:
    """One dataset's aggregation, curves and summary entry (cleaned for JSON)."""
    study, points, table, resamples = (_SHARED[k] for k in ("study", "points", "table", "resamples"))
    settings, kw = _SHARED["settings"], _SHARED["kw"]
    rows = points[points["dataset"] == name]
    mine_rows = table.rows(name)
    sub = table.subset(mine_rows)
    agg = aggregate(sub, {name: resamples[name]}, metric=study.metric)
    mine = build_curves(sub, agg, _SHARED["sophistication"])
    # each dataset prices against its own sophistication-1 rung (ridge for a regression beside
    # classifiers) unless report.baseline names one model for all
    own = pick_baseline(mine, study.baseline)
    eq = equivalence(mine, own, resamples)
    attr = attribution(mine, own, resamples, study.metric).get(name)
    fit_seconds = {(tuple(k[:-1]), int(k[-1])): v for k, v in
                   zip(agg[CELL].itertuples(index=False, name=None), agg["fit_seconds"])}
    metric = study.metric[name]
    target, source, start = _target(study, mine, name, metric, attr, own)
    routes = money.routes(mine, name, baseline=own, start=start, target=target, metric=metric,
                          business=study.business, fit_seconds=fit_seconds) if start else []
    if study.target is not None and start and not any(r["relation"] != "never" for r in routes):
        raise ConfigError(f"report.target={study.target:g} is reached by no fitted curve of dataset {name!r} "
                          f"({metric}); choose a target between its worst and best measured values.")
    main = _main_condition(mine)
    entry = {
        "task": str(rows["task"].iloc[0]), "metric": metric,
        "higher_is_better": metric not in LOWER_IS_BETTER,
        "n_points": int(len(rows)), "seeds": sorted(int(s) for s in rows["seed"].unique()),
        "interval_covers": {**interval_covers(rows), "cells_clipped": int(agg["ci_clipped"].sum())},
        "models": _models(mine),
        "fits": [_fit_row(c) for c in sorted(mine.values(), key=lambda c: c.key)],
        "curves": _table(agg, ["score", "error", "se", "ci_low", "ci_high", "n_seeds"]),
        "equivalence": [{k: v for k, v in r.items() if k != "dataset"} for r in eq],
        "attribution": attr,
        "iso_performance": {"target": target, "quality": main[0], "quality_rate": float(main[1]),
                            "cleaning": main[2],
                            "models": money.iso_performance(mine, name, main, target=target, metric=metric)},
        "business": {
            "target": target, "target_source": source,
            "start": None if not start else {"model": own, "quality": start[0],
                                             "quality_rate": float(start[1]), "cleaning": start[2]},
            "routes": routes,
            "value_per_1000": [],  # filled in by ``analyse``, which prices all datasets' cells at once
        },
    }
    decision = _SHARED["decisions"][name]
    entry["decision"] = decision.to_dict()
    entry["objectives"] = _objectives(rows, name, metric, decision, study, settings, kw)
    entry["backtest"] = _backtest(rows, name, decision, mine, resamples[name], settings, kw)
    best = (attr or {}).get("best_model")
    test = exponent_test(mine.get((name, own) + main), mine.get((name, best) + main) if best else None,
                         resamples[name])
    entry["exponent"] = None if test is None else {**test, "sentence": describe_exponent(test)}
    entry["ranking_flips"] = ranking_flips(mine, name, resamples[name])
    # a pretrained rung against its head on bag-of-words; only datasets where both ran carry the key
    pre = pretraining.section(mine, name, resamples[name], n_now=entry["decision"].get("n_now"),
                              covers=entry["interval_covers"]["phrase"])
    if pre:
        entry["pretraining"] = pre
    # classes the subsets never saw (many classes, small subsets): only datasets where some test row falls there
    gap = cardinality.unseen(rows, tuple(decision.data), getattr(decision, "n_test", None))
    if gap:
        entry["unseen"] = gap
    # the report's first sentence (the decision as an action) and every other model that ran, with why it is not
    # in that sentence; the decision's full sentence stays in the dataset's section, the range verdict below
    plain = _clean(entry["decision"])
    ladder = [m["model"] for m in entry["models"]]
    entry["lead"] = leads.lead(plain)
    entry["also_measured"] = leads.also_measured(
        plain, models=ladder, constant=[m["model"] for m in entry["models"] if m["sophistication"] == 0],
        unfit=leads.unfit_at(cannot_fit(mine, name), plain))
    entry["verdict"] = verdict(name, entry, own)
    return agg, mine, _clean(entry)


def _objectives(rows, name, metric, decision, study, settings, kw) -> dict | None:
    """The decision remade under each objective the dataset's points can evaluate (none for a study decided on
    several targets' curves at once, whose rows are no one target's)."""
    if study.objective is not None and ":" in study.objective:   # terms name their datasets: several targets
        return None

    def decide_one(scored, metric_of):
        return decide(scored, n_now=settings["n_now"], **{**kw, "metric": metric_of, "datasets": [name]})[name]

    return objectives.evaluate(rows, decide_one, primary=metric, current=decision)


def _values(points: pd.DataFrame, agg: pd.DataFrame, study: Study,
            resamples: dict) -> tuple[pd.DataFrame, list[str]]:
    """Money per 1,000 decisions per cell with its interval.

    Where the value is an increasing affine map of accuracy (one price per
    error), the accuracy's mean and interval are mapped; otherwise (cost
    matrix, regression) the per-point values are resampled themselves, over the same seeds.
    """
    b = study.business
    affine = {d for d, m in study.metric.items() if m == "accuracy" and not money.needs_confusion(b)}
    slope, offset = 1000.0 * (b["value_correct"] + b["cost_error"]), -1000.0 * b["cost_error"]
    mapped = agg[agg["dataset"].isin(affine)].copy()
    for column in ("score", "ci_low", "ci_high"):
        mapped[column] = offset + slope * mapped[column]
    rest = points[~points["dataset"].isin(affine)]
    if rest.empty:
        return mapped, []
    values, notes = money.point_values(rest, b)
    boot = aggregate(cells(rest.assign(score=values), ("score",)), resamples)
    return pd.concat([mapped, boot], ignore_index=True).sort_values(CELL, kind="stable"), notes


def _backtest(rows, name, decision, curves, rs, settings, kw) -> dict:
    """The decision's and the intervals' backtests on this dataset (its ``rows``), or a note saying why there is none."""
    sizes = sorted(rows["train_size"].unique())
    if len(sizes) < MIN_SIZES:
        return {"decisions": None, "intervals": None,
                "note": f"no backtest: {len(sizes)} measured size(s), at least {MIN_SIZES} are needed"}
    hidden = backtest.decisions(decision)
    # the first draws of the same seed resamples, as in the decision; the curves the decision reads
    head = SeedResamples(rs.seeds, n=min(kw["bootstrap"], EXTRAPOLATION_RESAMPLES), seed=SEED)
    cover = backtest.intervals(curves, name, head, conditions={tuple(decision.data)})
    note = None if hidden and cover else "too few sizes below n_max/2 to hide the largest ones"
    return {"decisions": hidden, "intervals": cover, "note": note}


def _main_condition(curves: dict) -> tuple:
    """Clean, uncleaned data when the study has it: the condition of the headline figures."""
    return sorted({c.key.condition for c in curves.values()}, key=lambda q: (q.rate != 0, q.cleaning != "none", q))[0]


def _models(curves: dict) -> list[dict]:
    seen = sorted({(c.sophistication, c.model) for c in curves.values()})
    return [{"model": m, "sophistication": int(r)} for r, m in seen]


def _fit_row(c: Curve) -> dict:
    row = {"model": c.model, "quality": c.key.quality, "quality_rate": float(c.key.rate),
           "cleaning": c.key.cleaning, "sophistication": int(c.sophistication), **c.shape}
    fit = dict(c.fit or {})
    fit.pop("sigma", None)
    for k in ("a", "b", "c", "a_se", "b_se", "c_se", "r2", "rmse", "chi2_dof"):
        row[k] = fit.get(k)
    row["n_sizes"], row["n_min"], row["n_max"] = int(len(c.n)), int(c.n.min()), int(c.n.max())
    row["fitted"] = c.fit is not None
    row["fit_ok"] = c.fit is not None and math.isfinite(c.fit["r2"]) and c.fit["r2"] >= FIT_OK_R2
    return row


def _table(frame: pd.DataFrame, columns: list[str], rename: dict | None = None) -> list[dict]:
    keep = ["model", "quality", "quality_rate", "cleaning", "train_size"] + columns
    out = frame[keep].rename(columns=rename or {})
    records = out.to_dict("list")
    n = len(out)
    return [{k: records[k][i] for k in records} for i in range(n)]


def _target(study, curves, name, metric, attr, baseline):
    """Target score and where it came from, and the start condition of the routes."""
    if attr:
        ref = attr["reference_quality"]
        start = (ref["quality"], ref["quality_rate"], ref["cleaning"])
    else:
        options = sorted(c.condition for c in curves.values() if c.model == baseline and c.fit is not None)
        start = options[0] if options else None
    if study.target is not None:
        return float(study.target), "report.target", start
    if attr:
        return float(attr["score_to"]), "best measured point", start
    scores = [float(np.max(c.score)) if metric not in LOWER_IS_BETTER else float(np.min(c.score))
              for c in curves.values()]
    best = max(scores) if metric not in LOWER_IS_BETTER else min(scores)
    return best, "best measured point", start


def _fmt(v: float, metric: str) -> str:
    return f"{v:.2f}" if metric not in LOWER_IS_BETTER and abs(v) <= 1 else f"{v:.3g}"


def _pct(v) -> str:
    return "?" if v is None or not math.isfinite(v) else f"{100 * v:.0f}"


def upgrade_row(entry: dict, model: str) -> dict | None:
    """The equivalence row that prices ``model`` against the baseline in data: clean, uncleaned data, at
    the operating point's size (equivalence.operating_row); None without one."""
    return operating_row(entry["equivalence"], model, (entry.get("decision") or {}).get("n_now"))


def verdict(name: str, entry: dict, baseline: str) -> str:
    """The range-named attribution: the main lever's share of the gain over the measured range, and the
    model upgrade in data (the decision at the operating point comes first, from ``decision``)."""
    attr, metric = entry["attribution"], entry["metric"]
    if not attr:
        if baseline not in {m["model"] for m in entry["models"]}:
            return f"On {name}, the baseline model {baseline} was not run, so nothing is priced against it; see the curves."
        return f"On {name}, the study has too few shared sizes to attribute the gain; see the curves."
    if not attr["gain"] > 0:
        return (f"On {name}, nothing in the study improves on {baseline} at n={attr['small_size']} "
                f"({metric} {_fmt(attr['score_from'], metric)}).")
    shares = attr["shares"]
    lead = max(attr["players"], key=lambda p: (shares[p]["share"], p))
    s = shares[lead]
    missing = s["ci_low"] is None or not math.isfinite(s["ci_low"])
    ci = (" (one seed: no interval)" if missing and len(entry["seeds"]) < 2
          else f" [{_pct(s['ci_low'])}, {_pct(s['ci_high'])}]")
    text = (f"Over n = {attr['small_size']:,} -> {attr['large_size']:,} on {name}, {LABELS[lead]} explains "
            f"{_pct(s['share'])}%{ci} of the gain from {_fmt(attr['score_from'], metric)} to "
            f"{_fmt(attr['score_to'], metric)} {metric}")
    others = [p for p in attr["players"] if p != lead]
    if others:
        text += " (" + ", ".join(f"{LABELS[p]}: {_pct(shares[p]['share'])}%" + (
            "" if missing else f" [{_pct(shares[p]['ci_low'])}, {_pct(shares[p]['ci_high'])}]") for p in others) + ")"
    best = attr["best_model"]
    if best == baseline:
        if fewer_conditions(entry):
            return text + (f"; no model run under every data condition beats {baseline} at n={attr['large_size']} "
                           "(the rungs run under fewer enter the decision above).")
        return text + f"; no model in the study beats {baseline} at n={attr['large_size']}."
    row = upgrade_row(entry, best)
    if row is None:
        return text + (f"; {best} beats {baseline}, but the curves are too short (fewer than 3 sizes) "
                       "to price the upgrade in data.")
    # measured on the curves, a bound in words past them (equivalence.headline)
    return text + "; " + headline(entry["equivalence"], best, (entry.get("decision") or {}).get("n_now")) + "."


def _clean(obj):
    """JSON-safe: numpy scalars to Python, NaN/inf to null, floats to 6 significant digits."""
    kind = type(obj)
    if kind is float:  # most of a summary's values: the fast path first
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    if kind is str or kind is int or obj is None:
        return obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return float(f"{v:.6g}") if math.isfinite(v) else None
    return obj


def to_json(summary: dict) -> str:
    """Indented JSON with one line per table row: readable, diff-friendly and fast (rows use the C encoder)."""
    compact = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

    def encode(obj, depth: int) -> str:
        pad, inner = " " * depth, " " * (depth + 1)
        if isinstance(obj, dict) and obj:
            items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {encode(obj[k], depth + 1)}" for k in sorted(obj)]
            return "{\n" + ",\n".join(items) + f"\n{pad}}}"
        if isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
            return "[\n" + ",\n".join(inner + compact.encode(v) for v in obj) + f"\n{pad}]"
        return compact.encode(obj)

    return encode(summary, 0) + "\n"


def schema() -> dict:
    """The JSON schema of summary.json, kept in the package."""
    return json.loads(resources.files("mvd.report").joinpath("summary.schema.json").read_text())
