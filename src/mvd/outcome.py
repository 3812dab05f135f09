"""How a job and a multirun end: the one-sentence refusal, the exit codes and
the status file each job leaves in its Hydra job folder.

The status file is how a job reports to the multirun callback with any
launcher (basic, joblib, submitit, a cluster) and any sweeper: the job
catches its own exceptions, writes what happened here, and returns a value;
the callback reads the files when the sweep ends.  Nothing in Hydra's job
results is rewritten.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["JOB_FILE", "EXIT_BAD_INPUT", "EXIT_FAILED", "fail", "write_status", "read_statuses"]

JOB_FILE = "mvd_job.json"
# bad input, refused in one sentence before any work
EXIT_BAD_INPUT = 2
# a multirun in which jobs or points failed (the rest ran; a rerun retries them)
EXIT_FAILED = 1


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
