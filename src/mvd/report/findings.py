"""A study's findings as one table row per dataset, read from its summary.json.

The README's "What we found" table is this table for the atlas, pasted as
printed by ``mvd-report STUDY --findings``; a test rebuilds it from the
committed summary.json, so the two cannot drift apart.  Every cell is a
number the report already computed: nothing here re-fits or re-decides.
"""

from __future__ import annotations

import math

from mvd.levers import ANSWER, condition_label
from mvd.report.attribution import fewer_conditions
from mvd.report.decision import _signed
from mvd.report.equivalence import cell
from mvd.report.summary import _pct, upgrade_row

__all__ = ["rows", "table", "COLUMNS"]

COLUMNS = ("dataset", "task", "n", "decision at the operating point", "best model vs the baseline, in data",
           "shares of the gain", "tuning changed the answer?", "backtest")


def _gain(lever: dict, unit: str) -> str:
    digits = 1 if unit == "points" else 3
    ci = ("" if lever["ci_low"] is None or not math.isfinite(lever["ci_low"]) else
          f" [{lever['ci_low']:.{digits}f}, {lever['ci_high']:.{digits}f}]".replace("-", "−"))
    return f"{_signed(lever['gain'], digits)}{ci}" + (", extrapolated" if lever["extrapolated"] else "")


def _decision(entry: dict) -> str:
    d = entry["decision"]
    if not d or d["chosen"] is None:
        return "no lever measured"
    levers = {lv["lever"]: lv for lv in d["levers"]}
    state = "settled" if d["settled"] else "open"
    against = [answer for answer, lead in (d.get("settled_against") or {}).items() if not lead["settled"]]
    if against:
        state += f" against {', '.join(against)}"
    ties = f"; ties {' and '.join(d['ties'])}" if d.get("ties") else ""
    out = f"{d['chosen']} ({_gain(levers[d['chosen']], d['unit'])}{ties}; {state})"
    if d["cheapest"] and d["cheapest"] != d["chosen"]:
        out += f"; cheapest per point: {d['cheapest']}"
    data = d["data"]
    return f"n = {d['n_now']:,.0f}, {condition_label((data['quality'], data['quality_rate'], data['cleaning']))}: {out}"


def _upgrade(entry: dict) -> str:
    attr = entry["attribution"]
    best = attr.get("best_model") if attr else None
    if best is None:
        return "–"
    baseline = attr["baseline"]  # the dataset's own, when the study mixes tasks
    if best == baseline:
        return f"none run under every condition beats {baseline}" if fewer_conditions(entry) else f"none beats {baseline}"
    if upgrade_row(entry, best) is None:
        return f"{best}: too few sizes to price"
    # measured on the curves, a bound in words past them
    return f"{best}: " + cell(entry["equivalence"], best, (entry.get("decision") or {}).get("n_now"))


def _shares(entry: dict) -> str:
    attr = entry["attribution"]
    if not attr or not attr["gain"] > 0:
        return "–"
    parts = []
    for p in attr["players"]:
        s = attr["shares"][p]
        ci = "" if s["ci_low"] is None or not math.isfinite(s["ci_low"]) else f" [{_pct(s['ci_low'])}, {_pct(s['ci_high'])}]"
        q = attr["reference_quality"]  # one corruption kind at one rate: named, so datasets compare
        name = f"quality ({q['quality']} {q['quality_rate']:g})" if p == "quality" else p
        parts.append(f"{name} {_pct(s['share'])}%{ci}")
    return ", ".join(parts) + f" (n {attr['small_size']:,}→{attr['large_size']:,})"


def _tuning(entry: dict) -> str:
    d = entry["decision"]
    if not d or d.get("without_tuning") is None:
        return "not tuned"
    if d["without_tuning"] == d["chosen"]:
        return "no"
    if d["without_tuning"] in (d.get("ties") or []):
        return f"no (a tie: {d['without_tuning']} gains as much)"
    # a model lever's other version (tuned or default) carries its kind
    kinds = {lv["lever"]: lv["kind"] for lv in d["levers"]}
    kinds.update({lv["alternative"]["lever"]: lv["kind"] for lv in d["levers"] if lv.get("alternative")})
    same = ANSWER[kinds[d["chosen"]]] == ANSWER[kinds[d["without_tuning"]]]
    return f"{'the model only' if same else 'yes'} (default rungs: {d['without_tuning']})"


def _backtest(entry: dict) -> str:
    bt = entry.get("backtest") or {}
    trials = (bt.get("decisions") or {}).get("trials") or []
    if not trials:
        return "none" + (f": {bt['note']}" if bt.get("note") else "")
    return f"{sum(t['hit'] for t in trials)}/{len(trials)}"


def rows(summary: dict) -> list[dict]:
    """One row per dataset, keyed by ``COLUMNS``, in the summary's dataset order."""
    out = []
    for name, entry in summary["datasets"].items():
        sizes = [c["train_size"] for c in entry["curves"]]
        out.append(dict(zip(COLUMNS, (
            name, f"{entry['task']} ({entry['metric']})", f"{min(sizes):,}–{max(sizes):,}", _decision(entry),
            _upgrade(entry), _shares(entry), _tuning(entry), _backtest(entry)))))
    return out


def table(summary: dict) -> str:
    """The rows as a Markdown table (pipes inside cells escaped)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows(summary):
        lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"
