"""The label-noise rate at which the model ranking flips.

Northcutt et al. (2021) found a smaller network overtaking a larger one once
enough test labels were noisy.  Here the training labels are corrupted: per
dataset, at the largest size every model shares, the best model on clean data
is compared with each other model across the uncleaned label-noise rates;
the flip rate is where the error difference first crosses zero (linear
between measured rates).  The interval comes from the same seed resamples
(resamples where no flip happens are left out; the share that flips is
reported with it).
"""

from __future__ import annotations

import numpy as np

from mvd.report.aggregate import SeedResamples

__all__ = ["ranking_flips"]


def _crossing(rates: np.ndarray, diff: np.ndarray) -> np.ndarray:
    """First rate where diff (rows x rates) turns positive, linear between rates; NaN when it never does."""
    out = np.full(diff.shape[0], np.nan)
    done = np.zeros(diff.shape[0], dtype=bool)
    for i in range(1, len(rates)):
        d0, d1 = diff[:, i - 1], diff[:, i]
        cross = ~done & (d0 <= 0) & (d1 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            at = rates[i - 1] + (0 - d0) * (rates[i] - rates[i - 1]) / (d1 - d0)
        out = np.where(cross, at, out)
        done |= cross | (d0 > 0)
    return out


def ranking_flips(curves: dict, dataset: str, resamples: SeedResamples) -> list[dict]:
    """One row per (clean winner, challenger) pair whose ranking flips at some label-noise rate."""
    mine = [c for c in curves.values() if c.dataset == dataset and c.condition[2] == "none"
            and (c.condition[0] == "label_noise" or float(c.condition[1]) == 0)]
    rates = sorted({float(c.condition[1]) for c in mine})
    if len(rates) < 2 or 0.0 not in rates or not any(c.condition[0] == "label_noise" for c in mine):
        return []
    by_model: dict = {}
    for c in mine:
        by_model.setdefault(c.model, {})[float(c.condition[1])] = c
    models = [m for m, got in by_model.items() if all(r in got for r in rates)]
    if len(models) < 2:
        return []
    shared = set.intersection(*(set(by_model[m][r].n.tolist()) for m in models for r in rates))
    if not shared:
        return []
    n = max(shared)
    err = {m: np.array([by_model[m][r].error_at(n) for r in rates]) for m in models}
    winner = min(models, key=lambda m: (err[m][0], m))

    def resampled(m):
        cols = []
        for r in rates:
            c = by_model[m][r]
            i = int(np.searchsorted(c.n, n))
            cols.append(resamples.means(c.wide[i:i + 1], c.seeds)[:, 0])
        return np.stack(cols, axis=1)                                  # (U, rates)

    base_r = resampled(winner)
    rows = []
    for m in sorted(models):
        if m == winner:
            continue
        diff = err[winner] - err[m]                                     # > 0: the challenger is better
        at = float(_crossing(np.array(rates), diff[None])[0])
        flips_r = _crossing(np.array(rates), base_r - resampled(m))
        share = float(np.mean(np.isfinite(flips_r[resamples.inverse])))
        low, high = resamples.interval(flips_r[:, None])
        rows.append({"model": winner, "challenger": m, "train_size": int(n), "flip_rate": at if np.isfinite(at) else None,
                     "ci_low": float(low[0]), "ci_high": float(high[0]), "resamples_flipping": share,
                     "rates": rates})
    return rows
