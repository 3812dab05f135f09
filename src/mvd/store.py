"""Results store: one parquet file of points per curve job.

``results/<study>/points/<run_id>.parquet`` is rewritten after every point
through a temporary file and an atomic rename, so a reader never sees half a
file and a killed job loses at most the point it was fitting.  Parallel jobs
never share a file.  Temporary files are hidden (leading dot) and never read.

Two launches of the same study (or two jobs that split one curve's seeds)
coordinate through file locks in ``results/<study>/locks/`` (the ``filelock``
package: ``flock`` on POSIX, ``LockFileEx`` on Windows): ``claim`` holds a
(run_id, seed) for a whole job, so a second launch waits instead of fitting
the same points twice, and every write re-reads the file under a short
per-file lock and merges, so no writer drops another's points.  The OS
releases a lock when its process dies, so a killed job never leaves a stale
claim.  The holder of a claim writes who it is beside the lock
(``<lock>.holder``, removed on release, Ctrl-C included), so a waiter can
say whom it waits for.  ``flock`` works
on local disks and on NFSv4 (Linux emulates it with POSIX locks there); on
other shared filesystems run one launch at a time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from mvd.files import temporaries, write_atomic

__all__ = ["COLUMNS", "VOLATILE", "CurveFile", "claim", "load", "points_dir", "read_table", "StoreError",
           "without_volatile"]

# the columns every points file holds, in order (a contract: never renamed or removed); others follow
COLUMNS = [
    "study", "run_id", "dataset", "task", "modality", "model", "sophistication",
    "quality", "quality_rate", "cleaning", "train_size", "n_fit", "seed",
    "test_accuracy", "test_balanced_accuracy", "test_macro_f1", "test_log_loss", "test_roc_auc",
    "test_rmse", "test_mae", "test_r2", "primary_metric", "train_score",
    "fit_seconds", "predict_seconds", "n_params", "device", "status", "error",
    "config_hash", "mvd_version", "created_at",
]


# columns that measure the machine, not the model: they differ between identical reruns
VOLATILE = ["fit_seconds", "predict_seconds", "train_predict_seconds", "tune_seconds", "tune_overhead_seconds",
            "predict_ms_per_1000", "created_at"]


def without_volatile(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns an identical rerun must reproduce exactly (curves without tuning never write tuning times)."""
    return frame.drop(columns=[c for c in VOLATILE if c in frame.columns])


class StoreError(RuntimeError):
    """A points file that cannot be read: named, never silently merged."""


def points_dir(study_dir: Path) -> Path:
    return Path(study_dir) / "points"


def read_table(path, columns: list[str] | None = None) -> pa.Table:
    """One points file as an Arrow table, read through a single open handle.

    Reading by path lets pyarrow open the file twice (footer, then pages); a
    writer's rename in between would pair one version's footer with the
    next version's pages.  An open handle keeps the version it opened.
    """
    with open(path, "rb") as handle:
        return pq.read_table(handle, columns=columns)


def _read(path: Path) -> pd.DataFrame:
    try:
        with open(path, "rb") as handle:
            return pd.read_parquet(handle)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise StoreError(f"points file {path} is corrupt or unreadable ({exc}); move it away or delete it and rerun.") from exc


def locks_dir(study_dir: Path) -> Path:
    return Path(study_dir) / "locks"


@contextlib.contextmanager
def _locked(path: Path, *, note: str = "", notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; if busy, say who holds it (once) and wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    holder = path.with_name(f"{path.name}.holder")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if notify is not None:
            try:
                who = holder.read_text(errors="replace").strip()
            except OSError:
                who = ""
            notify(f"mvd: {note} is held by {who or 'another process'}; waiting for it ({path}).")
        lock.acquire()
    try:
        if note:  # who holds the claim, for the next waiter's message
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            holder.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {stamp}")
        yield
    finally:
        if note:  # removed while still held, so it never deletes the next holder's note
            holder.unlink(missing_ok=True)
        lock.release()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def claim(study_dir: Path, run_id: str, seeds: Iterable[int], *,
          notify: Callable[[str], None] | None = _say) -> Iterator[None]:
    """Claim the seeds of one curve for a job: another launch running them makes this one wait.

    Seeds are locked one by one in ascending order, so jobs that share some
    seeds of a curve never deadlock, and jobs with disjoint seeds run at once.
    """
    with contextlib.ExitStack() as stack:
        for seed in sorted({int(s) for s in seeds}):
            path = locks_dir(study_dir) / f"{run_id}.seed{seed}.lock"
            stack.enter_context(_locked(path, note=f"{run_id} seed {seed}", notify=notify))
        yield


class CurveFile:
    """The points of one curve job, appended one at a time, atomically.

    ``frame`` is the whole file: with jobs that split a curve's seeds it also
    holds the other jobs' points, merged at every write.  Points are kept as
    records and written with pyarrow directly: a point costs about a
    millisecond to store, not the pandas round trip.
    """

    def __init__(self, study_dir: Path, run_id: str):
        self.path = points_dir(study_dir) / f"{run_id}.parquet"
        self._lock = locks_dir(study_dir) / f"{run_id}.lock"
        self._seen = None
        self._rows: list[dict] = []
        self._reload()

    def _signature(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload(self) -> None:
        """Take the file as it is on disk now (re-read only if another writer changed it)."""
        signature = self._signature()
        if signature == self._seen:
            return
        self._seen = signature
        self._rows = [] if signature is None else _read(self.path).to_dict("records")

    @property
    def records(self) -> list[dict]:
        """The stored points, one dict each, sorted by (seed, train_size)."""
        return self._rows

    @property
    def frame(self) -> pd.DataFrame:
        if not self._rows:
            return pd.DataFrame()
        return pd.DataFrame(self._rows, columns=_columns(self._rows))

    def done(self) -> set[tuple[int, int]]:
        """(seed, train_size) pairs already stored with status ok."""
        return {(int(r["seed"]), int(r["train_size"])) for r in self._rows if r["status"] == "ok"}

    def append(self, point: dict) -> None:
        """Add (or replace a failed) point and rewrite the file atomically, merging other writers' points.

        The curve's points all carry the config hash and study of the job that wrote last.  Points of one
        run_id differ in config only in the grid (seeds, sizes) and the study, which no point's numbers
        depend on, so a curve widened to more seeds or sizes, or seeded from another study's copy of it,
        restamps its earlier points rather than mixing hashes.
        """
        with _locked(self._lock):
            _remove_stale_temporaries(self.path)
            self._reload()
            key = (point["seed"], point["train_size"])
            stamp = {k: point[k] for k in ("config_hash", "study") if k in point}
            rows = [dict(r, **stamp) for r in self._rows if (r["seed"], r["train_size"]) != key] + [dict(point)]
            rows.sort(key=lambda r: (int(r["seed"]), int(r["train_size"])))
            columns = _columns(rows)
            table = pa.Table.from_pydict({c: _cells([r.get(c) for r in rows]) for c in columns})
            write_atomic(self.path, lambda handle: pq.write_table(table, handle))
            self._rows = rows
            self._seen = self._signature()


def _cells(values: list) -> list:
    """A text column's missing cells as None: pandas reads them back as NaN, which Arrow cannot put
    beside strings (a failed point's empty tuning note, then a tuned point's note)."""
    if any(isinstance(v, str) for v in values):
        return [None if isinstance(v, float) and v != v else v for v in values]
    return values


def _columns(rows: list[dict]) -> list[str]:
    """The contract's columns first, in order, then any others in order of appearance."""
    seen = dict.fromkeys(k for r in rows for k in r)
    return [c for c in COLUMNS if c in seen] + [c for c in seen if c not in COLUMNS]


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files left by a killed writer (only called under the file's lock)."""
    for tmp in temporaries(path):
        tmp.unlink(missing_ok=True)


def load(path) -> pd.DataFrame:
    """All points of a study directory (or of its ``points/`` folder) as one DataFrame."""
    path = Path(path)
    folder = path if path.name == "points" else points_dir(path)
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return pd.DataFrame(columns=COLUMNS)
    frames = [_read(p) for p in files]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)
