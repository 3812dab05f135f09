"""The ``mvd`` command: Hydra wires config, I/O and logging around ``run_curve``.

Heavy libraries (scikit-learn, pandas, torch, wandb) are imported inside the
job, so ``mvd --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from mvd.config import CONF_DIR, register
from mvd.outcome import fail

__all__ = ["main", "job"]

GROUPS = ("dataset", "model", "quality", "cleaning", "curve", "logger", "business", "experiment")


def options(group: str, extra_dirs: tuple = ()) -> list[str]:
    """Names available in a config group: the bundled YAML files (studies: experiments/) and the user's."""
    if group == "experiment":
        from mvd.bundle import studies

        names = {name for name in studies() if "/" not in name}
    else:
        names = {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
    return sorted(names | {p.stem for d in extra_dirs for p in (Path(d) / group).glob("*.yaml")})


def user_config_dirs(args: list[str]) -> tuple | None:
    """Folders the user adds to Hydra's search path (``--config-dir``, ``hydra.searchpath``); None: unknowable."""
    dirs = []
    for i, arg in enumerate(args):
        if arg in ("--config-dir", "-cd") and i + 1 < len(args):
            dirs.append(args[i + 1])
        elif arg.startswith("--config-dir="):
            dirs.append(arg.partition("=")[2])
        elif arg.lstrip("+").startswith("hydra.searchpath="):
            for entry in arg.partition("=")[2].strip("[]").split(","):
                entry = entry.strip().strip("'\"")
                if not entry.startswith("file://"):
                    return None  # a package on the search path: leave the names to Hydra
                dirs.append(entry[len("file://"):])
    return tuple(dirs)


def precheck(args: list[str]) -> None:
    """Refuse unknown group options on the command line before Hydra creates anything."""
    extra = user_config_dirs(args)
    if extra is None:
        return
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or key not in GROUPS or not value or value == "null":
            continue
        if any(ch in value for ch in "()[]{}*"):
            continue  # sweep functions (glob, range, choice) are Hydra's to expand
        allowed = options(key, extra)
        for name in value.split(","):
            if name not in allowed:
                fail(f"{key}={name!r} is not known; allowed: {', '.join(allowed)}.")


def job(cfg: DictConfig) -> dict:
    """One curve job (``mvd.job.run``), bad input refused in one sentence: its status."""
    from mvd.errors import ConfigError
    from mvd.job import run
    from mvd.store import StoreError

    try:
        return run(cfg)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))


register()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _hydra_main(cfg: DictConfig):
    from mvd.job import task

    return task(cfg)


def main() -> None:
    precheck(sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
