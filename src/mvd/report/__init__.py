"""The verdict: from a study's stored points to report.md, report.html, summary.json and figures.

``build(study_dir)`` is what the Hydra callback calls at the end of every
multirun and what ``mvd-report STUDY_DIR`` runs.  The report leads with the
decision at the user's operating point (``decision.decide``).  Bad input (no
points, an unknown baseline, a target no curve reaches, negative or missing
costs, an operating point outside the study) raises ``mvd.errors.ConfigError``
before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from mvd.files import write_atomic as _write_atomic

__all__ = ["build"]


def _head(obj, items: int = 20):
    """The summary with every list cut to its first items: tables are uniform, so this checks
    the shape of a big summary in milliseconds (the tests validate whole files)."""
    if isinstance(obj, dict):
        return {k: _head(v, items) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_head(v, items) for v in obj[:items]]
    return obj


def build(study_dir, *, baseline: Optional[str] = None, target: Optional[float] = None,
          bootstrap: Optional[int] = None, verdict: Optional[dict] = None, objective: Optional[str] = None) -> Path:
    """Build the report of ``study_dir`` and return the path of its report.html.

    ``baseline``, ``target`` and ``bootstrap`` override the study's ``report`` config, and
    ``verdict`` (n_now, data, model, step, backtest) single keys of its ``verdict`` config.  An
    ``objective`` other than the study's own (``mvd.report.objectives``) remakes the decision from the same
    points into ``<study_dir>/objective-<name>/``, leaving the study's report as it is.
    """
    import jsonschema

    from mvd.report import figures, render, sweep
    from mvd.report.study import read_study
    from mvd.report.summary import analyse, schema, to_json

    study = read_study(study_dir, baseline=baseline, target=target, bootstrap=bootstrap, verdict=verdict,
                       objective=objective)
    analysis = analyse(study)
    jsonschema.validate(_head(analysis.summary), schema())
    folder = Path(study_dir)
    if objective is not None:
        from mvd.report.objectives import folder_name

        folder = folder / folder_name(objective)
        folder.mkdir(exist_ok=True)
    drawn = figures.draw_all(analysis, folder / "figures")
    items = render.blocks(analysis.summary, drawn)
    # an adaptive study says so, with its budget and skips (from its record: the report never imports the sweeper)
    items = sweep.with_section(items, Path(study_dir), n_points=analysis.summary["n_points"])
    _write_atomic(folder / "summary.json", to_json(analysis.summary))
    _write_atomic(folder / "report.md", render.to_markdown(items, drawn, folder))
    out = folder / "report.html"
    _write_atomic(out, render.to_html(items, drawn, title=f"mvd report: {study.name}"))
    return out
