"""The business settings of a study, checked before any work.

A job refuses negative prices before it fits anything, and the report reads
the same checked values, so both go through :func:`check_business`.
"""

from __future__ import annotations

import math

from mvd.config import BusinessConfig
from mvd.errors import ConfigError

__all__ = ["check_business", "COSTS"]

# every price of the business config: money per unit, never negative
COSTS = ("value_correct", "cost_error", "cost_false_positive", "cost_false_negative",
         "cost_per_label", "cost_per_clean_label", "cost_per_compute_hour", "cost_per_unit_error")


def check_business(business: dict) -> dict:
    """Defaults filled in; a negative cost or a ragged cost matrix is refused in one sentence."""
    merged = {**vars(BusinessConfig()), **(business or {})}
    for key in COSTS:
        value = merged.get(key)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"business.{key}={value!r} must be a finite number >= 0 (money per unit).")
    matrix = merged.get("cost_matrix")
    if matrix is not None:
        rows = [list(r) for r in matrix]
        if not rows or any(len(r) != len(rows) for r in rows) or any(
                not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 for r in rows for v in r):
            raise ConfigError(f"business.cost_matrix={matrix!r} must be a square matrix [true][predicted] "
                              "of finite costs >= 0.")
        merged["cost_matrix"] = rows
    return merged
