"""The score an optimising Hydra sweeper may maximise: the job's primary
metric on a held-out slice of the training pool, never on the test split.

A sweeper that reads a job's return value (Optuna, Nevergrad, Ax) steers the
sweep by it, so that value must not be a test score: choosing configurations
by their test score and then reporting that score overstates it.  For each
seed of the job, the training pool that seed draws (every row outside its
test split) becomes a dataset of its own; the curve engine splits it again,
with the same seed and test fraction, into an inner pool and a validation
slice, corrupts and cleans the inner pool as the study does, fits the model
at the job's largest size that fits, and scores the slice.  Test rows are
never read.  The score is the mean over seeds, oriented so that higher is
better (error metrics such as rmse are negated): a sweeper always maximises.

It costs one more fit per seed, so a job computes it only under a sweeper
other than Hydra's basic one (which never reads return values).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path

__all__ = ["validation_score"]


def validation_score(prepared) -> float:
    """Mean over the job's seeds of its primary metric on a held-out slice of the training pool
    (higher is better; NaN when no fit succeeded)."""
    from mvd import curve, metrics, splits
    from mvd.data import take

    ds = prepared.dataset
    fraction = prepared.test_fraction
    scores = []
    with tempfile.TemporaryDirectory(prefix="mvd-sweep-score-") as tmp:
        for seed in prepared.seeds:
            pool, _ = splits.split(ds.y, seed=seed, test_fraction=fraction, task=ds.task, test_index=ds.test_index)
            pool_only = dataclasses.replace(ds, X=take(ds.X, pool), y=ds.y[pool], test_index=None)
            inner, _ = splits.split(pool_only.y, seed=seed, test_fraction=fraction, task=ds.task)
            size = min(max(prepared.sizes), prepared.corruption.pool_size(pool_only.y[inner]))
            inner_plan = dataclasses.replace(prepared, dataset=pool_only, study_dir=Path(tmp) / "validation",
                                             sizes=[size], seeds=[seed], notes=[])
            frame = curve.run_curve(prepared=inner_plan)
            ok = frame[frame["status"] == "ok"]
            scores.extend(float(v) for v in ok[f"test_{prepared.primary}"])
    if not scores:
        return math.nan
    mean = sum(scores) / len(scores)
    return -mean if prepared.primary in metrics.LOWER_IS_BETTER else mean
