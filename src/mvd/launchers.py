"""What the active Hydra launcher means for one job: how many jobs share this
machine, and so how many BLAS/OpenMP threads each job may use.

Oversubscription is the most common hidden slowdown of parallel sweeps:
8 jobs x 8 threads on 8 cores run slower than 8 jobs x 1 thread.
``fit_to_machine`` lowers ``cfg.threads`` so that jobs x threads <= cores
and says so once:

- basic launcher: one job at a time, threads <= cores;
- ``joblib``: min(n_jobs, jobs in the sweep) at a time (n_jobs=-1 means every core);
- ``submitit_local``: every job of the sweep at once;
- ``submitit_slurm``: each job has its own ``cpus_per_task`` (when set).
"""

from __future__ import annotations

import os
import sys

__all__ = ["SWEEP_JOBS_ENV", "concurrency", "cores", "fit_to_machine", "joblib_parallel_kwargs", "thread_budget",
           "warm_joblib_workers"]

# set by the multirun callback in the launching process; workers inherit it
SWEEP_JOBS_ENV = "MVD_SWEEP_JOBS"


def cores() -> int:
    """CPUs this process may use (cgroup and affinity aware, as joblib counts them)."""
    from joblib import cpu_count

    return max(1, cpu_count())


def _sweep_jobs() -> int | None:
    value = os.environ.get(SWEEP_JOBS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def concurrency(launcher: dict, *, n_cores: int, sweep_jobs: int | None = None) -> tuple[int, int]:
    """(jobs running at once on this machine, cores they share) for a launcher config."""
    target = str(launcher.get("_target_", ""))
    cap = sweep_jobs or n_cores
    if "JoblibLauncher" in target:
        n_jobs = int(launcher.get("n_jobs") or 1)
        if n_jobs < 0:  # joblib's convention: -1 all cores, -2 all but one, ...
            n_jobs = max(1, n_cores + 1 + n_jobs)
        return min(n_jobs, cap), n_cores
    if "submitit_launcher" in target and "LocalLauncher" in target:
        return cap, n_cores
    if "SlurmLauncher" in target:
        return 1, int(launcher.get("cpus_per_task") or n_cores)
    return 1, n_cores


def _launcher_values(hydra_cfg, threads: int) -> dict:
    """The launcher keys that size a job, resolved (presets may say ``cpus_per_task: ${threads}``)."""
    from omegaconf import OmegaConf

    if "launcher" not in hydra_cfg:
        return {}
    root = OmegaConf.create({"threads": int(threads),
                             "launcher": OmegaConf.to_container(hydra_cfg.launcher, resolve=False)})
    values = {}
    for key in ("_target_", "n_jobs", "cpus_per_task"):
        try:
            values[key] = OmegaConf.select(root, f"launcher.{key}", throw_on_resolution_failure=True)
        except Exception:  # an interpolation into the rest of the hydra node: not a number we can use
            values[key] = None
    return values


def thread_budget(hydra_cfg, threads: int, *, sweep_jobs: int | None = None) -> tuple[int, int, str]:
    """(threads a job may use, jobs at once on this machine, the notice when threads were lowered or "")."""
    launcher = _launcher_values(hydra_cfg, threads)
    jobs, n_cores = concurrency(launcher, n_cores=cores(), sweep_jobs=sweep_jobs)
    budget = max(1, n_cores // jobs)
    if threads <= budget:
        return threads, jobs, ""
    return budget, jobs, (f"mvd: threads={threads} lowered to {budget}: {jobs} job(s) at once share {n_cores} "
                          f"core(s); set threads<={budget} or run fewer jobs at once (hydra.launcher.n_jobs).")


def fit_to_machine(cfg) -> None:
    """Lower ``cfg.threads`` so that jobs x threads <= cores; quiet per-job bars in shared terminals.

    In a multirun the launching process says it once (``MvdCallback``); a job lowers silently.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    threads, jobs, notice = thread_budget(hydra_cfg, int(cfg.threads), sweep_jobs=_sweep_jobs())
    if notice and hydra_cfg.mode != RunMode.MULTIRUN:
        print(notice, file=sys.stderr)
    cfg.threads = threads
    if jobs > 1 and "JoblibLauncher" in str(hydra_cfg.launcher.get("_target_", "")):
        cfg.progress = False  # parallel workers share the terminal: the sweep-level progress speaks for them


def _warm() -> int:
    """Import what a curve job needs, in a joblib worker (runs once per worker)."""
    import hydra  # noqa: F401
    import omegaconf  # noqa: F401

    import mvd.curve  # noqa: F401  (scikit-learn, pandas, pyarrow)

    return os.getpid()


def joblib_parallel_kwargs(launcher_cfg) -> dict:
    """The ``joblib.Parallel`` arguments the joblib launcher builds from its config.

    Its config keys are ``Parallel``'s own; the launcher forces the loky
    backend and passes ``pre_dispatch``, ``batch_size`` and ``max_nbytes`` as
    integers when they are whole numbers ("2*n_jobs", "auto" stay strings).
    """
    from omegaconf import OmegaConf

    kwargs = {k: v for k, v in OmegaConf.to_container(launcher_cfg, resolve=True).items() if k != "_target_"}
    kwargs["backend"] = "loky"
    for key in ("pre_dispatch", "batch_size", "max_nbytes"):
        value = kwargs.get(key)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            kwargs[key] = int(value)
    return kwargs


def warm_joblib_workers(hydra_cfg):
    """Start the joblib launcher's worker processes now, in the background; return a ``join()``.

    Spawning loky workers and importing scikit-learn in them costs ~2 s on
    the critical path of a joblib sweep.  Started while the launching process
    checks every job, that cost overlaps the checks.  The workers are
    created with exactly the launcher's ``Parallel`` arguments, so loky's
    reusable executor hands the same warm workers to the sweep.
    """
    import threading

    target = str(hydra_cfg.launcher.get("_target_", "")) if "launcher" in hydra_cfg else ""
    if "JoblibLauncher" not in target:
        return lambda: set()
    from joblib import Parallel, delayed, effective_n_jobs

    kwargs = joblib_parallel_kwargs(hydra_cfg.launcher)

    pids: set[int] = set()

    def warm() -> None:
        try:
            n = effective_n_jobs(kwargs.get("n_jobs", -1))
            pids.update(Parallel(**kwargs)(delayed(_warm)() for _ in range(n)))
        except Exception:  # warming is an optimisation; the launcher starts its own workers anyway
            pass

    thread = threading.Thread(target=warm, name="mvd-warm-joblib", daemon=True)
    thread.start()

    def join() -> set[int]:
        """Wait for the warm-up; the warm workers' process ids."""
        thread.join()
        return pids

    return join
