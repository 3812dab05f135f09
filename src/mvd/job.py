"""One curve job as Hydra runs it: check every input, run the curve, and end
with a status file and a return value, whatever the sweeper and launcher.

- ``check(cfg)`` is every check a job makes before any work (``curve.plan``
  and a readable points file for its curve); bad input raises ``ConfigError``
  with the one sentence the user sees.  The multirun callback calls it for
  every job of a sweep that is known up front.
- ``run(cfg)`` runs one curve and returns its status (new / stored / failed
  points and their errors).
- ``task(cfg)`` is Hydra's task function.  In a multirun it never raises: a
  bad or failing job writes its status file (``mvd.outcome``) and returns,
  so the sweep goes on and the callback lists it at the end.  Under a
  sweeper other than Hydra's basic one it returns the job's validation score
  (``mvd.sweep_score``: held-out rows of the training pool, never the test
  split), the float an optimising sweeper maximises; a failed job raises
  ``JobFailed`` (after writing its status), so the sweeper counts a failed
  trial under its own failure policy (Optuna's and Nevergrad's
  ``max_failure_rate``) instead of optimising a made-up number.
"""

from __future__ import annotations

import math
import sys
import traceback

__all__ = ["BASIC_SWEEPER", "GRIDS_SWEEPER", "JobFailed", "check", "fixed_keys", "packages", "run", "task", "reads_return_value"]

# the sweepers whose jobs are known up front (a grid, or a union of grids: mvd.grid); neither reads return values
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
GRIDS_SWEEPER = "hydra_plugins.mvd_grids_sweeper.grids_sweeper.GridsSweeper"


class JobFailed(RuntimeError):
    """Raised, after its status file is written, by a failed job under a sweeper that reads return values."""


def check(cfg):
    """Every input check of one job, before any work; the job's plan (``curve.Plan``).

    Keys outside mvd's schemas (even added with ``+``), a model or logger whose optional package is not
    installed, and everything ``curve.plan`` checks.  The last config checked keeps its plan for one more
    call, so a single run checked before Hydra creates its folder (``MvdCallback.on_run_start``) is not
    planned twice.
    """
    global _planned
    from omegaconf import OmegaConf

    from mvd import curve, extras, loggers, store
    from mvd.errors import ConfigError

    key = OmegaConf.to_yaml(cfg)
    if _planned is not None and _planned[0] == key:  # used once: a rerun of the same config plans afresh
        prepared, _planned = _planned[1], None
        return prepared
    fixed_keys(cfg)
    packages(cfg)
    try:
        prepared = curve.plan(cfg)
    except ConfigError:
        raise
    except Exception as exc:
        from hydra.errors import InstantiationException

        module = extras.missing_module(exc)
        if module is not None:  # a part that imports an optional package only when it runs
            raise ConfigError(extras.missing_sentence("this job", module)) from None
        if isinstance(exc, InstantiationException):  # e.g. an estimator argument the estimator does not take
            raise ConfigError(f"a part of this job cannot be built: {' '.join(str(exc).split())}.") from None
        raise
    try:
        store.CurveFile(prepared.study_dir, prepared.run_id)  # reads the curve's stored points
    except store.StoreError as exc:
        raise ConfigError(str(exc)) from None
    _planned = (key, prepared)
    return prepared


# the last config ``check`` accepted (its YAML) and its plan
_planned = None


def packages(cfg) -> None:
    """Refuse a model or logger whose optional package (torch, lightgbm, wandb) is not installed, in one
    sentence naming the mvd extra that installs it; cheap, before any data loads."""
    from mvd import extras, loggers

    model = cfg.model
    nodes = {f"model.{task}": model.get(task) for task in ("classification", "regression")}
    for modality, by_task in (model.get("per_modality") or {}).items():
        nodes.update({f"model.per_modality.{modality}.{task}": node for task, node in (by_task or {}).items()})
    for place, node in nodes.items():
        if node is not None and node.get("_target_"):
            extras.load(str(node["_target_"]), key=place, what=f"model={model.get('name')!r}")
    loggers.make(cfg)  # logger=wandb without wandb


def fixed_keys(cfg) -> None:
    """Refuse a key that mvd's typed groups do not have, even one added with ``+`` (Hydra's hint for a
    typo): it would be ignored, and would only change the curve's id.  Estimator arguments
    (``model.classification``, ``model.regression``) and parts' keyword arguments (``dataset``,
    ``quality``, ``cleaning``, ``logger``: checked against their ``_target_``) stay open."""
    import dataclasses
    import typing

    from omegaconf import DictConfig

    from mvd.config import Config
    from mvd.errors import ConfigError

    def walk(node, schema, path: str) -> None:
        types = typing.get_type_hints(schema)
        allowed = [f.name for f in dataclasses.fields(schema)]
        for name in node.keys():
            full = f"{path}.{name}" if path else str(name)
            if name not in allowed:
                hint = (" (estimator arguments go under model.classification or model.regression)"
                        if path == "model" else "")
                raise ConfigError(f"{full} is not a key of {path or 'the config'}; allowed: "
                                  f"{', '.join(allowed)}{hint}.")
            child = node._get_node(name)
            if dataclasses.is_dataclass(types.get(name)) and isinstance(child, DictConfig) and not child._is_none():
                walk(child, types[name], full)

    walk(cfg, Config, "")


def reads_return_value(sweeper_cfg) -> bool:
    """Whether the sweeper may steer by the jobs' return values: any sweeper but Hydra's basic one
    and its subclasses (e.g. hydra-filter-sweeper), unless its class says ``uses_job_return_value = False``."""
    target = str(sweeper_cfg.get("_target_", ""))
    if target == BASIC_SWEEPER:
        return False
    try:
        from hydra.utils import get_class

        cls = get_class(target)
    except Exception:  # a sweeper we cannot import here: assume it reads them
        return True
    if any(f"{c.__module__}.{c.__qualname__}" == BASIC_SWEEPER for c in cls.__mro__):
        return False
    return bool(getattr(cls, "uses_job_return_value", True))


def run(cfg, *, validate: bool = False) -> dict:
    """One curve job: check, run, report to the console; its status (and validation score if asked)."""
    from mvd import console, curve, launchers, loggers, outcome, store

    launchers.fit_to_machine(cfg)  # jobs x threads <= cores under parallel launchers
    prepared = check(cfg)
    outcome.watch(files=[store.points_dir(prepared.study_dir) / f"{prepared.run_id}.parquet"])
    logger = loggers.make(cfg)
    status = {"run_id": prepared.run_id, "label": console.label(cfg), "new": 0, "skipped": 0, "failed": 0}
    logger.start(cfg, prepared.run_id)
    frame = None
    try:
        with store.claim(prepared.study_dir, prepared.run_id, prepared.seeds), \
                console.JobProgress(prepared, enabled=cfg.progress) as progress:
            def on_point(point: dict, skipped: bool) -> None:
                progress.advance(point, skipped)
                key = "skipped" if skipped else ("failed" if point["status"] != "ok" else "new")
                status[key] += 1
                if not skipped:
                    logger.log_point(point)

            frame = curve.run_curve(cfg, on_point=on_point, prepared=prepared)
        if cfg.progress:
            console.curve_table(frame, prepared)
    finally:
        logger.finish(frame)
    status["errors"] = sorted({e for e in frame.loc[frame["status"] != "ok", "error"]})[:5]
    if validate:
        from mvd.sweep_score import validation_score

        status["validation_score"] = validation_score(prepared)
    return status


def _label(cfg, overrides) -> str:
    from mvd import console

    try:
        return console.label(cfg)
    except Exception:  # a config too broken to name: its overrides name it
        return " ".join(overrides)


def task(cfg):
    """Hydra's task function: one job, ending with its status file and its return value."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mvd.errors import ConfigError
    from mvd.outcome import composed, fail, write_status
    from mvd.store import StoreError

    composed()  # a config without mvd's callback: Hydra has composed it all the same
    hydra_cfg = HydraConfig.get()
    job_dir = hydra_cfg.runtime.output_dir
    if hydra_cfg.mode != RunMode.MULTIRUN:
        try:
            status = run(cfg)
        except (ConfigError, StoreError) as exc:
            fail(str(exc))
        write_status(job_dir, status)
        return status

    validate = reads_return_value(hydra_cfg.sweeper)
    overrides = list(hydra_cfg.overrides.task)
    try:
        status = run(cfg, validate=validate)
    except (ConfigError, StoreError) as exc:  # one sentence, no traceback
        sentence = " ".join(str(exc).split())
        print(f"mvd: error: {sentence} (job {hydra_cfg.job.num}: {' '.join(overrides)})", file=sys.stderr, flush=True)
        status = {"run_id": None, "label": _label(cfg, overrides), "new": 0, "skipped": 0, "failed": 0,
                  "job_failed": True, "bad_input": isinstance(exc, ConfigError), "errors": [sentence]}
    except Exception as exc:  # a bug or a crash: its traceback helps, and the sweep goes on
        traceback.print_exc()
        sys.stderr.flush()
        status = {"run_id": None, "label": _label(cfg, overrides), "new": 0, "skipped": 0, "failed": 0,
                  "job_failed": True, "errors": [f"{type(exc).__name__}: {exc}".splitlines()[0][:500]]}
    status["num"] = int(hydra_cfg.job.num)
    status["overrides"] = overrides
    score = status.get("validation_score")
    if validate and not status.get("job_failed") and (score is None or math.isnan(score)):
        status.update(job_failed=True, errors=["no validation score: every fit on the training pool failed",
                                               *status.get("errors", [])])
    write_status(job_dir, status)
    if not validate:
        return status
    if status.get("job_failed"):  # the sweeper's own failure policy decides (e.g. its max_failure_rate)
        raise JobFailed(status["errors"][0])
    return float(score)
