"""Hydra callback around a multirun: check every job before the first starts,
report progress across jobs, list failed jobs at the end with their errors,
build the study's report and its W&B study run, and exit non-zero when
anything failed.

It uses Hydra's public callback hooks only, so it works with any sweeper and
launcher:

- a single run is checked before Hydra creates its output folder, so a
  refused run leaves nothing behind;
- a sweeper or launcher whose plugin package is missing is refused before
  any job, naming the mvd extra to install (``mvd.extras``);

- planning: when the sweep is known up front (Hydra's basic sweeper: the
  grid of ``hydra.sweeper.params`` and the command line, expanded with
  Hydra's public override parser), every job is composed and checked
  (``mvd.job.check``) before any work, and bad input stops the sweep in one
  sentence (exit 2).  Under any other sweeper (an optimiser proposes jobs as
  it goes) each job checks itself when it starts, and a bad one fails with
  that sentence while the sweep goes on;
- outcome: each job writes its status file (``mvd.outcome``) and returns;
  the callback reads the files when the sweep ends, prints one line per job
  and exits 1 when jobs or points failed (a rerun resumes from the store).

The callback object travels to joblib/submitit workers (pickled), so the
progress reporter, which holds a thread, lives on it only in the launching
process and is left out of its pickled state.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from mvd import outcome
from mvd.outcome import EXIT_FAILED, JOB_FILE, fail, read_statuses

__all__ = ["MvdCallback", "check_direction", "sweep_overrides", "EXIT_FAILED"]


def _config_loader():
    """The running Hydra's config loader (it lists group options for ``glob(...)`` sweeps), if any."""
    from hydra.core.global_hydra import GlobalHydra

    hydra = GlobalHydra.instance()
    return hydra.config_loader() if hydra.is_initialized() else None


def sweep_overrides(config: DictConfig) -> list[list[str]] | None:
    """The override list of every job when the sweep is known up front, else None (an optimiser).

    Hydra's basic sweeper: ``hydra.sweeper.params`` then the command line (a
    later value of a key replaces an earlier one), every sweep expanded and
    crossed, in the order the sweeper launches the jobs; mvd's grids sweeper:
    the union of its grids, each crossed the same way (``mvd.grid``).
    """
    from mvd.grid import GridError, union
    from mvd.job import BASIC_SWEEPER, GRIDS_SWEEPER

    def plain(node) -> dict:
        return OmegaConf.to_container(node) if OmegaConf.is_config(node) else dict(node or {})

    sweeper = config.hydra.sweeper
    target = str(sweeper.get("_target_", ""))
    params = plain(sweeper.get("params"))
    arguments = list(config.hydra.overrides.task)
    if target == BASIC_SWEEPER:
        try:
            return union({}, params, arguments, _config_loader())
        except GridError:  # interval(...): the basic sweeper refuses it itself, in its own words
            return None
    if target == GRIDS_SWEEPER:
        try:
            return union(plain(sweeper.get("grids")), params, arguments, _config_loader())
        except GridError as exc:
            fail(str(exc))
    return None


def check_direction(sweeper: DictConfig) -> None:
    """Refuse an optimiser set to minimise: a job returns a validation score where higher is better."""
    direction = sweeper.get("direction")  # Optuna: one direction or one per objective
    directions = list(direction) if isinstance(direction, (list, tuple)) or OmegaConf.is_list(direction) \
        else [direction]
    names = [str(d).rpartition(".")[2] for d in directions if d is not None]  # Direction.minimize -> minimize
    if "minimize" in names:
        fail(f"hydra.sweeper.direction={','.join(names)} would minimise mvd's job score, a validation score where "
             f"higher is better (error metrics are negated); allowed: maximize.")
    optim = sweeper.get("optim")  # Nevergrad
    if isinstance(optim, DictConfig) and optim.get("maximize") is False:
        fail("hydra.sweeper.optim.maximize=false would minimise mvd's job score, a validation score where "
             "higher is better (error metrics are negated); allowed: true.")


class MvdCallback(Callback):
    def __init__(self) -> None:
        self._progress = None  # the launching process's progress reporter (holds a thread)
        self._cluster = None  # the SLURM job-id announcer (holds a thread)
        self._started = 0.0

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_progress": None, "_cluster": None}  # a thread does not travel to workers

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        """Check a single run before Hydra creates its output folder: a refused run writes nothing."""
        import copy

        from omegaconf import open_dict, read_write

        from mvd.errors import ConfigError
        from mvd.job import check

        outcome.composed()
        job_cfg = copy.deepcopy(config)
        with read_write(job_cfg), open_dict(job_cfg):
            del job_cfg["hydra"]  # the config the job gets (Hydra's run_job does the same)
        try:
            plan = check(job_cfg)
        except ConfigError as exc:
            fail(str(exc))
        outcome.watch(files=[points_file_of(plan)])

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        """Check every job of a sweep known up front (data loads, all input checks) before any work."""
        from hydra import compose
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        from mvd import cluster, extras, launchers
        from mvd.errors import ConfigError
        from mvd.job import check, reads_return_value
        from mvd.sweep_progress import JobPlan, SweepProgress

        outcome.composed()
        self._started = time.time()
        outcome.watch(study_dir=Path(config.results_dir) / config.study)
        choices = config.hydra.runtime.choices
        for group in ("hydra/sweeper", "hydra/launcher"):  # a plugin whose package is not installed
            node = config.hydra.get(group.partition("/")[2])
            if node is not None and node.get("_target_"):
                choice = choices.get(group)
                try:
                    extras.load(str(node._target_), key=group.replace("/", "."),
                                what=f"{group}={choice}" if choice else None)
                except ConfigError as exc:
                    fail(str(exc))
        if reads_return_value(config.hydra.sweeper):
            check_direction(config.hydra.sweeper)
        sweep = sweep_overrides(config)
        if sweep is None:
            os.environ.pop(launchers.SWEEP_JOBS_ENV, None)
        else:
            os.environ[launchers.SWEEP_JOBS_ENV] = str(len(sweep))  # workers size their threads from it
        join_workers = launchers.warm_joblib_workers(config.hydra)  # overlaps the checks below
        if sweep is None:  # an optimiser proposes the jobs: what the command line fixes is checked now
            base_packages(config)
        plans = []
        for num, overrides in enumerate(sweep or []):
            try:
                cfg = compose(config_name=config.hydra.job.config_name, overrides=overrides)
                plan = check(cfg)
            except ConfigError as exc:
                fail(f"{exc} (job: {' '.join(overrides)})")
            except (HydraException, OmegaConfBaseException) as exc:  # a value of the sweep Hydra refuses
                fail(f"{outcome.usage_sentence(exc)} (job: {' '.join(overrides)})")
            keys = frozenset((seed, n) for seed in plan.seeds for n in plan.sizes)
            plans.append(JobPlan(num, points_file_of(plan), keys))
        outcome.watch(files=[p.points_file for p in plans])
        join_workers()
        launcher = cluster.launcher_values(config.hydra)
        try:  # no sbatch, unknown partition, time limit too short, Ray address unreachable: before any job
            cluster.preflight(launcher, points_files=[plan.points_file for plan in plans])
        except ConfigError as exc:
            fail(str(exc))
        _, _, notice = launchers.thread_budget(config.hydra, int(config.threads),
                                               sweep_jobs=len(sweep) if sweep is not None else None)
        if notice:
            print(notice, file=sys.stderr, flush=True)
        if config.get("progress", True):
            self._progress = SweepProgress(plans if sweep is not None else None, Path(config.hydra.sweep.dir),
                                           job_file=JOB_FILE).start()
        self._cluster = cluster.announce(launcher)  # SLURM job ids and how to watch them, once submitted

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from mvd import console
        from mvd.loggers.wandb import log_study

        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None
        statuses = read_statuses(Path(config.hydra.sweep.dir), since=self._started)
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


def base_packages(config: DictConfig) -> None:
    """Under a sweeper whose jobs are not known up front: refuse a missing optional package of the
    model and logger the command line fixes (its overrides that sweep nothing), before the first job."""
    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mvd.errors import ConfigError
    from mvd.job import packages

    arguments = list(config.hydra.overrides.task)
    try:
        parsed = OverridesParser.create().parse_overrides(arguments)
        fixed = [text for text, o in zip(arguments, parsed) if not o.is_sweep_override()]
        cfg = compose(config_name=config.hydra.job.config_name, overrides=fixed)
    except Exception:  # a config that composes only with the swept values: each job checks itself
        return
    try:
        packages(cfg)
    except ConfigError as exc:
        fail(str(exc))


def points_file_of(plan) -> Path:
    """The points file of a planned curve."""
    from mvd.store import points_dir

    return points_dir(plan.study_dir) / f"{plan.run_id}.parquet"


def build_report(study_dir: Path) -> None:
    """Build the report and print its verdict; a failure is reported, never raised."""
    import json

    from mvd.report import build

    try:
        from mvd.report.lead import order

        out = build(study_dir)
        datasets = json.loads((out.parent / "summary.json").read_text()).get("datasets", {})
        for name in order(datasets):  # the report's first sentences: one action per dataset, biggest gain first
            print(f"verdict: {datasets[name]['lead']}")
        print(f"report: {out}")
    except Exception as exc:  # the points are safe; the report can be rebuilt with mvd-report
        print(f"mvd: report not built ({type(exc).__name__}: {exc}); rebuild with: mvd-report {study_dir}")
