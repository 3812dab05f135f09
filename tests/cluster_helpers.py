"""What the SLURM and Ray tests share: a test cluster's tools, a slow-but-exact model, a reference run.

``SleepyLogisticRegression`` is scikit-learn's logistic regression that sleeps
``$MVD_TEST_FIT_SLEEP`` seconds before each fit: jobs last long enough to be
signalled, requeued or cancelled mid-curve, while the numbers stay exactly
those of a run without the sleep (the sleep is not part of the config).
Jobs import it as ``tests.cluster_helpers``, so the repository root is put
on their ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression

from mvd import store

REPO = Path(__file__).resolve().parents[1]
MVD = str(Path(sys.executable).with_name("mvd"))
SLEEP_ENV = "MVD_TEST_FIT_SLEEP"
PID_ENV = "MVD_TEST_PID_FILE"  # when set, each fit writes its process id there (to kill that worker)
SLEEPY = "model.classification._target_=tests.cluster_helpers.SleepyLogisticRegression"
# a tiny study: 3 curve jobs x 2 sizes x 1 seed
ARGS = ["-m", "dataset=iris", "model=logreg,dummy,tree", "curve.sizes=[16,32]", "curve.seeds=[0]",
        "progress=false", "report.build=false"]
# one slow curve job: 4 points, each fit sleeping
SLOW_ARGS = ["-m", "dataset=iris", "model=logreg", SLEEPY, "curve.sizes=[16,24,32,48]", "curve.seeds=[0]",
             "progress=false", "report.build=false"]


class SleepyLogisticRegression(LogisticRegression):
    """LogisticRegression that waits ``$MVD_TEST_FIT_SLEEP`` seconds before fitting (same numbers)."""

    def fit(self, X, y, sample_weight=None):
        if os.environ.get(PID_ENV):
            Path(os.environ[PID_ENV]).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
        return super().fit(X, y, sample_weight=sample_weight)


def job_env(**extra: str) -> dict:
    """The environment of an ``mvd`` launch in these tests (jobs inherit it)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, WANDB_MODE="disabled", PYTHONPATH=path, **extra)


def command(root: Path, name: str, args: list[str], *extra: str, study: str = "cluster") -> list[str]:
    return [MVD, *args, f"study={study}", f"results_dir={root / 'results'}",
            f"hydra.sweep.dir={root / 'sweeps' / name}", *extra]


def run_mvd(root: Path, name: str, args: list[str], *extra: str, env: dict | None = None,
            timeout: float = 240, study: str = "cluster", check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(command(root, name, args, *extra, study=study), cwd=root, capture_output=True,
                          text=True, timeout=timeout, env=env or job_env())
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def launch(root: Path, name: str, args: list[str], *extra: str, env: dict | None = None,
           study: str = "cluster") -> subprocess.Popen:
    """Start ``mvd`` in the background, in its own process group."""
    return subprocess.Popen(command(root, name, args, *extra, study=study), cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env or job_env())


def interrupt_after_first_point(proc: subprocess.Popen, study: Path, act, timeout: float = 200) -> str:
    """Wait for the study's first stored point, call ``act()`` (kill a worker, requeue, cancel), then wait
    for ``mvd`` to end: its output.  The launch is killed if anything on the way fails."""
    try:
        wait_until(lambda: stored_points(study) >= 1, timeout=120, what="the first point", proc=proc)
        act()
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return out


def stored_points(study_dir: Path) -> int:
    total = 0
    for path in (study_dir / "points").glob("*.parquet"):
        try:
            total += pq.read_metadata(path).num_rows
        except Exception:  # replaced while we read: counted next time
            pass
    return total


def wait_until(ready, *, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"mvd ended before {what}:\n{proc.stdout.read()[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def numbers(study_dir: Path) -> pd.DataFrame:
    """The stored points without the timing columns and the config hash, in a fixed order: jobs that split a
    curve's seeds are one curve, stamped with the hash of whichever job wrote last (mvd.store.CurveFile.append)."""
    frame = store.load(study_dir)
    return (store.without_volatile(frame).drop(columns=["config_hash"], errors="ignore")
            .sort_values(["model", "seed", "train_size"]).reset_index(drop=True))
