"""A Hydra launcher that runs each job of a multirun as a Ray task.

Written on Hydra's public Launcher API (``setup``/``launch``, ``run_job``,
``Singleton`` state shipped to the worker, as Hydra's own launchers do)
because ``hydra-ray-launcher`` pins ``cloudpickle<3`` while joblib >= 1.5
needs ``cloudpickle>=3``, and the joblib launcher hard-codes joblib's
``loky`` backend, so joblib's Ray backend cannot be chosen through it.

A job is one Ray task with ``num_cpus`` CPUs (mvd's ``threads``): Ray
places as many at once as the cluster has CPUs.  A task whose worker dies
(a node lost, a process killed) is retried up to ``max_retries`` times and
resumes from its stored points.  Workers start in the launching
directory and get the launching process's ``MVD_*``, ``WANDB_*`` and
``PYTHONPATH`` variables, so relative paths and settings mean the same
there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig, open_dict

__all__ = ["RayLauncher", "forwarded_env"]

FORWARDED_PREFIXES = ("MVD_", "WANDB_")
FORWARDED_NAMES = ("PYTHONPATH", "OMP_NUM_THREADS")


def forwarded_env(environ: dict | None = None) -> dict[str, str]:
    """The variables a worker on another node needs to behave like the launching process."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k.startswith(FORWARDED_PREFIXES) or k in FORWARDED_NAMES}


def _execute(hydra_context, sweep_config: DictConfig, task_function, singleton_state: dict, cwd: str) -> JobReturn:
    """One job in a Ray worker: Hydra's globals as in the launching process, then Hydra's ``run_job``."""
    from hydra.core.hydra_config import HydraConfig

    Singleton.set_state(singleton_state)
    os.chdir(cwd)
    setup_globals()
    HydraConfig.instance().set_config(sweep_config)
    return run_job(hydra_context=hydra_context, task_function=task_function, config=sweep_config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


class RayLauncher(Launcher):
    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0,
                 max_retries: int = 3, init: dict | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self.init = dict(init or {})
        self.config = self.hydra_context = self.task_function = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import logging

        import ray

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        log = logging.getLogger(__name__)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, **self.init}
            if self.address:
                kwargs["address"] = self.address
            env = kwargs.setdefault("runtime_env", {}).setdefault("env_vars", {})
            env.update({k: v for k, v in forwarded_env().items() if k not in env})
            ray.init(**kwargs)
        log.info(f"Ray ({ray.get_runtime_context().gcs_address}) sweep output dir : {sweep_dir}")
        task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=self.max_retries)(_execute)
        state, cwd, refs = Singleton.get_state(), os.getcwd(), []
        for idx, overrides in enumerate(job_overrides):
            idx += initial_job_idx
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
                sweep_config.hydra.job.num = idx
            refs.append(task.remote(self.hydra_context, sweep_config, self.task_function, state, cwd))
        return ray.get(refs)
