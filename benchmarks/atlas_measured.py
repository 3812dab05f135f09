"""What the atlas cost, measured from its own points: worker time per dataset and per arm.

Each curve is one job on one single-threaded worker, and every point stores when it was
written (``created_at``, to the second), so the gaps between a curve's consecutive points
are the worker's time on it: fitting, scoring, tuning and cleaning (confident learning's
out-of-fold fits, which no timing column holds).  Gaps longer than ``--pause`` seconds
are an interruption between sittings, not work, and are dropped; the first point of each
stretch is counted by its own fit, predict and tuning seconds.  On a machine running
nothing else, worker time is CPU time (one BLAS thread per job).

    python benchmarks/atlas_measured.py results/atlas
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

COLUMNS = ["run_id", "dataset", "model", "tuned", "quality", "cleaning", "status", "created_at", "fit_seconds",
           "predict_seconds", "train_predict_seconds", "tune_seconds"]


def worker_seconds(points: pd.DataFrame, pause: float) -> pd.Series:
    """Seconds of worker time per curve (run_id)."""
    out = {}
    for run_id, rows in points.groupby("run_id", sort=True):
        t = pd.to_datetime(rows["created_at"]).sort_values()
        own = rows.loc[t.index, ["fit_seconds", "predict_seconds", "train_predict_seconds", "tune_seconds"]]
        own = own.fillna(0.0).sum(axis=1).to_numpy()
        gaps = t.diff().dt.total_seconds().to_numpy()[1:]
        fresh = np.r_[True, gaps > pause]  # the first point of each stretch: its own seconds
        out[run_id] = float(np.r_[0.0, np.where(gaps > pause, 0.0, gaps)].sum() + own[fresh].sum())
    return pd.Series(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path)
    parser.add_argument("--pause", type=float, default=600.0, help="a longer gap is an interruption (seconds)")
    args = parser.parse_args()
    files = sorted((args.study_dir / "points").glob("*.parquet"))
    points = pd.concat([pd.read_parquet(f, columns=[c for c in COLUMNS if c in pq.read_schema(f).names])
                        for f in files], ignore_index=True)
    for c in ("tune_seconds", "train_predict_seconds"):
        points[c] = points[c] if c in points else 0.0
    seconds = worker_seconds(points, args.pause)
    curves = points.drop_duplicates("run_id").set_index("run_id")
    curves["arm"] = np.where(curves["tuned"].fillna(False).astype(bool), "tuned",
                             np.where(curves["quality"] == "clean", "clean", "noisy"))
    curves["hours"] = seconds / 3600
    ok = points[points["status"] == "ok"].groupby("dataset").size()
    table = curves.pivot_table(index="dataset", columns="arm", values="hours", aggfunc="sum", fill_value=0.0)
    table["total"] = table.sum(axis=1)
    table["points"] = ok
    print(table.round(2).to_string())
    print(f"all datasets: {table['total'].sum():.2f} worker-hours, {int(ok.sum()):,} points, "
          f"{len(curves)} curves, {int((points['status'] != 'ok').sum())} failed points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
