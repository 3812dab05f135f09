"""Where a run that names no study goes: a study of its own, outside the tracked tree.

A study is a report's scope: every curve in it is compared with every other.
So a command that names no study (no ``study=``, no experiment, which names
one) does not land in a shared folder where a later command's verdict would
talk about an earlier command's models.  The ``mvd`` command gives it a study
named after its own overrides, e.g. ``dataset=iris,model=dummy+tree`` for
``mvd -m dataset=iris model=dummy,tree``, in ``outputs/studies/`` (git-ignored)
unless ``results_dir`` says where.  The same command again is the same study,
so a rerun resumes; settings that do not change what is measured (threads,
progress, launchers, loggers, the report's) do not change the name.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["ADHOC_DIR", "study_name", "with_study"]

# where a command's own study lives when it names neither a study nor results_dir (git-ignored)
ADHOC_DIR = "outputs/studies"
# keys that name a study (an experiment sets `study:`), and a root config of the user's own, which may
_NAMED = ("study", "experiment")
_OWN_ROOT = ("--config-name", "-cn")
# flags after which nothing runs (help, shell completion)
_NO_RUN = ("--help", "-h", "--hydra-help", "--info", "-i", "--shell-completion", "-sc")
# override keys that do not change what a study measures, so not its name
_NOT_IN_NAME = ("hydra", "progress", "threads", "logger", "results_dir", "report", "verdict", "question")
_MAX_NAME = 80


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def _overrides(args: list[str]) -> list[str]:
    return [a for a in args if "=" in a and not a.startswith("-")]


def study_name(overrides: list[str]) -> str:
    """A study's name from a command's overrides: sorted ``key=value`` items joined by commas, sweep
    values joined by '+', a path by its file name; with 8 hex digits of the full list when shortened."""
    kept = sorted(o for o in overrides if not _key(o).split(".")[0].split("/")[0] in _NOT_IN_NAME)
    if not kept:
        return "defaults"
    items, shortened = [], False
    for override in kept:
        key, _, value = override.partition("=")
        if "/" in value:
            value, shortened = ",".join(v.rstrip("/").rsplit("/", 1)[-1] for v in value.split(",")), True
        value = re.sub(r"[\[\]()'\"\s]", "", value).replace(",", "+")
        items.append(f"{key.lstrip('+~')}={value}")
    name = re.sub(r"[^\w.=+,-]", "_", ",".join(items))
    if shortened or len(name) > _MAX_NAME:
        digest = hashlib.sha1("\n".join(kept).encode()).hexdigest()[:8]
        name = f"{name[:_MAX_NAME]}-{digest}"
    return name


def with_study(args: list[str]) -> list[str]:
    """The command line with ``study=<its own name>`` (and ``results_dir=outputs/studies`` unless set)
    added when it names no study; as it is otherwise."""
    overrides = _overrides(args)
    if any(a in _NO_RUN or a.split("=")[0] in _OWN_ROOT for a in args) or any(_key(o) in _NAMED for o in overrides):
        return list(args)
    added = [f"study='{study_name(overrides)}'"]
    if not any(_key(o) == "results_dir" for o in overrides):
        added.append(f"results_dir={ADHOC_DIR}")
    return [*args, *added]
