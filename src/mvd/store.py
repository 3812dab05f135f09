"""Results store: one parquet file of points per curve job (DESIGN.md section 5).

``results/<study>/points/<run_id>.parquet`` is rewritten after every point
through a temporary file and an atomic rename, so a reader never sees half a
file and a killed job loses at most the point it was fitting.  Parallel jobs
never share a file.  Temporary files are hidden (leading dot) and never read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["COLUMNS", "CurveFile", "load", "points_dir", "StoreError"]

# the contract of DESIGN.md section 5, in order; other columns follow
COLUMNS = [
    "study", "run_id", "dataset", "task", "modality", "model", "sophistication",
    "quality", "quality_rate", "cleaning", "train_size", "n_fit", "seed",
    "test_accuracy", "test_balanced_accuracy", "test_macro_f1", "test_log_loss", "test_roc_auc",
    "test_rmse", "test_mae", "test_r2", "primary_metric", "train_score",
    "fit_seconds", "predict_seconds", "n_params", "device", "status", "error",
    "config_hash", "mvd_version", "created_at",
]


class StoreError(RuntimeError):
    """A points file that cannot be read: named, never silently merged."""


def points_dir(study_dir: Path) -> Path:
    return Path(study_dir) / "points"


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise StoreError(f"points file {path} is corrupt or unreadable ({exc}); move it away or delete it and rerun.") from exc


class CurveFile:
    """The points of one curve job, appended one at a time, atomically."""

    def __init__(self, study_dir: Path, run_id: str):
        self.path = points_dir(study_dir) / f"{run_id}.parquet"
        self.frame = _read(self.path) if self.path.exists() else pd.DataFrame()

    def done(self) -> set[tuple[int, int]]:
        """(seed, train_size) pairs already stored with status ok."""
        if self.frame.empty:
            return set()
        ok = self.frame[self.frame["status"] == "ok"]
        return set(zip(ok["seed"].astype(int), ok["train_size"].astype(int)))

    def append(self, point: dict) -> None:
        """Add (or replace a failed) point and rewrite the file atomically."""
        row = pd.DataFrame([point])
        frame = self.frame
        if not frame.empty:
            same = (frame["seed"] == point["seed"]) & (frame["train_size"] == point["train_size"])
            frame = frame[~same]
        frame = row if frame.empty else pd.concat([frame, row], ignore_index=True)
        frame = frame.sort_values(["seed", "train_size"], kind="stable").reset_index(drop=True)
        ordered = [c for c in COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in COLUMNS]
        self.frame = frame[ordered]
        _write_atomic(self.frame, self.path)


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            frame.to_parquet(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
