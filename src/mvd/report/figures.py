"""The report's figures, drawn from the analysis with matplotlib (Agg), saved as PNG and SVG.

Each function returns a Figure or None when the study has nothing to show
(no quality axis, no attribution); ``draw_all`` saves what exists.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

from mvd.levers import TUNED_SUFFIX, plain_model  # noqa: E402
from mvd.report.fits import FIT_OK_R2, power_law  # noqa: E402
from mvd.report.workers import fork_map  # noqa: E402

__all__ = ["draw_all", "FIGURES"]

FIGURES = ("decision", "learning_curves", "heatmap", "quality", "attribution", "attribution_range", "iso_performance",
           "objective_front")
PLAYER_COLORS = {"mind": "#4C72B0", "quantity": "#DD8452", "quality": "#55A868"}
# deterministic files: no dates or random ids in the SVG/PNG metadata
_SVG_META = {"Date": None, "Creator": None}
_PNG_META = {"Software": None}
plt.rcParams.update({"svg.hashsalt": "mvd", "svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                     "axes.spines.right": False, "legend.frameon": False, "figure.dpi": 110})


def _grid(k: int, width: float = 4.6, height: float = 3.4):
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:k])


def _colors(models: list[str]) -> dict:
    """A colour per model: tab10's, or beyond ten models tab20's ten dark hues first and then their light pairs
    (in tab20's own order neighbours on the ladder would get two shades of one hue)."""
    if len(models) <= 10:
        return {m: plt.get_cmap("tab10")(i) for i, m in enumerate(models)}
    cmap = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    return {m: cmap(order[i % 20]) for i, m in enumerate(models)}


def _size_axis(ax):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())  # minor ticks on log axes cost most of a figure's time
    ax.set_xlabel("training size (log scale)")
    ax.grid(True, which="major", alpha=0.25)


def _main_condition(ds: dict) -> tuple:
    """The headline data condition (clean and uncleaned when the study has it), as the summary chose it."""
    iso = ds["iso_performance"]
    return iso["quality"], iso["quality_rate"], iso["cleaning"]


def _models(summary_ds):
    return [m["model"] for m in summary_ds["models"]]


def decision(analysis):
    """Per dataset, the gain of every lever at the operating point with its interval; hatched: extrapolated."""
    s = analysis.summary["datasets"]
    names = [n for n, ds in s.items() if ds["decision"]["levers"]]
    if not names:
        return None
    heights = [len(s[n]["decision"]["levers"]) for n in names]
    fig, axes = plt.subplots(len(names), 1, figsize=(7.8, sum(0.32 * h + 0.9 for h in heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, name in zip(axes[:, 0], names):
        d = s[name]["decision"]
        levers = sorted(d["levers"], key=lambda lv: lv["gain"])
        y = np.arange(len(levers))
        for i, lv in enumerate(levers):
            lo = lv["ci_low"] if lv["ci_low"] is not None else lv["gain"]
            hi = lv["ci_high"] if lv["ci_high"] is not None else lv["gain"]
            color = {"labels": "#DD8452", "step": "#DD8452", "model": "#4C72B0", "tune": "#4C72B0",
                     "cleaning": "#55A868", "relabel": "#55A868", "target": "#55A868", "combined": "#8172B3"}[lv["kind"]]
            ax.barh(i, lv["gain"], color=color, height=0.6, hatch="//" if lv["extrapolated"] else None,
                    edgecolor="white" if lv["extrapolated"] else color,
                    xerr=[[max(lv["gain"] - lo, 0)], [max(hi - lv["gain"], 0)]], capsize=2, error_kw={"lw": 0.8})
        ax.set_yticks(y, [lv["lever"] for lv in levers], fontsize=7.5)
        ax.axvline(0, color="black", lw=0.6)
        ax.grid(True, axis="x", alpha=0.25)
        unit = d["unit"]
        ax.set_xlabel(f"gain in {unit} of {d['metric']} (hatched: extrapolated)")
        where = "clean" if d["data"]["quality_rate"] == 0 else f"{d['data']['quality']} {d['data']['quality_rate']:g}"
        if d["data"]["cleaning"] != "none":
            where += f" +{d['data']['cleaning']}"
        # right-aligned: with long lever labels the title grows left, over them, not off the figure
        ax.set_title(f"{name}: from {d['model']} at n = {d['n_now']:,.0f} ({where})", loc="right")
    fig.tight_layout()
    return fig


def attribution_range(analysis):
    """Each lever's Shapley share as a function of where the range starts (it always ends at the largest size)."""
    s = analysis.summary["datasets"]
    rows = [(n, ds["attribution"]) for n, ds in s.items() if ds["attribution"] and len(ds["attribution"]["by_start"]) >= 2]
    if not rows:
        return None
    fig, axes = _grid(len(rows))
    for ax, (name, attr) in zip(axes, rows):
        starts = [b["start"] for b in attr["by_start"]]
        for p in attr["players"]:
            shares = [np.nan if b["shares"].get(p) is None else 100 * b["shares"][p] for b in attr["by_start"]]
            ax.plot(starts, shares, "o-", ms=3, lw=1.4, color=PLAYER_COLORS[p], label=p)
        _size_axis(ax)
        ax.set_xlabel(f"start of the range (it ends at n = {attr['large_size']:,}; log scale)")
        ax.set_ylabel("share of the gain (%)")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{name}: Shapley shares by the range's start")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def learning_curves(analysis):
    """Every dataset's curves on its main condition; one colour per model across the panels (a tuned curve in its
    model's colour, square markers), one legend below the panels naming every curve (datasets of other
    modalities run other ladders)."""
    s = analysis.summary["datasets"]
    fig, axes = _grid(len(s))
    names = list(dict.fromkeys(m for ds in s.values() for m in _models(ds)))
    colors = _colors(list(dict.fromkeys(plain_model(m) for m in names)))
    for ax, (name, ds) in zip(axes, s.items()):
        cond = _main_condition(ds)
        higher = ds["higher_is_better"]
        for model in _models(ds):
            c = analysis.curves.get((name, model) + cond)
            if c is None:
                continue
            color = colors[plain_model(model)]
            rows = [r for r in ds["curves"] if r["model"] == model and (r["quality"], r["quality_rate"], r["cleaning"]) == cond]
            lo = np.array([np.nan if r["ci_low"] is None else r["ci_low"] for r in rows], dtype=float)
            hi = np.array([np.nan if r["ci_high"] is None else r["ci_high"] for r in rows], dtype=float)
            ax.plot(c.n, c.score, "s-" if model.endswith(TUNED_SUFFIX) else "o-", ms=3, lw=1.4, color=color, label=model)
            if np.isfinite(lo).any():
                ax.fill_between(c.n, np.where(np.isfinite(lo), lo, c.score), np.where(np.isfinite(hi), hi, c.score),
                                color=color, alpha=0.18, lw=0)
            if c.fit is not None and (c.fit["r2"] or 0) >= FIT_OK_R2:
                grid = np.geomspace(c.n.min(), c.n.max(), 80)
                err = power_law(grid, c.fit["a"], c.fit["b"], c.fit["c"])
                ax.plot(grid, 1 - err if higher else err, "--", lw=0.9, color=color, alpha=0.8)
        _size_axis(ax)
        ax.set_ylabel(ds["metric"] + ("" if higher else " (lower is better)"))
        label = "clean" if cond[1] == 0 else f"{cond[0]} {cond[1]:g}"
        ax.set_title(f"{name} ({label}; mean, 95% CI; dashed: fit, R² ≥ {FIT_OK_R2})")
    handles = {h.get_label(): h for ax in axes for h in ax.get_legend_handles_labels()[0]}
    columns = min(len(handles), 6)
    below = 0.22 * math.ceil(len(handles) / max(columns, 1)) + 0.2   # inches the legend takes
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=columns, fontsize=8)
    fig.tight_layout(rect=(0, below / fig.get_figheight(), 1, 1))
    return fig


def heatmap(analysis):
    s = analysis.summary["datasets"]
    fig, axes = _grid(len(s), width=5.6, height=3.2)
    for ax, (name, ds) in zip(axes, s.items()):
        cond = _main_condition(ds)
        models = [m for m in _models(ds) if (name, m) + cond in analysis.curves]
        sizes = sorted({int(n) for m in models for n in analysis.curves[(name, m) + cond].n})
        table = np.full((len(models), len(sizes)), np.nan)
        for i, m in enumerate(models):
            c = analysis.curves[(name, m) + cond]
            for n, v in zip(c.n, c.score):
                table[i, sizes.index(int(n))] = v
        cmap = "viridis" if ds["higher_is_better"] else "viridis_r"
        im = ax.imshow(table, aspect="auto", cmap=cmap)
        ax.set_yticks(range(len(models)), models)
        step = max(1, len(sizes) // 10)
        ax.set_xticks(range(0, len(sizes), step), [str(n) for n in sizes[::step]], rotation=45)
        ax.set_xlabel("training size")
        if len(models) * len(sizes) <= 160:
            vmin, vmax = np.nanmin(table), np.nanmax(table)
            for (i, j), v in np.ndenumerate(table):
                if np.isfinite(v):
                    dark = (v - vmin) / (vmax - vmin + 1e-12) < 0.55
                    dark = dark if ds["higher_is_better"] else not dark
                    ax.text(j, i, f"{v:.2f}" if abs(v) < 10 else f"{v:.3g}", ha="center", va="center",
                            fontsize=6.5, color="white" if dark else "black")
        fig.colorbar(im, ax=ax, label=ds["metric"], fraction=0.046)
        ax.set_title(f"{name}: model x size")
        ax.spines[:].set_visible(False)
    fig.tight_layout()
    return fig


def quality(analysis):
    s = analysis.summary["datasets"]
    varying = [n for n in s if len({c.condition for c in analysis.curves.values() if c.dataset == n}) > 1]
    if not varying:
        return None
    fig, axes = _grid(len(varying))
    for ax, name in zip(axes, varying):
        ds = s[name]
        colors = _colors(_models(ds))
        mine = [c for c in analysis.curves.values() if c.dataset == name]
        styles = {}
        kinds_here = sorted({c.condition[0] for c in mine if c.condition[1] > 0})
        markers = {k: "osD^v<>p*h"[i % 10] for i, k in enumerate(kinds_here)}
        for model in _models(ds):
            series = {}
            for c in mine:
                if c.model != model:
                    continue
                kind = c.condition[0] if c.condition[1] > 0 else None
                series.setdefault((c.condition[2],), []).append((c.condition[1], kind, c))
            for (cleaning,), items in sorted(series.items()):
                kinds = sorted({k for _, k, _ in items if k}) or [None]
                for kind in kinds:
                    # one curve per rate: the kind's own before a clean one (several kinds share rate 0)
                    by_rate = {}
                    for r, k, c in sorted(items, key=lambda t: (t[0], t[1] is None)):
                        if k in (kind, None):
                            by_rate.setdefault(r, c)
                    pts = sorted(by_rate.items(), key=lambda p: p[0])
                    if len(pts) < 2:
                        continue
                    n = min(int(c.n.max()) for _, c in pts)
                    xs = [r for r, _ in pts]
                    ys = [c.score[np.searchsorted(c.n, n)] if n in c.n else np.nan for _, c in pts]
                    # uncleaned data solid, the oracle (upper bound) dotted, other cleanings dashed
                    style = styles.setdefault((kind, cleaning), "-" if cleaning == "none" else ":" if
                                              cleaning == "oracle" else ["--", "-."][len(styles) % 2])
                    tag = "" if cleaning == "none" else f" +{cleaning}"
                    several = len({c.condition[0] for c in mine if c.condition[1] > 0}) > 1
                    ax.plot(xs, ys, style, marker=markers.get(kind, "o"), ms=3.5, color=colors[model],
                            label=f"{model}{' ' + kind if several and kind else ''}{tag}")
        ax.set_xlabel("corruption or shift rate of the training data")
        ax.set_ylabel(f"{ds['metric']} at the largest shared size")
        ax.set_title(f"{name}: quality degradation")
        ax.grid(True, alpha=0.25)
        if not ax.lines:  # a sparse study: no condition measured at two rates
            ax.text(0.5, 0.5, "no condition measured at two rates", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8, color="0.4")
            continue
        # below the panel: with several kinds the legend is as tall as the data
        ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.24), frameon=False)
    fig.tight_layout()
    return fig


def attribution(analysis):
    s = analysis.summary["datasets"]
    rows = [(name, ds["attribution"]) for name, ds in s.items() if ds["attribution"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.9 * len(rows) * 1.2))
    y, ticks, labels = 0.0, [], []
    for name, attr in rows:
        players = attr["players"]
        for i, p in enumerate(players):
            sh = attr["shares"][p]
            value = sh["share"] if sh["share"] is not None else np.nan
            lo = value - sh["ci_low"] if sh["ci_low"] is not None else 0
            hi = sh["ci_high"] - value if sh["ci_high"] is not None else 0
            ax.barh(y + i * 0.3, value * 100, height=0.28, color=PLAYER_COLORS[p],
                    xerr=[[max(lo, 0) * 100], [max(hi, 0) * 100]], capsize=2, error_kw={"lw": 0.8},
                    label=p if name == rows[0][0] else None)
            end = max(value, sh["ci_high"] if sh["ci_high"] is not None else value, 0)
            ax.text(end * 100 + 2, y + i * 0.3, f"{value:.0%}", va="center", fontsize=7)
        ticks.append(y + 0.3 * (len(players) - 1) / 2)
        metric = attr["metric"]
        labels.append(f"{name}\n{attr['score_from']:.3g} → {attr['score_to']:.3g} {metric}")
        y += 0.3 * len(players) + 0.5
    ax.set_yticks(ticks, labels)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("share of the gain (%), Shapley value, 95% CI over seeds")
    ax.set_title("Which lever explains the gain: mind, quantity, quality")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(True, axis="x", alpha=0.25)
    fig.tight_layout()
    return fig


def iso_performance(analysis):
    s = analysis.summary["datasets"]
    names = [n for n, ds in s.items() if ds["iso_performance"]["models"]]
    if not names:
        return None
    fig, axes = _grid(len(names), width=5.0, height=3.2)
    for ax, name in zip(axes, names):
        ds = s[name]
        iso = ds["iso_performance"]
        rows = iso["models"]
        colors = _colors(_models(ds))
        observed = max(int(c.n.max()) for c in analysis.curves.values() if c.dataset == name)
        top = observed * 4
        for i, r in enumerate(rows):
            if r["n_needed"] is None:
                ax.text(1.3, i, "never (target below its fitted floor)", va="center", fontsize=7, color="grey")
                continue
            n = max(r["n_needed"], 1)
            ax.barh(i, n, color=colors[r["model"]], height=0.6, hatch=None if r["relation"] == "=" else "//",
                    alpha=1.0 if r["fit_ok"] else 0.45)
            ax.text(n * 1.15, i, f"{'≥ ' if r['relation'] == '>=' else ''}{n:,.0f}", va="center", fontsize=7)
            top = max(top, n * 8)
        ax.axvspan(1, observed, color="grey", alpha=0.08, lw=0)
        ax.set_yticks(range(len(rows)), [r["model"] for r in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(1, top)
        ax.set_xlabel("training examples needed (log; shaded: measured range)")
        where = "clean" if iso["quality_rate"] == 0 else f"{iso['quality']} {iso['quality_rate']:g}"
        ax.set_title(f"{name}: data to reach {ds['metric']} {iso['target']:.3g} ({where})")
    fig.tight_layout()
    return fig


def objective_front(analysis):
    """Per dataset whose points store inference cost: each lever's gain against the inference cost it adds,
    with 95% intervals on both; the levers no other beats on both (the Pareto front) joined by a line."""
    s = analysis.summary["datasets"]
    names = [n for n, ds in s.items() if (ds.get("objectives") or {}).get("pareto")]
    if not names:
        return None
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        entry, ds = s[name]["objectives"], s[name]
        pts = entry["pareto"]
        for p in pts:
            color = "#4C72B0" if p["front"] else "#999999"
            x, y = p["added_cost"], p["gain"]
            xerr = [[max(x - p["cost_low"], 0)], [max(p["cost_high"] - x, 0)]] if p["cost_low"] is not None else None
            yerr = [[max(y - p["ci_low"], 0)], [max(p["ci_high"] - y, 0)]] if p["ci_low"] is not None else None
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", color=color, ms=4, lw=0.8, capsize=2)
            ax.annotate(p["lever"], (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        front = sorted((p for p in pts if p["front"]), key=lambda p: p["added_cost"])
        ax.plot([p["added_cost"] for p in front], [p["gain"] for p in front], color="#4C72B0", lw=1, alpha=0.6)
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        # a lever far below zero (the constant predictor) would squash the rest: the axis stops at five times
        # the best gain (at least 2), and the title says how many levers lie below it
        floor = -5 * max(max(p["gain"] for p in pts), 2.0)
        below = sum(p["gain"] < floor for p in pts)
        if below:
            ax.set_ylim(bottom=floor)
        ax.set_xlabel("added inference cost (ms per 1,000 rows)")
        ax.set_ylabel(f"gain ({'points' if ds['decision']['unit'] == 'points' else ds['metric']})")
        ax.set_title(f"{name}: gain against inference cost" + (f"\n({below} lever(s) below the axis)" if below else ""))
        ax.grid(True, alpha=0.25)
    fig.tight_layout()
    return fig


_ANALYSIS = None  # the analysis a forked drawing worker inherits


def _draw(name: str, folder: Path):
    """Draw one figure and save it as PNG and SVG; None when the study has nothing to show."""
    fig = globals()[name](_ANALYSIS)
    if fig is None:
        return None
    paths = {"png": folder / f"{name}.png", "svg": folder / f"{name}.svg"}
    fig.savefig(paths["png"], dpi=110, metadata=_PNG_META)
    fig.savefig(paths["svg"], metadata=_SVG_META)
    plt.close(fig)
    return paths


def draw_all(analysis, folder: Path, *, workers: int | None = None) -> dict[str, dict[str, Path]]:
    """Draw and save every figure that applies; returns {name: {"png": path, "svg": path}}.

    The figures are independent, and drawing them is most of a report's time:
    with ``workers`` > 1 (default: the CPUs, at most one per figure) they are
    drawn in forked processes that inherit the analysis.  Each figure comes out
    byte for byte as drawn alone, so the files do not depend on the worker count.
    """
    global _ANALYSIS
    folder.mkdir(parents=True, exist_ok=True)
    _ANALYSIS = analysis
    try:
        drawn = fork_map(partial(_draw, folder=folder), FIGURES, workers)
    finally:
        _ANALYSIS = None
    return {name: paths for name, paths in zip(FIGURES, drawn) if paths is not None}
