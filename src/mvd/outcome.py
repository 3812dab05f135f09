"""How a job and a multirun end: the one-sentence refusal, the exit codes and
the status file each job leaves in its Hydra job folder.

The status file is how a job reports to the multirun callback with any
launcher (basic, joblib, submitit, a cluster) and any sweeper: the job
catches its own exceptions, writes what happened here, and returns a value;
the callback reads the files when the sweep ends.  Nothing in Hydra's job
results is rewritten.

A usage error Hydra finds while it composes the config (a malformed
override, an unknown group option, a key no schema has) is bad input too:
``usage_sentence`` says it in one sentence and the command exits 2, as for
mvd's own refusals.  Ctrl-C ends in one line (``interrupted``) and exit 130.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["JOB_FILE", "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "fail", "write_status", "read_statuses",
           "usage_sentence", "compose_errors_raised", "composed", "composing", "watch", "interrupted"]

JOB_FILE = "mvd_job.json"
# bad input, refused in one sentence before any work
EXIT_BAD_INPUT = 2
# a multirun in which jobs or points failed (the rest ran; a rerun retries them)
EXIT_FAILED = 1
# Ctrl-C (128 + SIGINT, as a shell reports it)
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print the one-sentence refusal (on one line) and exit with status 2 (bad input)."""
    print(f"mvd: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_INPUT)


def write_status(job_dir: Path, status: dict) -> None:
    """The job's status file, read by the callback once every job has ended."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / JOB_FILE).write_text(json.dumps(status))


def read_statuses(sweep_dir: Path, *, since: float = 0.0) -> list[dict]:
    """Every job's status in a sweep folder, in job order; ``since``: only files written after that
    time (a reused sweep folder still holds an earlier launch's)."""
    def num(path: Path) -> int:
        return int(path.parent.name) if path.parent.name.isdigit() else -1

    files = sorted((p for p in Path(sweep_dir).glob(f"*/{JOB_FILE}") if p.stat().st_mtime >= since - 1.0), key=num)
    return [json.loads(p.read_text()) for p in files]


# Hydra prints its own errors (several lines, exit 1) unless HYDRA_FULL_ERROR is set, when it raises them;
# mvd sets it while Hydra composes the config, so a usage error reaches ``cli.main`` as an exception
_FULL_ERROR = "HYDRA_FULL_ERROR"
_state = {"composing": False}


def compose_errors_raised() -> None:
    """Have Hydra raise the errors it finds while composing (unless the user asked for its full errors)."""
    if not os.environ.get(_FULL_ERROR):
        os.environ[_FULL_ERROR] = "1"
        _state["composing"] = True


def composed() -> None:
    """Hydra has composed the config: errors from here on are the job's, shown as Hydra shows them."""
    if _state["composing"]:
        os.environ.pop(_FULL_ERROR, None)
        _state["composing"] = False


def composing() -> bool:
    """Whether an exception now is one of Hydra's composition errors that mvd reports itself."""
    return _state["composing"]


def usage_sentence(exc: BaseException) -> Optional[str]:
    """One sentence for a usage error Hydra or OmegaConf raised while composing the config; None for
    anything else."""
    from hydra.errors import HydraException, MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(exc, (HydraException, OmegaConfBaseException)):
        return None
    text = str(exc)
    cause = exc.__cause__
    if isinstance(exc, MissingConfigException):
        missing = re.search(r"Could not (?:find|load) '([^']+)'", text)
        if missing:
            return _missing_option(missing.group(1), re.match(r"In '([^']+)'", text), getattr(exc, "options", None))
    if isinstance(exc, OverrideParseException):
        detail = text.splitlines()[0] if text.strip() else "malformed"
        return (f"an override could not be parsed ({detail}); the syntax is "
                f"https://hydra.cc/docs/1.3/advanced/override_grammar/basic.")
    full_key = getattr(cause, "full_key", None)
    parent = getattr(cause, "parent_node", None)
    if full_key and parent is not None and "not in" in str(cause):  # a key the config does not have
        group = full_key.rpartition(".")[0] or "the config"
        keys = ", ".join(str(k) for k in parent.keys())
        if isinstance(getattr(cause, "object_type", None), type) and cause.object_type is not dict:
            return f"{full_key} is not a key of {group}; allowed: {keys}."
        return (f"{full_key} is not a key of {group} (it has: {keys}); an argument its _target_ takes "
                f"is added with +{full_key}=VALUE.")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if first.startswith("Ambiguous value for argument"):
        return f"{first}: sweep over it with -m (--multirun), or write a list as key=[a,b]."
    if first.startswith("Error merging override ") and cause is not None and str(cause).strip():
        return f"{first[len('Error merging override '):]} is refused ({str(cause).strip().splitlines()[0].rstrip('.')})."
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith(("To append", "See https", "full_key", "object_type",
                                                              "reference_type", "Config search path", "provider="))]
    if cause is not None:
        lines += [line.strip() for line in str(cause).splitlines()[:1] if line.strip()]
    sentence = "; ".join(lines[:2]) or type(exc).__name__
    return sentence if sentence.endswith(".") else sentence + "."


def _missing_option(path: str, inside, options) -> str:
    """A config group option Hydra cannot find: a plugin's option whose plugin is missing, or a typo."""
    from mvd import extras

    group, _, option = path.rpartition("/")
    chosen = inside.group(1) if inside and not inside.group(1).endswith("/config") else path
    chosen_group, _, chosen_option = chosen.rpartition("/")
    what = f"{chosen_group}={chosen_option}"
    extra = extras.for_option(group, option)
    if extra:
        return f"{what} needs a Hydra plugin that is not installed; install it with pip install 'mvd[{extra}]'."
    if chosen != path:  # an option we ship, built on a plugin's option
        kind = group.rpartition("/")[2]
        return (f"{what} needs {group}={option}, a Hydra plugin that is not installed; install it "
                f"(Hydra's own: pip install hydra-{option}-{kind}).")
    known = f"; allowed: {', '.join(options)}" if options else ""
    return f"{group}={option!r} is not known{known}."


# the points files of the running command's curves (or its study folder), counted when it is interrupted
_watched: dict = {"files": set(), "studies": set()}


def watch(*, files: Iterable[Path] = (), study_dir: Optional[Path] = None) -> None:
    """Points files (or a study folder) this command writes to: what ``interrupted`` counts."""
    _watched["files"].update(Path(f) for f in files)
    if study_dir is not None:
        _watched["studies"].add(Path(study_dir))


def stored_points() -> int:
    """Points stored (status ok) in the watched files, or in the watched studies when no file is known."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = set(_watched["files"]) or {p for d in _watched["studies"] for p in (Path(d) / "points").glob("*.parquet")}
    total = 0
    for path in files:
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            with open(path, "rb") as handle:
                status = pq.read_table(handle, columns=["status"]).column("status")
            total += int(pc.sum(pc.equal(status, "ok")).as_py() or 0)
        except Exception:  # a file being replaced: it counts as nothing, the rerun reads it
            continue
    return total


def interrupted() -> None:
    """Ctrl-C: one line saying what is kept, exit 130 (no traceback).

    The interrupt has already unwound the run (locks released, points files whole); the process then
    ends without the interpreter's teardown, where a native library's worker thread interrupted
    mid-call could abort it ("terminate called without an active exception", exit -6).
    """
    import logging

    print(f"mvd: interrupted; {stored_points()} points stored; rerun the same command to resume.",
          file=sys.stderr, flush=True)
    logging.shutdown()
    sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)
