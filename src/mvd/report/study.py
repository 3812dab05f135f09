"""What a report is built from: a study's stored points and its saved configs.

Everything comes from disk (STYLE: figures and numbers are produced from the
stored points), so a report can be rebuilt at any time with ``mvd-report``.
The ``business`` and ``report`` settings, the study's name and its question
are read from the jobs' resolved configs; command-line values override them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd
from omegaconf import OmegaConf

from mvd import store
from mvd.business import check_business
from mvd.config import ReportConfig, VerdictConfig
from mvd.errors import ConfigError
# the condition's vocabulary lives with the levers; re-exported for the report's modules
from mvd.levers import SHIFT_KINDS, TUNED_SUFFIX, clean_counterpart, mixed_pool
from mvd.metrics import LOWER_IS_BETTER
from mvd.report.pooling import separate

__all__ = ["Study", "read_study", "load_points", "check_business", "CURVE", "CELL", "LOWER_IS_BETTER",
           "REQUIRED", "DEFAULTS", "VERDICT_DEFAULTS", "TUNED_SUFFIX", "score_points", "mixed_pool",
           "clean_counterpart", "SHIFT_KINDS"]


# one learning curve, and one cell of it (seeds are the replicates)
CURVE = ["dataset", "model", "quality", "quality_rate", "cleaning"]
CELL = CURVE + ["train_size"]


@dataclass
class Study:
    """The ok points (with ``score`` and ``error`` columns) and the settings of one study."""

    path: Path
    name: str
    question: str
    points: pd.DataFrame
    business: dict
    baseline: Optional[str] = None
    target: Optional[float] = None
    bootstrap: int = 1000
    # primary metric per dataset, and whether its error is 1 - metric
    metric: dict = field(default_factory=dict)
    # the operating point of the decision (verdict settings; None = the documented default)
    verdict: dict = field(default_factory=lambda: dict(VERDICT_DEFAULTS))
    # the objective the points are scored by (None: each dataset's primary metric), and what it left out
    objective: Optional[str] = None
    objective_notes: list = field(default_factory=list)


def _saved_config(path: Path) -> dict:
    """The first saved job config (sorted by name), or the schema defaults when there is none."""
    files = sorted((path / "configs").glob("*.yaml"))
    if not files:
        return {}
    return OmegaConf.to_container(OmegaConf.load(files[0]), resolve=False)


# the verdict settings a study is read with when its saved configs have none
VERDICT_DEFAULTS = vars(VerdictConfig())


def read_study(path, *, baseline: Optional[str] = None, target: Optional[float] = None,
               bootstrap: Optional[int] = None, verdict: Optional[dict] = None,
               objective: Optional[str] = None) -> Study:
    """Load and check a study directory; raise ``ConfigError`` before any work on bad input.

    ``verdict`` overrides single keys of the saved ``verdict`` settings (n_now, data, model, step, backtest);
    ``objective`` (default: the saved ``report.objective``) rescores the points (``mvd.report.objectives``).
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"study_dir={str(path)!r} is not a directory; give a study folder such as results/quickstart.")
    points = load_points(path)
    ok = points[points["status"] == "ok"] if "status" in points else points.iloc[0:0]
    if ok.empty:
        raise ConfigError(f"study_dir={str(path)!r} holds no successful points in {store.points_dir(path)}; "
                          "run a study first, e.g. mvd experiment=quickstart.")
    ok, metric = score_points(separate(ok, path))  # one name, one config: curves that differ are named apart
    saved = _saved_config(path)
    report = {**vars(ReportConfig()), **(saved.get("report") or {})}
    objective = objective if objective is not None else report.get("objective")
    notes: list = []
    if objective is not None:
        from mvd.report import objectives

        ok, metric, notes = objectives.apply(ok, objectives.parse(objective, objectives.allowed(ok)))
        if ok.empty:
            raise ConfigError(f"objective={objective!r} leaves no point to decide on ({'; '.join(notes)}); "
                              "choose a metric the study stored.")
    baseline = baseline if baseline is not None else report.get("baseline")
    target = target if target is not None else report.get("target")
    bootstrap = int(bootstrap if bootstrap is not None else report.get("bootstrap"))
    if bootstrap < 1:
        raise ConfigError(f"report.bootstrap={bootstrap} must be a positive number of resamples, e.g. 1000.")
    models = sorted(ok["model"].unique())
    if baseline is not None and baseline not in models:
        raise ConfigError(f"report.baseline={baseline!r} is not a model of this study; allowed: {', '.join(models)}.")
    if target is not None and not (isinstance(target, (int, float)) and math.isfinite(target)):
        raise ConfigError(f"report.target={target!r} must be a number in the units of the primary metric.")
    business = check_business(saved.get("business") or {})
    settings = {**VERDICT_DEFAULTS, **(saved.get("verdict") or {}),
                **{k: v for k, v in (verdict or {}).items() if v is not None}}
    settings["cleaning_cost_per_row"] = dict(settings.get("cleaning_cost_per_row") or {})
    if settings["model"] is not None and settings["model"] not in models:
        raise ConfigError(f"verdict.model={settings['model']!r} is not a model of this study; "
                          f"allowed: {', '.join(models)}.")
    name = saved.get("study") or (ok["study"].iloc[0] if "study" in ok else None) or path.name
    return Study(path=path, name=str(name),
                 question=str(saved.get("question") or ""), points=ok, business=business,
                 baseline=baseline, target=None if target is None else float(target),
                 bootstrap=bootstrap, metric=metric, verdict=settings, objective=objective, objective_notes=notes)


_READ = ("study", "run_id", "dataset", "task", "model", "sophistication", "quality", "quality_rate", "cleaning",
         "train_size", "n_fit", "seed", "primary_metric", "status", "fit_seconds", "confusion",
         "tuned", "tune_seconds",
         "mix_base", "mix_add", "noisy_test_scores",  # the shift section's (mvd.report.shift)
         "per_row_count", "per_row_correct", "per_row_residual", "fixed_test_set",  # mvd.report.aggregate's test rows
         "predict_ms_per_1000", "model_bytes",  # the costs an objective may weigh (mvd.report.objectives)
         "n_test_unseen")  # test rows in classes a subset never saw (mvd.report.cardinality.unseen)
# columns a points file must have; each file is checked and the first gap named in one sentence
REQUIRED = ("dataset", "task", "model", "sophistication", "train_size", "seed", "primary_metric")
# columns that writers before the quality axis, tuning or the status column left out, and the value
# their points are read with: clean, uncleaned, untuned data from successful fits
DEFAULTS = {"quality": "clean", "quality_rate": 0.0, "cleaning": "none", "status": "ok", "tuned": False,
            "tune_seconds": 0.0}


def load_points(path: Path) -> pd.DataFrame:
    """The columns the report reads, from every points file at once (pyarrow dataset).

    Three times faster than ``store.load`` on a study of many curve files; a
    file that pyarrow cannot read sends us to ``store.load``, which names it.
    A file without one of ``REQUIRED`` is refused in one sentence that names
    the file and the column; the columns of ``DEFAULTS`` are filled in where
    a file lacks them.
    """
    import pyarrow as pa
    import pyarrow.dataset as pds
    import pyarrow.parquet as pq

    files = sorted(str(p) for p in store.points_dir(path).glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return store.load(path)
    try:
        schemas = [pq.read_schema(f) for f in files]
    except (pa.ArrowException, OSError):
        return store.load(path)  # raises StoreError naming the damaged file
    for f, sch in zip(files, schemas):
        missing = [c for c in REQUIRED if c not in sch.names]
        if missing:
            raise ConfigError(f"points file {f} lacks the column(s) {', '.join(missing)} that the report needs "
                              "(written by an older or foreign writer); add them or rerun that curve with mvd.")
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
        columns = [c for c in schema.names if c in _READ or c.startswith("test_")]
        table = pds.dataset(files, schema=schema, format="parquet").to_table(columns=columns)
    except (pa.ArrowException, OSError):
        return store.load(path)  # raises StoreError naming the damaged file
    frame = table.to_pandas()
    for column, default in DEFAULTS.items():
        if column not in frame:
            frame[column] = default
        elif frame[column].isna().any():
            frame[column] = frame[column].astype(object).where(frame[column].notna(), default).infer_objects()
    return frame


def score_points(points: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The successful points with ``score`` (the primary metric) and ``error`` columns, sorted by cell and seed,
    and the primary metric of each dataset; a dataset whose curves disagree on it is refused."""
    ok = points[points["status"] == "ok"] if "status" in points else points
    ok = ok.copy()
    for column, default in DEFAULTS.items():
        if column not in ok:
            ok[column] = default
    ok["quality_rate"] = ok["quality_rate"].astype(float)
    # a tuned curve keeps its model's name in the store; the report names it "<model> (tuned)"
    tuned = ok["tuned"].astype(object).where(ok["tuned"].notna(), False).astype(bool)
    rename = tuned & ~ok["model"].astype(str).str.endswith(TUNED_SUFFIX)
    if rename.any():
        ok.loc[rename, "model"] = ok.loc[rename, "model"].astype(str) + TUNED_SUFFIX
    ok["tuned"] = tuned
    ok["train_size"] = ok["train_size"].astype(int)
    ok["seed"] = ok["seed"].astype(int)
    metric: dict = {}
    for name, rows in ok.groupby("dataset", sort=True):
        primaries = sorted(rows["primary_metric"].dropna().unique())
        if not primaries:
            raise ConfigError(f"the points of dataset {name!r} have no primary_metric; rerun them with mvd.")
        if len(primaries) != 1:
            raise ConfigError(f"curve.primary differs between the curves of dataset {name!r} ({', '.join(primaries)}); "
                              "rerun them with one primary metric.")
        metric[name] = primaries[0]
    ok["score"] = _scores(ok, metric)
    lower = ok["dataset"].map(lambda d: metric[d] in LOWER_IS_BETTER)
    ok["error"] = ok["score"].where(lower, 1.0 - ok["score"])
    return ok[ok["score"].notna()].sort_values(CELL + ["seed"], kind="stable").reset_index(drop=True), metric


def _scores(ok: pd.DataFrame, metric: dict) -> pd.Series:
    """The primary metric of each point (its dataset's)."""
    out = pd.Series(float("nan"), index=ok.index)
    for name, primary in metric.items():
        rows = ok["dataset"] == name
        if f"test_{primary}" not in ok:
            raise ConfigError(f"the points of dataset {name!r} lack the column test_{primary} of their primary "
                              f"metric {primary!r}; rerun them with mvd.")
        out[rows] = ok.loc[rows, f"test_{primary}"].astype(float)
    return out
