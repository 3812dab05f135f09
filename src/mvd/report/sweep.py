"""The report's "Adaptive sweep" section: what an adaptive study (``hydra/sweeper=adaptive``) measured and why.

The sweeper (``mvd.adaptive``) writes its record to ``<study>/adaptive.json``;
this module reads it back, so the report never imports the sweeper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

__all__ = ["RECORD_FILE", "blocks", "with_section"]

RECORD_FILE = "adaptive.json"

_WHY = {
    "settled": "It stopped because every decision was settled.",
    "budget": "It stopped because the budget was spent.",
    "exhausted": "It stopped with a decision still open: every point the decision reads was measured.",
    "rounds": "It stopped at the round limit.",
}


def blocks(study_dir, n_points: Optional[int] = None) -> list[tuple]:
    """The section's blocks (as ``mvd.report.render`` draws them), or [] when the study was not adaptive.

    It says that the study was adaptive, why it stopped, the budget used,
    and how many grid points were skipped for which reason.
    """
    path = Path(study_dir) / RECORD_FILE
    if not path.exists():
        return []
    rec = json.loads(path.read_text())
    share = rec["used_points"] / rec["grid_points"] if rec["grid_points"] else float("nan")
    budget = rec["settings"].get("budget")
    limit = "no cap" if budget is None else f"{budget:g} {rec['settings']['budget_unit']}"
    out = [("h2", "Adaptive sweep"),
           ("p", f"This study ran adaptively (hydra/sweeper=adaptive) in {len(rec['rounds'])} round(s): "
                 f"{rec['used_points']:,} of the grid's {rec['grid_points']:,} points ({share:.0%}), "
                 f"{rec['used_cpu_seconds']:.1f} CPU-seconds of fit and predict (budget: {limit}). {_WHY[rec['stop']]} "
                 f"Intervals at {rec['settings']['confidence']:g}; choices seeded by {rec['settings']['seed']}.")]
    if n_points is not None and n_points > rec["used_points"]:
        out.append(("p", f"The study also holds {n_points - rec['used_points']:,} point(s) the adaptive sweep did "
                         f"not ask for (another run); the sections below use every stored point."))
    out.append(("ul", [d["sentence"] for d in rec["decisions"].values()]))
    counts: dict = {}
    for s in rec["skipped"]:
        key = (s["dataset"], s["reason"])
        counts[key] = counts.get(key, 0) + s["points"]
    if counts:
        out.append(("table", ["dataset", "skipped points", "why"],
                    [[d, f"{n:,}", r] for (d, r), n in sorted(counts.items())]))
    return out


def with_section(items: list[tuple], study_dir, n_points: Optional[int] = None) -> list[tuple]:
    """``items`` with the adaptive section right after the verdict (before the figures)."""
    extra = blocks(study_dir, n_points)
    if not extra:
        return items
    at = next((i for i, item in enumerate(items) if item[:2] == ("h2", "Figures")), len(items))
    return items[:at] + extra + items[at:]
