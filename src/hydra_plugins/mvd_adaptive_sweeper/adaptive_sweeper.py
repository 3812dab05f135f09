"""A Hydra sweeper that runs an mvd study in rounds and stops when the decision is settled.

Public Hydra APIs only: the ``Sweeper`` plugin interface, the override parser
and the configured launcher (``self.launcher.launch``), so it works with every
launcher.  One job is still one learning curve: a round launches, per curve,
jobs whose ``curve.sizes`` and ``curve.seeds`` are the points the policy asks
for.  A curve's run id leaves sizes and seeds out, so every round appends to
the same points file and resumes like any mvd job.  The policy itself,
its record live in ``mvd.adaptive``; the decision is the report's.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)

# curve keys the sweeper sets per job; the user's own values define the grid instead
_SET_PER_JOB = ("curve.sizes", "curve.seeds", "curve.fractions")


class AdaptiveSweeper(Sweeper):
    # it steers by the store, not by the jobs' return values: jobs return their status, no validation fits
    uses_job_return_value = False

    def __init__(self, params: Optional[Dict[str, str]] = None, **settings: Any) -> None:
        """``settings``: the fields of ``mvd.adaptive.Settings`` (typed by the sweeper's structured config)."""
        super().__init__()
        self.params = dict(params or {})
        self.options = dict(settings)
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher = None
        self._job_idx = 0
        self._launched: set = set()
        self.returns: List[Sequence[Any]] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    # ------------------------------------------------------------------ the grid

    def _jobs(self, arguments: List[str]) -> List[List[str]]:
        """Every curve job of the grid: the cartesian product of the sweep axes (as the basic sweeper)."""
        from mvd.grid import GridError, union

        try:
            return union({}, self.params, arguments, self.hydra_context.config_loader)
        except GridError as exc:
            _fail(f"the adaptive sweeper: {exc}")

    def _grid(self, jobs: List[List[str]]):
        from mvd import adaptive, job
        from mvd.errors import ConfigError
        from mvd.levers import tuned_name

        grid, self._dirs = [], {}
        for overrides in jobs:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with read_write(cfg), open_dict(cfg):
                del cfg["hydra"]  # the config the job gets (Hydra's run_job does the same)
            try:
                plan = job.check(cfg)  # every job's input checks, before any work
            except ConfigError as exc:
                _fail(f"{exc} (job: {' '.join(overrides)})")
            if plan.run_id in self._dirs:
                continue  # the same curve twice (e.g. quality=clean,clean): one arm, run once
            kept = tuple(o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in _SET_PER_JOB)
            grid.append(adaptive.Curve(
                run_id=plan.run_id, dataset=str(plan.dataset.name),
                model=tuned_name(str(cfg.model.name), _tuned(cfg)),
                sophistication=int(cfg.model.sophistication), quality=str(cfg.quality.name),
                quality_rate=float(cfg.quality.rate), cleaning=str(cfg.cleaning.name),
                sizes=tuple(int(n) for n in plan.sizes), seeds=tuple(int(s) for s in plan.seeds), overrides=kept))
            self._dirs[plan.run_id] = Path(plan.study_dir)
        return grid

    # ------------------------------------------------------------------ rounds

    def _batch(self, keys) -> List[List[str]]:
        """Jobs for new keys: per curve, one job per group of seeds that need the same sizes."""
        by_curve: Dict[str, Dict[int, set]] = OrderedDict()
        for run_id, seed, size in keys:
            by_curve.setdefault(run_id, {}).setdefault(seed, set()).add(size)
        batch = []
        for curve in self._grid_list:
            seeds = by_curve.get(curve.run_id)
            if not seeds:
                continue
            groups: Dict[tuple, list] = OrderedDict()
            for seed in sorted(seeds):
                groups.setdefault(tuple(sorted(seeds[seed])), []).append(seed)
            for sizes, group in groups.items():
                batch.append(list(curve.overrides) + [
                    f"curve.sizes=[{','.join(map(str, sizes))}]", "curve.fractions=null",
                    f"curve.seeds=[{','.join(map(str, group))}]"])
        return batch

    def _fetch(self, keys):
        """Launch the keys not launched yet; return the stored points of every asked key."""
        import pandas as pd

        from mvd import adaptive, launchers, store

        new = [k for k in keys if k not in self._launched]
        batch = self._batch(new)
        if batch:
            self.validate_batch_is_legal(batch)
            os.environ[launchers.SWEEP_JOBS_ENV] = str(len(batch))  # parallel workers size their threads from it
            results = self.launcher.launch(batch, initial_job_idx=self._job_idx)
            self._job_idx += len(batch)
            self.returns.append(results)
        self._launched.update(new)
        points = adaptive.load_curves(store.points_dir(d) / f"{run_id}.parquet" for run_id, d in self._dirs.items())
        if points.empty:
            return points
        index = pd.MultiIndex.from_arrays([points["run_id"].astype(str), points["seed"].astype(int),
                                           points["train_size"].astype(int)])
        return points[index.isin(list(keys))]

    def sweep(self, arguments: List[str]) -> Any:
        from mvd import adaptive
        from mvd.errors import ConfigError

        settings = adaptive.Settings(**self.options)
        jobs = self._jobs(arguments)
        try:
            adaptive.check_settings(settings)  # settings first: a bad value costs no composing
        except ConfigError as exc:
            _fail(str(exc))
        self._grid_list = self._grid(jobs)
        try:
            adaptive.check(settings, self._grid_list)
        except ConfigError as exc:
            _fail(str(exc))
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        def on_round(summary: dict) -> None:
            print(f"adaptive: round {summary['round']}: {summary['points']} point(s) so far "
                  f"({summary['cpu_seconds']:.1f} CPU-s)", flush=True)
            for dataset, dec in summary["decisions"].items():
                print(f"adaptive:   {dec['sentence']}", flush=True)

        record = adaptive.run(self._grid_list, self._fetch, settings, on_round=on_round)
        for study_dir in sorted(set(self._dirs.values())):
            adaptive.write_record(study_dir, record)
        print(f"adaptive: {record.stop_sentence}", flush=True)
        skipped = sum(s["points"] for s in record.skipped)
        print(f"adaptive: {skipped} grid point(s) skipped, with reasons, in "
              f"{', '.join(str(d / adaptive.RECORD_FILE) for d in sorted(set(self._dirs.values())))}", flush=True)
        return self.returns


def _tuned(cfg) -> bool:
    """Whether the job tunes its model (a tuned curve is a lever of its own)."""
    tuning = cfg.get("tuning")
    return tuning is not None and str(tuning.get("name", "none")) != "none"


def _fail(message: str) -> None:
    """One sentence, exit status 2, as every mvd refusal (nothing has been fitted)."""
    from mvd.outcome import fail

    fail(message)
