"""Weights & Biases: one run per curve job, one study-level run per multirun.

A W&B run *is* a learning curve: every point is a history
row whose x-axis is ``train_size`` (``define_metric``), the per-size mean over
seeds is logged as the ``curve/*`` series when the job ends, with a points
table and the curve figure.

W&B can never fail or hang a job.  ``online`` is used only when credentials
exist (``WANDB_API_KEY``, an identity token or a ``~/.netrc`` entry for the W&B
host), otherwise the run goes ``offline`` with a one-line notice on how to
``wandb sync`` it; ``wandb.init`` is bounded by ``logger.init_timeout``, an
online init that fails falls back to offline, and any other W&B error stops
the logging (said once) while the job and its stored points go on.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import netrc
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import urlparse

from omegaconf import OmegaConf

from mvd import naming
from mvd.errors import ConfigError

__all__ = ["WandbLogger", "Settings", "resolve_mode", "has_credentials", "log_study", "relog", "GROUPS"]

MODES = ("online", "offline", "disabled")
# what a run is grouped by in the W&B UI: the study (job type: the dataset), or study and dataset
# (job type: the model), so one group compares a dataset's whole ladder
GROUPS = ("study", "dataset")
# families of history keys plotted against train_size
_CURVE_KEYS = ("test/*", "train/*", "curve/*", "cost/*")
# notices said once per process (a multirun's jobs share it under the basic launcher)
_SAID: set[str] = set()
_ONLINE_FAILED: list[str] = []


def _say(key: str, message: str) -> None:
    if key not in _SAID:
        _SAID.add(key)
        print(f"mvd: {message}", file=sys.stderr, flush=True)


def has_credentials() -> bool:
    """Whether an online W&B run could authenticate without a prompt."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(requested: str) -> tuple[str, str]:
    """(mode, why): ``WANDB_MODE`` (CI sets it) wins over the config; online needs credentials."""
    mode = os.environ.get("WANDB_MODE") or requested
    if mode == "dryrun":
        mode = "offline"
    if mode not in MODES:
        return "offline", f"WANDB_MODE={mode!r} is not one of {', '.join(MODES)}"
    if mode == "online" and not has_credentials():
        return "offline", "no W&B credentials: set WANDB_API_KEY or run `wandb login`"
    return mode, ""


@dataclass(frozen=True)
class Settings:
    """Where and how runs are logged (the ``logger`` config's options)."""

    project: str = "mvd"
    entity: Optional[str] = None
    # online | offline | disabled; online needs credentials, else offline
    mode: str = "offline"
    tags: Sequence[str] = ()
    # seconds wandb.init may take before mvd logs offline instead (W&B's default is 90)
    init_timeout: float = 10.0
    # seconds run.finish() may spend uploading before the run is marked crashed
    finish_timeout: float = 120.0
    # where the wandb/ folder goes (None: WANDB_DIR or the current directory)
    dir: Optional[str] = None
    # study | dataset: a W&B group per study, or per study and dataset
    group: str = "study"

    def check(self) -> "Settings":
        if self.mode not in MODES:
            raise ConfigError(f"logger.mode={self.mode!r} is not known; allowed: {', '.join(MODES)}.")
        if self.group not in GROUPS:
            raise ConfigError(f"logger.group={self.group!r} is not known; allowed: {', '.join(GROUPS)}.")
        for key in ("init_timeout", "finish_timeout"):
            value = getattr(self, key)
            if value is not None and not (float(value) > 0):
                raise ConfigError(f"logger.{key}={value!r} must be a positive number of seconds.")
        return self

    @classmethod
    def of(cls, node) -> "Settings":
        """The settings in a ``logger`` config node (other keys, such as ``_target_``, ignored)."""
        from mvd.parts import plain

        values = plain(node)
        names = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in values.items() if k in names and v is not None}
        options["tags"] = tuple(options.get("tags") or ())
        return cls(**options)


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


class _Run:
    """``wandb.init`` bounded in time; online falls back to offline; errors become ``None``."""

    def __init__(self, settings: Settings, *, requirements: bool = False, **init):
        self.settings = settings
        self.init = init
        # the pip freeze costs ~50 ms per run: once per study (its study run) is enough
        self.requirements = requirements
        self.run = None

    def open(self):
        import wandb

        mode, why = resolve_mode(self.settings.mode)
        if mode == "online" and _ONLINE_FAILED:
            mode, why = "offline", _ONLINE_FAILED[0]  # pay the init timeout once per process, not per job
        if mode == "disabled":
            return None
        settings = dict(init_timeout=float(self.settings.init_timeout), silent=True, console="off",
                        finish_timeout=float(self.settings.finish_timeout or 120.0),
                        x_save_requirements=self.requirements)
        # private (x_) settings come and go between wandb versions: pass only the ones this one knows
        settings = {k: v for k, v in settings.items() if k in getattr(wandb.Settings, "model_fields", settings)}
        try:
            self.run = wandb.init(mode=mode, settings=wandb.Settings(**settings), **self.init)
        except Exception as exc:
            if mode != "online":
                raise
            why = f"online init failed: {_short(exc)}"
            _ONLINE_FAILED.append(why)
            self.run = wandb.init(mode="offline", settings=wandb.Settings(**settings), **self.init)
        if self.run.settings.mode == "offline":
            runs = Path(self.run.settings.wandb_dir) / "offline-run-*"
            _say(f"offline {why}", f"W&B logs offline{f' ({why})' if why else ''}; "
                                   f"upload with `wandb sync {runs}`.")
        return self.run


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:200]


class WandbLogger:
    """One W&B run per curve job; the ``NullLogger`` interface (start, log_point, finish)."""

    def __init__(self, name: str = "wandb", *, project: str = "mvd", entity: Optional[str] = None,
                 mode: str = "offline", tags: Sequence[str] = (), init_timeout: float = 10.0,
                 finish_timeout: float = 120.0, dir: Optional[str] = None, group: str = "study"):
        self.name = name
        self.settings = Settings(project=project, entity=entity, mode=mode, tags=tuple(tags or ()),
                                 init_timeout=init_timeout, finish_timeout=finish_timeout, dir=dir,
                                 group=group).check()
        if importlib.util.find_spec("wandb") is None:
            raise ConfigError("logger=wandb needs the wandb package; install it with: pip install 'mvd[wandb]'.")
        self.run = None
        self._logged: set[tuple[int, int]] = set()
        self._seeds: list[int] = []

    def _stop(self, where: str, exc: BaseException) -> None:
        print(f"mvd: W&B {where} failed ({_short(exc)}); the job goes on without W&B, "
              f"its points are in the store.", file=sys.stderr, flush=True)
        run, self.run = self.run, None
        if run is not None and where != "finish":
            try:
                run.finish(exit_code=1)
            except Exception:
                pass

    def start(self, cfg, run_id: str) -> None:
        self._seeds = [int(s) for s in cfg.curve.seeds]
        config = OmegaConf.to_container(cfg, resolve=True)
        config["run_id"] = run_id
        s = self.settings
        model = f"{cfg.model.name}{naming.TUNED_SUFFIX if naming.tuned(cfg) else ''}"
        group, job_type = ((cfg.study, cfg.dataset.name) if s.group == "study"
                           else (f"{cfg.study}/{cfg.dataset.name}", model))
        opener = _Run(s, project=s.project, entity=s.entity, group=group, job_type=job_type,
                      name=naming.label_of(cfg), tags=list(s.tags), config=config, dir=s.dir, reinit="create_new")
        try:
            self.run = opener.open()
            if self.run is not None:
                self.run.define_metric("train_size")
                for key in _CURVE_KEYS:
                    self.run.define_metric(key, step_metric="train_size")
        except Exception as exc:
            self._stop("init", exc)

    def log_point(self, point: dict) -> None:
        if self.run is None:
            return
        try:
            self.run.log(_history_row(point))
            self._logged.add((int(point["seed"]), int(point["train_size"])))
        except Exception as exc:
            self._stop("log", exc)

    def finish(self, frame) -> None:
        """Stored points not yet logged, the per-size means, the table, the figure; then ``finish()``."""
        if self.run is None:
            return
        try:
            if frame is not None and len(frame):
                own = frame[frame["seed"].astype(int).isin(self._seeds)] if self._seeds else frame
                self._log_curve(own.reset_index(drop=True))
        except Exception as exc:
            self._stop("logging the curve", exc)
        run, self.run = self.run, None
        if run is None:
            return
        try:
            run.finish()
        except Exception as exc:
            self._stop("finish", exc)

    def _log_curve(self, frame) -> None:
        import wandb

        for point in frame.to_dict("records"):
            if (int(point["seed"]), int(point["train_size"])) not in self._logged:
                self.run.log(_history_row(point))
        primary = str(frame["primary_metric"].iloc[0])
        means = curve_means(frame)
        for row in means:
            self.run.log(row)
        self.run.log({"points": wandb.Table(dataframe=_table_ready(frame))})
        chart = curve_chart(means, primary, title=self.run.name)
        if chart is not None:
            self.run.log({"curve/figure": chart})
        ok = frame[frame["status"] == "ok"]
        summary = {"primary_metric": primary, "n_points": int(len(frame)), "n_failed_points": int(len(frame) - len(ok))}
        if means:
            last = means[-1]
            summary["train_size"] = last["train_size"]
            summary[f"curve/test_{primary}"] = last.get(f"curve/test_{primary}")
        self.run.summary.update(summary)


def _history_row(point: dict) -> dict:
    row = {"train_size": int(point["train_size"]), "seed": int(point["seed"])}
    if point.get("status") != "ok":
        row["failed"] = 1
        return row
    for key, value in point.items():
        if key.startswith("test_") and _finite(value):
            row[f"test/{key[5:]}"] = float(value)
    if _finite(point.get("train_score")):
        row[f"train/{point.get('primary_metric', 'score')}"] = float(point["train_score"])
    for key in ("n_fit", "fit_seconds", "predict_seconds", "predict_ms_per_1000", "model_bytes"):
        if _finite(point.get(key)):
            row[f"cost/{key}"] = float(point[key])
    return row


def curve_means(frame) -> list[dict]:
    """One row per train_size: mean and standard error over seeds of every test metric."""
    ok = frame[frame["status"] == "ok"]
    metrics = [c for c in ok.columns if c.startswith("test_") and ok[c].notna().any()]
    rows = []
    for n, group in ok.groupby("train_size", sort=True):
        row = {"train_size": int(n), "curve/seeds": int(len(group))}
        for column in metrics:
            values = group[column].astype(float).dropna()
            if len(values):
                row[f"curve/{column}"] = float(values.mean())
                row[f"curve/{column}_sem"] = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def curve_chart(means: list[dict], primary: str, *, title: str):
    """The learning curve as a native W&B chart: mean over seeds and a ±1 standard error band.

    A W&B chart (Vega) costs ~6 ms where a matplotlib PNG costs ~80 ms plus the import,
    and it stays interactive (log x, zoom) in the W&B UI.
    """
    import wandb

    key = f"curve/test_{primary}"
    rows = [r for r in means if key in r]
    if not rows:
        return None
    x = [r["train_size"] for r in rows]
    mean = [r[key] for r in rows]
    sem = [r.get(f"{key}_sem", 0.0) for r in rows]
    return wandb.plot.line_series(
        xs=x, ys=[mean, [m - e for m, e in zip(mean, sem)], [m + e for m, e in zip(mean, sem)]],
        keys=[f"test {primary}", "-1 s.e.", "+1 s.e."], title=title, xname="train_size")


def _table_ready(frame):
    """Columns W&B tables accept: numbers and text (objects become text); the per-row test scores (bytes, for
    the report's intervals) stay in the store."""
    frame = frame.drop(columns=[c for c in ("per_row_correct", "per_row_residual") if c in frame])
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype(str)
    return frame


def log_study(config, study_dir: Path) -> None:
    """The study-level run at the end of a multirun: every point, the report's figures and summary.

    ``config`` is the multirun's config; nothing happens unless it uses ``logger=wandb``.
    """
    if config.logger.name != "wandb":
        return
    study_dir = Path(study_dir)
    try:
        settings = Settings.of(config.logger).check()
        task = {k: v for k, v in OmegaConf.to_container(config, resolve=False).items() if k != "hydra"}
        params = config.hydra.sweeper.get("params")
        params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
        _study_run(settings, study_dir, study=config.study,
                   config={"study": config.study, "question": config.question, "sweep": params,
                           "overrides": list(config.hydra.overrides.task), "base": task})
    except Exception as exc:
        print(f"mvd: W&B study run failed ({_short(exc)}); the study is complete in {study_dir}.", file=sys.stderr)


def _study_run(settings: Settings, study_dir: Path, *, study: str, config: dict) -> None:
    """Open the study run, log the study's points, summary, figures and report into it, finish it."""
    opener = _Run(settings, project=settings.project, entity=settings.entity, group=study,
                  job_type="study", name=f"{study}-study", tags=list(settings.tags or []),
                  config=config, dir=settings.dir, reinit="create_new", requirements=True)
    run = opener.open()
    if run is None:
        return
    try:
        import json

        import wandb

        from mvd import store

        points = store.load(study_dir)
        if len(points):
            run.log({"points": wandb.Table(dataframe=_table_ready(points))})
        summary_path = study_dir / "summary.json"
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            run.summary.update(summary if isinstance(summary, dict) else {"summary": summary})
        figures = {}
        for path in sorted((study_dir / "figures").glob("*")):
            if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
                figures[f"figures/{path.stem}"] = wandb.Image(str(path))
            elif path.suffix.lower() in (".svg", ".html"):
                figures[f"figures/{path.stem}"] = wandb.Html(path.read_text())
        report = study_dir / "report.html"
        if report.exists():
            figures["report"] = wandb.Html(report.read_text())
        if figures:
            run.log(figures)
        failed = int((points["status"] != "ok").sum()) if len(points) else 0
        run.summary.update({"n_points": int(len(points)), "n_failed_points": failed})
    except Exception as exc:
        print(f"mvd: W&B study run stopped ({_short(exc)}); the study is complete in {study_dir}.", file=sys.stderr)
    finally:
        try:
            run.finish()
        except Exception:
            pass


def relog(study_dir, settings: Settings) -> int:
    """Log a study already on disk (a committed one) to W&B from its points, without refitting.

    One run per curve, as the job would have logged it (its stored config,
    every point against ``train_size``, the per-size means, the points table
    and the curve chart), then the study run.  Returns the curve runs logged.
    """
    from omegaconf import open_dict

    from mvd import store

    study_dir = Path(study_dir)
    configs = sorted((study_dir / "configs").glob("*.yaml"))
    if not configs:
        raise ConfigError(f"{study_dir} holds no configs/*.yaml: not a study folder written by mvd.")
    points = store.load(study_dir)
    logged, study, question = 0, None, ""
    for path in configs:
        frame = points[points["run_id"] == path.stem].reset_index(drop=True)
        if frame.empty:
            continue
        cfg = OmegaConf.load(path)
        with open_dict(cfg):
            cfg.curve.seeds = sorted(int(s) for s in frame["seed"].unique())
        study, question = cfg.study, cfg.get("question", "")
        logger = WandbLogger(**dataclasses.asdict(settings))
        logger.start(cfg, path.stem)
        logger.finish(frame)
        logged += 1
    if study is not None:
        _study_run(settings, study_dir, study=study,
                   config={"study": study, "question": question, "relogged_from": str(study_dir)})
    return logged
