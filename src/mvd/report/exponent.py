"""Does a better model change the learning rate, or only the offset and floor?

Hestness et al. (2017) found that better models shift learning curves while
the exponent b of err(n) = a·n^-b + c stays.  Per dataset, the baseline's and
the best model's curves (same data) are refitted on the same seed resamples;
the 95% interval of b_best - b_baseline (Student's t over their spread) says
whether the exponent differs.  If
the upgrade's b is larger, its data-equivalent multiplier grows with n; if
smaller, it shrinks; otherwise the upgrade is an offset/floor shift.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from mvd.report.aggregate import SeedResamples
from mvd.report.equivalence import refit

__all__ = ["exponent_test"]


def exponent_test(baseline, best, resamples: SeedResamples) -> dict | None:
    """b of both curves, their difference with its interval, and what it means for the multiplier."""
    if baseline is None or best is None or baseline.fit is None or best.fit is None or baseline.key == best.key:
        return None
    _, b0, _ = refit(baseline, resamples)
    _, b1, _ = refit(best, resamples)
    diff = float(best.fit["b"] - baseline.fit["b"])
    k = len(resamples.seeds)
    if k < 2:
        low = high = float("nan")
    else:
        # Student's t over the resamples' standard deviation (corrected by k/(k-1)): with a handful of
        # seeds, percentiles of a bootstrap are too narrow to test an exponent
        sd = float(np.std((b1 - b0)[resamples.inverse])) * np.sqrt(k / (k - 1))
        half = float(stats.t.ppf(0.975, df=k - 1)) * sd
        low, high = diff - half, diff + half
    if np.isfinite(low) and low > 0:
        effect = "grows"
    elif np.isfinite(high) and high < 0:
        effect = "shrinks"
    else:
        effect = "same"
    return {"baseline": baseline.model, "model": best.model, "b_baseline": float(baseline.fit["b"]),
            "b_model": float(best.fit["b"]), "b_diff": diff, "ci_low": low, "ci_high": high,
            "multiplier_with_n": effect}


def describe(test: dict) -> str:
    ci = "" if not np.isfinite(test["ci_low"] if test["ci_low"] is not None else np.nan) else \
        f" [{test['ci_low']:+.2f}, {test['ci_high']:+.2f}]"
    head = (f"{test['baseline']} -> {test['model']} changes the exponent b by {test['b_diff']:+.2f}{ci} "
            f"(b = {test['b_baseline']:.2f} vs {test['b_model']:.2f})")
    if test["multiplier_with_n"] == "grows":
        return head + ": the better model learns faster, so its data-equivalent multiplier grows with n."
    if test["multiplier_with_n"] == "shrinks":
        return head + ": the better model learns more slowly, so its data-equivalent multiplier shrinks with n."
    return head + ": no evidence that the exponent changes; the upgrade shifts the offset and floor."
