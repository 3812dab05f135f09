"""The ``mvd`` command: Hydra wires config, I/O and logging around ``run_curve``.

Heavy libraries (scikit-learn, pandas, torch, wandb) are imported inside the
job, so ``mvd --help`` stays fast.

Bad input ends in one sentence and exit 2, whether mvd or Hydra found it
(:mod:`mvd.outcome`); Ctrl-C ends in one line and exit 130.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import hydra
from omegaconf import DictConfig

from mvd.config import CONF_DIR, register
from mvd import outcome
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
    # hydra-optuna-sweeper builds its search space from Optuna distributions Optuna deprecated (Uniform,
    # LogUniform, ...: a FutureWarning per swept key and run); the plugin's code, not the user's, so not theirs
    # to act on.  Its sampler's deprecated arguments are left out at the source (hydra/sweeper/sampler/tpe_mvd).
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"hydra_plugins\.hydra_optuna_sweeper")
    precheck(sys.argv[1:])
    from mvd.adhoc import with_study

    sys.argv[1:] = with_study(sys.argv[1:])  # a run that names no study gets one of its own (outputs/studies/)
    outcome.compose_errors_raised()
    try:
        _hydra_main()
    except KeyboardInterrupt:
        outcome.interrupted()
    except Exception as exc:
        sentence = outcome.usage_sentence(exc) if outcome.composing() else None
        if sentence is None:
            raise
        fail(sentence)
    finally:
        outcome.composed()  # the environment as it was, for a caller in the same process


if __name__ == "__main__":
    main()
