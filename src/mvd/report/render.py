"""report.md and a self-contained report.html from one list of blocks.

Both formats are rendered from the same blocks (heading, paragraph, list,
table, figure), so they never disagree.  The HTML embeds its figures as
base64 PNG and needs no network, no script and no external stylesheet.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from mvd.report.study import LOWER_IS_BETTER
from mvd.report import cardinality, objectives
from mvd.report.attribution import LABELS
from mvd.report.lead import order as lead_order
from mvd.report.shift import blocks as shift_blocks
from mvd.report.pretraining import blocks as pretraining_blocks

__all__ = ["blocks", "to_markdown", "to_html"]

TITLES = {
    "decision": "What the next unit of effort buys at the operating point (gain, 95% CI)",
    "learning_curves": "Learning curves (one panel per dataset)",
    "heatmap": "Model x training size",
    "quality": "Quality degradation",
    "attribution": "Attribution of the gain over the measured range",
    "attribution_range": "Shapley shares of the gain as a function of where the range starts",
    "iso_performance": "Data needed per model to reach the target",
    "objective_front": "Each lever's gain against the inference cost it adds (the Pareto front joined)",
}
_MAX_SIZES = 8  # columns of the equivalence table in the report (all of them are in summary.json)


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "0" if abs(v) < 1e-9 else f"{v:.{digits}g}"
    return str(v)


def _money(v, currency: str) -> str:
    return "–" if v is None else f"{v:,.2f} {currency}"


def _condition(row) -> str:
    q = "clean" if row["quality_rate"] == 0 else f"{row['quality']} {row['quality_rate']:g}"
    return q if row["cleaning"] == "none" else f"{q} +{row['cleaning']}"


def _spread(sizes: list[int]) -> list[int]:
    if len(sizes) <= _MAX_SIZES:
        return sizes
    step = (len(sizes) - 1) / (_MAX_SIZES - 1)
    return sorted({sizes[round(i * step)] for i in range(_MAX_SIZES)})


def blocks(summary: dict, figures: dict) -> list[tuple]:
    """The report as (kind, ...) blocks in reading order."""
    b = summary["business"]
    currency = b["currency"]
    out: list[tuple] = [("h1", f"mvd report: {summary['study']}")]
    out += cardinality.opening(summary)  # a study across numbers of classes opens with how the answer moves
    # the decision comes first, as one action per dataset, the biggest gain first (the full sentence is in the
    # dataset's section)
    out.append(("ul", [summary["datasets"][name]["lead"] for name in lead_order(summary["datasets"])]))
    if summary.get("objective"):
        o = summary["objective"]
        out.append(("p", f"Objective: {o['text']}, remade from the stored points without refitting"
                         + (f"; left out: {'; '.join(o['notes'])}." if o["notes"] else ".")))
    if summary["question"]:
        out.append(("quote", summary["question"]))
    out.append(("p", f"{summary['n_points']:,} points over {len(summary['datasets'])} dataset(s). Baseline model "
                     f"for data-equivalents: {summary['baseline']}. Intervals: 95%, Student's t over the seeds "
                     f"(statistics computed on {summary['bootstrap']['resamples']} seeded seed resamples)."))
    covers = [f"{name}: {ds['interval_covers']['phrase']}" for name, ds in summary["datasets"].items()
              if ds.get("interval_covers")]
    if covers:
        out.append(("p", "Sources of variance: " + "; ".join(covers) + "."))
    clipped = [f"{name}: {lv['lever']}" for name, ds in summary["datasets"].items()
               for lv in ds["decision"]["levers"] if lv.get("clipped")]
    clipped += [f"{name}: {ds['interval_covers']['cells_clipped']} per-size interval(s) of the curves"
                for name, ds in summary["datasets"].items() if (ds.get("interval_covers") or {}).get("cells_clipped")]
    if clipped:
        out.append(("p", "Held inside the metric's range (no score above 100% or below 0, R² at most 1, an error "
                         "at least 0), so these intervals are clipped: " + "; ".join(clipped) + "."))
    fewest = min(len(ds["seeds"]) for ds in summary["datasets"].values())
    if fewest < 5:
        out.append(("p", f"Caution: {fewest} seed(s) per point. Intervals over so few seeds are wide (Student's t "
                         "with few degrees of freedom) or missing (one seed); add seeds (curve.seeds) to narrow them."))
    out.append(("h2", "Verdict"))
    out.append(("ul", summary["verdict"]))
    for pooled in (summary.get("backtest") or {}).values():  # how often such advice was right, per unit
        out.append(("p", pooled["sentence"]))
    if summary.get("shift"):  # the shift section's answer per dataset: relabel, collect, or upgrade
        out.append(("ul", [s["headline"] for s in summary["shift"].values()]))
    if b["notes"]:
        out.append(("ul", [f"Note: {n}" for n in b["notes"]]))
    out.append(("h2", "Figures"))
    for name in figures:
        out.append(("figure", name, TITLES[name]))
    for name, ds in summary["datasets"].items():
        out.append(("h2", f"Dataset: {name}"))
        metric = ds["metric"]
        err = metric if metric in LOWER_IS_BETTER else f"1 - {metric}"
        out.append(("p", f"{ds['task']}, primary metric {metric}; {ds['n_points']:,} points, seeds {ds['seeds']}."))
        if ds.get("unseen"):
            out.append(("p", cardinality.unseen_sentence(ds["unseen"], ds["decision"].get("n_now"))))
        out += _decision_blocks(ds, currency)
        if ds.get("objectives"):
            out += objectives.blocks(ds["objectives"], metric)
        out.append(("h3", "Curve fits"))
        out.append(("p", f"err(n) = a·n^(-b) + c with err = {err}; weighted by the standard errors over seeds. "
                         "Shapes in LCDB's vocabulary; a fit with R² below 0.9 is not trusted."))
        out.append(("table", ["model", "data", "a", "b", "c (floor)", "R²", "shape", "sizes"],
                    [[f["model"], _condition(f), _num(f["a"]), _num(f["b"]), _num(f["c"]), _num(f["r2"]),
                      f["shape"] + ("" if f["convex"] else ", non-convex"), f"{f['n_min']}–{f['n_max']} ({f['n_sizes']})"]
                     for f in ds["fits"]]))
        eq = ds["equivalence"]
        if eq:
            out.append(("h3", f"Data-equivalent value of each model (vs {summary['baseline']})"))
            out.append(("p", f"How many times more data {summary['baseline']} needs to match a model at size n; "
                             "read off the baseline's measured curve (its running best, interpolated in log n); ≥ or ≤: "
                             "past its measured sizes (bound shown); never: its fit (R² >= 0.9) levels off above."))
            # clean data and the noisiest data of the attribution; every condition is in summary.json
            shown = {_condition(ds["iso_performance"])}
            if ds["attribution"]:
                shown.add(_condition(ds["attribution"]["reference_quality"]))
            conds = sorted({_condition(r) for r in eq} & shown)
            for cond in conds:
                rows = [r for r in eq if _condition(r) == cond]
                sizes = _spread(sorted({r["train_size"] for r in rows}))
                models = [m["model"] for m in ds["models"] if any(r["model"] == m["model"] for r in rows)]
                cell = {(r["model"], r["train_size"]): r["display"] for r in rows}
                title = [f"model ({cond})"] + [f"n={n}" for n in sizes]
                out.append(("table", title, [[m] + [cell.get((m, n), "") for n in sizes] for m in models]))
        out += pretraining_blocks(ds.get("pretraining") or [])
        attr = ds["attribution"]
        if attr:
            out.append(("h3", f"Attribution over n = {attr['small_size']:,} -> {attr['large_size']:,} (Shapley values)"))
            if attr.get("start_rule"):  # where the range starts and which data the quality player is
                out.append(("p", f"The range starts {attr['start_rule']}. Quality player: {attr['quality_rule']}."))
            q = attr["reference_quality"]
            ref = "clean data" if q["quality_rate"] == 0 else f"{q['quality']} {q['quality_rate']:g}"
            if attr.get("by_start"):
                mind = [b for b in attr["by_start"] if b["shares"].get("mind") is not None]
                if len(mind) >= 2:
                    out.append(("p", "The split depends on the range as much as on the task: from n = "
                                     f"{mind[0]['start']:,} the model upgrade's share is {_pct(mind[0]['shares']['mind'])}, "
                                     f"from n = {mind[-1]['start']:,} it is {_pct(mind[-1]['shares']['mind'])} "
                                     "(figure: share by start). The decision above, at the operating point, is the "
                                     "answer to act on."))
            out.append(("p", f"From ({attr['baseline']}, n={attr['small_size']}, {ref}): {metric} "
                             f"{attr['score_from']:.3g} to ({attr['best_model']}, n={attr['large_size']}, clean data): "
                             f"{attr['score_to']:.3g}; {attr['gain_positive']:.0%} of seed resamples show a gain."))
            out.append(("table", ["lever", "gain (error removed)", "share", "95% CI"],
                        [[LABELS[p], _num(attr["shares"][p]["value"]), _pct(attr["shares"][p]["share"]),
                          f"[{_pct(attr['shares'][p]['ci_low'])}, {_pct(attr['shares'][p]['ci_high'])}]"]
                         for p in attr["players"]]))
        bz = ds["business"]
        if bz["routes"]:
            out.append(("h3", "Business view"))
            start = bz["start"]
            out.append(("p", f"Cheapest route to {metric} {bz['target']:.4g} ({bz['target_source']}) from "
                             f"{start['model']} on {_condition(start)} at the largest measured size; labels at "
                             f"{b['cost_per_label']:g} {currency}, compute at {b['cost_per_compute_hour']:g} {currency}/h."))
            out.append(("table", ["route", "model", "data", "examples needed", "new labels", "labels cost",
                                  "compute h", "total", ""],
                        [[r["route"], r["model"], _condition(r),
                          ("never" if r["relation"] == "never" else
                           f"{'≥ ' if r['relation'] == '>=' else ''}{r['n_needed']:,.0f}"),
                          _num(r["new_labels"], 6), _money(r["label_cost"], currency), _num(r["compute_hours"], 2),
                          _money(r["total_cost"], currency), "cheapest" if r["cheapest"] else ""]
                         for r in bz["routes"]]))
            largest = {}
            for v in bz["value_per_1000"]:
                if v["quality_rate"] == start["quality_rate"] and v["cleaning"] == start["cleaning"]:
                    if v["train_size"] >= largest.get(v["model"], {"train_size": -1})["train_size"]:
                        largest[v["model"]] = v
            out.append(("table", ["model", "at n", f"value per 1,000 decisions ({currency})", "95% CI"],
                        [[m, str(v["train_size"]), _money(v["value"], currency),
                          f"[{_num(v['ci_low'], 4)}, {_num(v['ci_high'], 4)}]"] for m, v in sorted(largest.items())]))
    out += cardinality.blocks(summary)
    out += shift_blocks(summary.get("shift") or {})
    out.append(("p", "All numbers, including every point's value per 1,000 decisions and the full equivalence "
                     "table, are in summary.json. Rebuild with: mvd-report STUDY_DIR."))
    return out


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _ci(lo, hi, digits: int = 1) -> str:
    return "–" if lo is None or hi is None else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _settled_blocks(d: dict, digits: int) -> list[tuple]:
    """Whether the chosen lever is settled: its lead over the best lever of each other kind of answer, and the
    levers it ties."""
    against = d.get("settled_against") or {}
    if not d.get("chosen") or not against:
        return []
    unit = d["unit"]
    tol = d.get("tie_tolerance") or 0.0
    size = (f"one test example of {d['n_test']:,.0f}" if d.get("n_test") else "float precision")
    text = (f"{d['chosen']} is {'settled' if d['settled'] else 'open'}: settled means its lead over the best lever "
            f"of every other kind of answer (a better model, more data, cleaner data, target data, both) is at "
            f"least {size} ({tol:.{max(digits, 2)}g} {unit}) and its 95% interval excludes 0; a runner-up of its "
            f"own kind does not unsettle it.")
    if d.get("ties"):
        text += f" It ties {' and '.join(d['ties'])}: gains closer than {size} are not told apart."
    rows = [[answer, lead["lever"], f"{lead['advantage']:+.{digits}f}", _ci(lead["ci_low"], lead["ci_high"], digits),
             "yes" if lead["settled"] else "no"] for answer, lead in against.items()]
    return [("p", text), ("table", ["other kind", "its best lever", f"lead ({unit})", "95% CI", "settled"], rows)]


def _widths(widths: dict | None, digits: int, unit: str) -> str:
    """' Median widths: 80% 3.2, 95% 6.8 points.' where the backtest measured them, else ''."""
    if not widths or any(widths.get(k) is None for k in ("80", "95")):
        return ""
    return f" Median widths: 80% {widths['80']:.{digits}f}, 95% {widths['95']:.{digits}f} {unit}."


def _decision_blocks(ds: dict, currency: str) -> list[tuple]:
    """The operating-point decision, its backtest, the exponent test and ranking flips of one dataset."""
    d = ds["decision"]
    digits = 1 if d["unit"] == "points" else 3
    unit = d["unit"]
    out = [("h3", f"Decision at n = {d['n_now']:,.0f} ({d['model']}, {_condition(d['data'])} data)"),
           ("p", d["sentence"])]
    if ds.get("also_measured"):
        out.append(("p", ds["also_measured"]))
    out.append(("p", f"Gains in {unit} of {d['metric']} from {d['model']} at n = {d['n_now']:,.0f} "
                     f"({d['metric']} {d['score_now']:.4g}); intervals pair the same seed resamples across levers; "
                     "sizes that were not measured are interpolated by the curve family its backtest chose; beyond "
                     "the measured sizes a rate is forecast by the gain model (the next doubling's gain learned from "
                     "the last doublings' gains on real curves; 'flat' where they were within their seed noise), "
                     "other errors by half the last doubling's gain. "
                     "Cost: new labels, cleaning per row and compute "
                     "(training and tuning time) in the business config's prices."))
    rows = []
    for lv in sorted(d["levers"], key=lambda r: -r["gain"]):
        per = "–" if not lv["gain"] or lv["gain"] <= 0 or lv["cost"] is None else (
            "free" if lv["cost"] == 0 else f"{lv['cost'] / lv['gain']:.3g}")
        alt = lv.get("alternative")
        name = lv["lever"] if not alt else f"{lv['lever']} ({alt['model']}: {alt['gain']:+.{digits}f})"
        rows.append([name, f"{lv['gain']:+.{digits}f}", _ci(lv["ci_low"], lv["ci_high"], digits),
                     ("yes, " + str(lv["family"])) if lv["extrapolated"] else ("fitted, " + lv["family"]
                                                                               if lv["family"] else "measured"),
                     _num(lv["new_labels"], 6), _money(lv["cost"], currency), per,
                     "–" if lv["value_per_1000"] is None else _money(lv["value_per_1000"], currency)])
    out.append(("table", ["lever", f"gain ({unit})", "95% CI", "extrapolated", "new labels", "cost",
                          f"{currency} per {unit.rstrip('s')}", "value per 1,000 decisions"], rows))
    out += _settled_blocks(d, digits)
    bt = ds["backtest"]
    out.append(("h3", "Backtest on this study's own data"))
    hidden, cover = bt["decisions"], bt["intervals"]
    if hidden:
        hits = sum(t["hit"] for t in hidden["trials"])
        out.append(("p", f"Hiding every size above n and deciding at n, the chosen lever was the one that actually won "
                         f"{hits} of {len(hidden['trials'])} times (hit rate {hidden['hit_rate']:.0%}); mean regret "
                         f"{hidden['mean_regret']:.{digits}f} {unit}."))
        if hidden.get("rules"):
            from mvd.report.backtest import describe as describe_backtest

            out.append(("p", describe_backtest(hidden, digits)))
        out.append(("table", ["decided at n", "chosen", "actual winner", "predicted gain", "actual gain", "regret"],
                    [[str(t["n"]), t["chosen"], t["winner"], f"{t['predicted_gain']:+.{digits}f}",
                      f"{t['actual_gain']:+.{digits}f}", f"{t['regret']:.{digits}f}"] for t in hidden["trials"]]))
    if cover:
        fams = ", ".join(f"{k} {v}" for k, v in cover["families"].items())
        out.append(("p", f"Extrapolation intervals, fitted on the sizes up to n_max/2 of each curve and checked on the "
                         f"{cover['held_out']} held-out means: the 80% intervals held {_pct(cover['coverage']['80'])} "
                         f"and the 95% intervals {_pct(cover['coverage']['95'])} of them (families chosen: {fams})."
                         + _widths(cover.get("median_width"), digits, unit)))
    if bt["note"]:
        out.append(("p", f"Backtest: {bt['note']}."))
    if ds["exponent"]:
        out.append(("h3", "Does the better model change the exponent?"))
        out.append(("p", ds["exponent"]["sentence"]))
    if ds["ranking_flips"]:
        out.append(("h3", "Ranking flips under label noise"))
        out.append(("table", ["clean winner", "challenger", "at n", "flip at noise rate", "95% CI",
                              "resamples that flip"],
                    [[f["model"], f["challenger"], str(f["train_size"]),
                      "no flip" if f["flip_rate"] is None else f"{f['flip_rate']:.3f}",
                      "–" if f["flip_rate"] is None else _ci(f["ci_low"], f["ci_high"], 3),
                      _pct(f["resamples_flipping"])] for f in ds["ranking_flips"]]))
    return out


def to_markdown(items: list[tuple], figures: dict, base: Path) -> str:
    lines = []
    for kind, *rest in items:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + rest[0], ""]
        elif kind == "quote":
            lines += [f"> {rest[0]}", ""]
        elif kind == "p":
            lines += [rest[0], ""]
        elif kind == "ul":
            lines += [f"- {x}" for x in rest[0]] + [""]
        elif kind == "table":
            header, rows = rest
            cells = lambda r: "| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |"  # noqa: E731
            lines += [cells(header), "|" + "---|" * len(header)] + [cells(r) for r in rows] + [""]
        elif kind == "figure":
            name, title = rest
            rel = figures[name]["png"].relative_to(base).as_posix()
            lines += [f"![{title}]({rel})", "", f"*{title}* ([SVG]({figures[name]['svg'].relative_to(base).as_posix()}))", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
blockquote{color:#555;border-left:4px solid #ddd;margin:0;padding-left:1em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
"""


def to_html(items: list[tuple], figures: dict, title: str) -> str:
    e = html.escape
    body = []
    for kind, *rest in items:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{e(rest[0])}</{kind}>")
        elif kind == "quote":
            body.append(f"<blockquote>{e(rest[0])}</blockquote>")
        elif kind == "p":
            body.append(f"<p>{e(rest[0])}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in rest[0]) + "</ul>")
        elif kind == "table":
            header, rows = rest
            head = "".join(f"<th>{e(str(h))}</th>" for h in header)
            trs = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
        elif kind == "figure":
            name, caption = rest
            data = base64.b64encode(figures[name]["png"].read_bytes()).decode("ascii")
            body.append(f'<figure id="fig-{name}"><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{e(caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
