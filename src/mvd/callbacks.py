"""Hydra callback around a multirun: check every job before the first starts,
report progress across jobs, list failed jobs at the end with their errors,
build the study's report and its W&B study run, and exit non-zero when
anything failed.

A job that raises is recorded in its ``mvd_job.json`` and the sweep goes on
(Hydra would otherwise stop at the end of the batch without the summary);
the exit status still says it failed.  The callback is pickled into
joblib/submitit workers, so it keeps no threads or files on ``self``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

__all__ = ["MvdCallback", "sweep_overrides", "EXIT_FAILED"]

# exit status of a multirun with failed jobs or points (2 is bad input, refused before any work)
EXIT_FAILED = 1
# the launching process's progress reporter (a thread cannot travel to workers)
_PROGRESS: list = []


def sweep_overrides(config: DictConfig) -> list[list[str]]:
    """The override list of every job the basic sweep will launch, as Hydra expands it."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [job for batch in batches for job in batch]


class MvdCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        """Plan every job (all input checks, data loads) so bad input stops the sweep before any work."""
        from hydra import compose

        from mvd import curve, launchers
        from mvd.cli import JOB_FILE, fail
        from mvd.errors import ConfigError
        from mvd.store import points_dir
        from mvd.sweep_progress import JobPlan, SweepProgress

        sweep = sweep_overrides(config)
        os.environ[launchers.SWEEP_JOBS_ENV] = str(len(sweep))  # workers size their threads from it
        join_workers = launchers.warm_joblib_workers(config.hydra)  # overlaps the checks below
        jobs = []
        for num, overrides in enumerate(sweep):
            cfg = compose(config_name="config", overrides=overrides)
            try:
                plan = curve.plan(cfg)
            except ConfigError as exc:
                fail(f"{exc} (job: {' '.join(overrides)})")
            keys = frozenset((seed, n) for seed in plan.seeds for n in plan.sizes)
            jobs.append(JobPlan(num, points_dir(plan.study_dir) / f"{plan.run_id}.parquet", keys))
        join_workers()
        _, _, notice = launchers.thread_budget(config.hydra, int(config.threads), sweep_jobs=len(jobs))
        if notice:
            print(notice, file=sys.stderr, flush=True)
        _PROGRESS.clear()
        if config.get("progress", True):
            _PROGRESS.append(SweepProgress(jobs, Path(config.hydra.sweep.dir), job_file=JOB_FILE).start())

    def on_job_end(self, config: DictConfig, job_return, **kwargs) -> None:
        """In a multirun, a job that raised is written down and the sweep goes on to the next job."""
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if config.hydra.mode != RunMode.MULTIRUN or job_return.status != JobStatus.FAILED:
            return
        exc = job_return._return_value
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        print(tb, file=sys.stderr, flush=True)
        from mvd.cli import JOB_FILE
        from mvd.console import label

        try:
            name = label(config)
        except Exception:
            name = " ".join(config.hydra.overrides.task)
        status = {"run_id": None, "label": name, "new": 0, "skipped": 0, "failed": 0, "job_failed": True,
                  "errors": [f"{type(exc).__name__}: {exc}".splitlines()[0][:500]]}
        out = Path(config.hydra.runtime.output_dir) / JOB_FILE
        out.write_text(json.dumps(status))
        job_return.status = JobStatus.COMPLETED
        job_return.return_value = status

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from mvd import console
        from mvd.cli import JOB_FILE
        from mvd.loggers.wandb import log_study

        while _PROGRESS:
            _PROGRESS.pop().stop()
        sweep_dir = Path(config.hydra.sweep.dir)
        files = sorted(sweep_dir.glob(f"*/{JOB_FILE}"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        statuses = [json.loads(p.read_text()) for p in files]
        console.multirun_summary(statuses)
        study_dir = Path(config.results_dir) / config.study
        if config.report.build and (study_dir / "points").exists():
            build_report(study_dir)
        log_study(config, study_dir)
        print(f"points: {study_dir / 'points'}")
        failed_jobs = [s for s in statuses if s.get("job_failed")]
        failed_points = sum(int(s.get("failed") or 0) for s in statuses)
        if failed_jobs or failed_points:
            print(f"mvd: {len(failed_jobs)} job(s) and {failed_points} point(s) failed (listed above); "
                  f"rerun the same command to retry them, stored points are kept.", file=sys.stderr, flush=True)
            raise SystemExit(EXIT_FAILED)


def build_report(study_dir: Path) -> None:
    """Build the report and print its verdict; a failure is reported, never raised."""
    from mvd.report import build

    try:
        out = build(study_dir)
        for sentence in json.loads((out.parent / "summary.json").read_text()).get("verdict", []):
            print(f"verdict: {sentence}")
        print(f"report: {out}")
    except Exception as exc:  # the points are safe; the report can be rebuilt with mvd-report
        print(f"mvd: report not built ({type(exc).__name__}: {exc}); rebuild with: mvd-report {study_dir}")
