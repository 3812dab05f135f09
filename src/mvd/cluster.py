"""Cluster launchers, checked before any job is submitted, and watched after.

``preflight`` refuses, in one sentence each, what would otherwise fail only
once jobs sit in a queue: no ``sbatch`` on PATH, an unknown partition, a
time limit above the partition's or too short for one stored point of the
sweep's curves (submitit asks SLURM for a USR2 signal ``signal_delay_s``
before the limit and requeues the job then, so each attempt has
``timeout_min * 60 - signal_delay_s`` seconds of work), and a Ray address
nobody answers at.

``announce`` prints the SLURM job ids as soon as submitit has submitted the
array (it watches the submitit folder, where submitit files each task under
its job id), with the commands to watch them.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable

from mvd.errors import ConfigError

__all__ = ["kind", "launcher_values", "preflight", "slurm_partitions", "stored_fit_seconds", "announce", "Announcer"]

SLURM_LAUNCHERS = "hydra/launcher=slurm (or submitit_slurm)"
OTHER_LAUNCHERS = "basic, joblib, submitit_local, ray"


def kind(launcher: dict) -> str | None:
    """'slurm', 'ray' or None (a launcher that runs on this machine) from a resolved launcher config."""
    target = str(launcher.get("_target_", ""))
    if target.endswith(".SlurmLauncher"):  # submitit's, or mvd's wrapper of it
        return "slurm"
    if target.endswith("RayLauncher"):
        return "ray"
    return None


def slurm_partitions() -> dict[str, float]:
    """{partition: time limit in minutes (inf when unlimited)} of the cluster; the default one first."""
    try:
        out = subprocess.run(["sinfo", "--noheader", "--format=%P|%l"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ConfigError(f"SLURM's controller did not answer sinfo ({detail.strip().splitlines()[-1]}); "
                          f"check the cluster with `sinfo`, or pick another hydra/launcher ({OTHER_LAUNCHERS}).")
    parts: dict[str, float] = {}
    for line in sorted(out.split(), key=lambda s: not s.split("|")[0].endswith("*")):
        name, _, limit = line.partition("|")
        parts[name.rstrip("*")] = _minutes(limit)
    return parts


def _minutes(limit: str) -> float:
    """SLURM's time format ([days-]hours:minutes:seconds, minutes, 'infinite') in minutes."""
    if limit in ("infinite", "UNLIMITED", "n/a", ""):
        return math.inf
    days, _, rest = limit.rpartition("-")
    fields = [int(f) for f in rest.split(":")]
    seconds = {1: lambda f: f[0] * 60, 2: lambda f: f[0] * 60 + f[1],
               3: lambda f: f[0] * 3600 + f[1] * 60 + f[2]}[len(fields)](fields)
    return (int(days or 0) * 86400 + seconds) / 60


def stored_fit_seconds(points_files: Iterable[Path]) -> tuple[float, str] | None:
    """(longest fit of one stored point of these curves, which point), or None when none is stored."""
    from mvd.store import read_table

    longest = None
    for path in map(Path, points_files):
        if not path.exists():
            continue
        try:
            frame = read_table(path, columns=["model", "dataset", "train_size", "fit_seconds", "status"]).to_pandas()
        except Exception:  # an unreadable file is the job's own one-sentence error
            continue
        frame = frame[frame["status"] == "ok"]
        if len(frame):
            row = frame.loc[frame["fit_seconds"].idxmax()]
            if longest is None or row["fit_seconds"] > longest[0]:
                longest = (float(row["fit_seconds"]),
                           f"{row['model']} on {row['dataset']} at train_size={int(row['train_size'])}")
    return longest


def _check_slurm(launcher: dict, fit: tuple[float, str] | None) -> None:
    if shutil.which("sbatch") is None:
        raise ConfigError(f"{SLURM_LAUNCHERS} submits jobs with SLURM's sbatch, which is not on PATH; run mvd "
                          f"where sbatch is (a login node), or pick another hydra/launcher ({OTHER_LAUNCHERS}).")
    parts = slurm_partitions()
    partition = launcher.get("partition")
    if partition is not None and str(partition) not in parts:
        raise ConfigError(f"hydra.launcher.partition={partition!r} is not a partition of this cluster; "
                          f"allowed: {', '.join(parts)}.")
    name = str(partition) if partition is not None else next(iter(parts), None)
    timeout_min = int(launcher.get("timeout_min") or 0)
    limit = parts.get(name, math.inf) if name else math.inf
    if timeout_min > limit:
        raise ConfigError(f"hydra.launcher.timeout_min={timeout_min} is above partition {name!r}'s time limit "
                          f"of {limit:g} minutes, so the jobs would never start; allowed: 1 to {limit:g}.")
    delay = int(launcher.get("signal_delay_s") or 0)
    window = timeout_min * 60 - delay
    if window <= 0:
        raise ConfigError(f"hydra.launcher.timeout_min={timeout_min} ({timeout_min * 60} s) is not above "
                          f"hydra.launcher.signal_delay_s={delay}, so every job would be told to requeue as it "
                          f"starts; allowed: timeout_min > {delay / 60:g} or a smaller signal_delay_s.")
    if fit is not None and fit[0] >= window:
        need = math.ceil((fit[0] + delay) / 60) + 1
        raise ConfigError(f"hydra.launcher.timeout_min={timeout_min} leaves {window} s per attempt before the "
                          f"requeue signal (signal_delay_s={delay}), less than one stored point's fit time "
                          f"({fit[0]:.1f} s: {fit[1]}), so that point could never finish; "
                          f"allowed: timeout_min >= {need}.")


def _check_ray(launcher: dict) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError("hydra/launcher=ray needs the ray package, which is not installed; "
                          "pip install 'mvd[ray]' (or pick another hydra/launcher).") from None
    address = launcher.get("address")
    if not address or str(address) in ("auto", "local"):
        return  # a local Ray for this sweep, or Ray's own discovery of a running one
    host, _, port = str(address).removeprefix("ray://").rpartition(":")
    try:
        if not host or not port.isdigit():
            raise ValueError("not host:port")
        with socket.create_connection((host, int(port)), timeout=3):
            pass
    except (OSError, ValueError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        raise ConfigError(f"hydra.launcher.address={address!r} is unreachable ({reason or 'timed out'}); start "
                          f"the head node there with `ray start --head`, or allowed: the host:port of a running "
                          f"Ray head, 'auto', or null (a local Ray for this sweep).") from None


def launcher_values(hydra_cfg) -> dict:
    """The launcher config, resolved (``cpus_per_task: ${threads}``, ``${hydra.sweep.dir}``); {} if none."""
    from omegaconf import OmegaConf

    if "launcher" not in hydra_cfg:
        return {}
    try:
        return OmegaConf.to_container(hydra_cfg.launcher, resolve=True)
    except Exception:  # an interpolation only the job can resolve: the keys we check are plain values
        return OmegaConf.to_container(hydra_cfg.launcher, resolve=False)


def preflight(launcher: dict, *, points_files: Iterable[Path] = ()) -> None:
    """Refuse bad cluster input in one sentence (``ConfigError``) before any job is submitted.

    ``points_files``: the sweep's curves, whose stored points say how long one fit takes.
    """
    which = kind(launcher)
    if which == "slurm":
        _check_slurm(launcher, stored_fit_seconds(points_files))
    elif which == "ray":
        _check_ray(launcher)


class Announcer:
    """Watches the submitit folder and prints each new SLURM job id once, with how to watch it."""

    def __init__(self, folder: Path, partition: str | None, say: Callable[[str], None], interval: float = 0.5):
        self.folder, self.partition, self.say, self.interval = Path(folder), partition, say, interval
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mvd-slurm-ids", daemon=True)

    def start(self) -> "Announcer":
        self._thread.start()
        return self

    def poll(self) -> None:
        """Announce the job ids that appeared since the last poll."""
        if not self.folder.is_dir():
            return
        tasks: dict[str, list[str]] = {}
        for entry in self.folder.iterdir():
            job, sep, task = entry.name.partition("_")
            if entry.is_dir() and job.isdigit() and (not sep or task.isdigit()):
                tasks.setdefault(job, []).extend([task] if sep else [])
        for job in sorted(set(tasks) - self.seen, key=int):
            self.seen.add(job)
            n = len(tasks[job])
            what = f"job array {job} ({n} task{'s' if n != 1 else ''})" if n else f"job {job}"
            where = f" on partition {self.partition}" if self.partition else ""
            self.say(f"slurm: submitted {what}{where}; watch it with `squeue -j {job}` and "
                     f"`sacct -j {job}`; logs: {self.folder / (job + '*')}/*_log.out and *_log.err")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.poll()


def announce(launcher: dict) -> Announcer | None:
    """Start announcing SLURM job ids for a submitit SLURM launcher (None for any other launcher)."""
    if kind(launcher) != "slurm" or not launcher.get("submitit_folder"):
        return None
    folder = Path(str(launcher["submitit_folder"]).replace("%j", "").rstrip("/"))
    return Announcer(folder, launcher.get("partition"),
                     lambda line: print(line, file=sys.stderr, flush=True)).start()
