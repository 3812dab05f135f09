"""Distribution shift: a training pool drawn from another distribution than the test set.

Each kind selects rows of the training pool (the test set stays the target
distribution: its rows, features and labels are never read here). Selection
runs once per seed, before the nested order is drawn, so every prefix of the
curve comes from the same shifted pool. ``rate`` is the strength in [0, 1]:
rate 0 keeps every row (the clean pool, bit for bit), rate 1 is the full
shift. Draws come from a stream of each kind's own (the seed plus a tag), and
every kind draws them whatever the rate.

Kinds:

- ``covariate_shift``: logistic selection on one numeric feature. A row with
  standardised value z = (x - median) / std is kept with probability
  ``1 - rate * sigmoid(-steepness * z)``: high values stay, low values are
  thinned, so the pool over-represents the upper region (``direction=-1``
  flips it). The feature is named, or chosen as the one whose class means
  differ most (ANOVA F, scikit-learn's ``f_classif``).
- ``label_shift``: class priors of the pool tilted towards a target prior,
  ``q = (1 - rate) * pool prior + rate * target``; the target is named or a
  seeded Dirichlet draw. The largest sub-pool with prior q is kept (at least
  one row of every class present), rows chosen by seeded draws within class.
- ``subgroup_shift``: rows outside a subgroup (a value of a column, or a band
  ``[low, high)`` of a numeric column) are dropped with probability
  ``rate``; at rate 1 the pool holds the subgroup only.

``mixed_order`` builds the order of a mixed pool: m rows of one source fixed,
then rows of the other added in their own nested order (the value of a label
from the target distribution in labels from the shifted one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from mvd.errors import ConfigError

__all__ = [
    "Selection", "KINDS", "covariate_selection", "label_selection", "subgroup_selection",
    "choose_feature", "feature_values", "mixed_order", "stream",
]

KINDS = ("covariate_shift", "label_shift", "subgroup_shift")
# tags of the shift random streams ("shft" + kind index): never shared with other streams
_STREAM = {kind: 0x73686674 + i for i, kind in enumerate(KINDS)}


def stream(kind: str, seed: int) -> np.random.Generator:
    """The random stream of one shift kind for one seed."""
    return np.random.default_rng([int(seed), _STREAM[kind]])


@dataclass
class Selection:
    """Sorted pool rows kept by a shift, and what it did (recorded on every point)."""

    rows: np.ndarray
    info: dict = field(default_factory=dict)


def _round(x: float) -> float:
    return float(f"{x:.6g}")


# --- covariate shift -------------------------------------------------------------


def feature_values(X: Any, feature, names: Optional[Sequence] = None) -> np.ndarray:
    """Values of one feature (a column name, or a position) as floats.

    For an array, a name is looked up in ``names`` (the dataset's feature names).
    """
    if isinstance(X, pd.DataFrame):
        column = X[feature] if not isinstance(feature, int) else X.iloc[:, feature]
        return pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64)
    position = feature if isinstance(feature, int) else list(names).index(feature)
    return np.asarray(X)[:, position].astype(np.float64)


def choose_feature(X: Any, y: np.ndarray, candidates: Sequence, names: Optional[Sequence] = None) -> Any:
    """The candidate feature whose class means differ most (largest ANOVA F)."""
    from sklearn.feature_selection import f_classif

    values = np.column_stack([feature_values(X, f, names) for f in candidates])
    if np.isnan(values).any():
        values = np.where(np.isnan(values), np.nanmedian(values, axis=0), values)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_stat = np.nan_to_num(f_classif(values, y)[0], nan=-1.0)
    return candidates[int(np.argmax(f_stat))]


def covariate_selection(values: np.ndarray, rate: float, rng: np.random.Generator, *,
                        steepness: float = 4.0, direction: int = 1) -> Selection:
    """Keep row i with probability ``1 - rate * sigmoid(-steepness * direction * z_i)``.

    z is the value standardised by the pool's median and std (missing values
    count as the median). Records the keep probabilities' min, mean and max
    and how far the feature's mean moved, in pool standard deviations.
    """
    values = np.asarray(values, dtype=np.float64)
    u = rng.random(len(values))
    std = np.nanstd(values)
    z = np.nan_to_num((values - np.nanmedian(values)) / (std if std > 0 else 1.0))
    keep_prob = 1.0 - rate * expit(-steepness * direction * z)
    keep = u < keep_prob
    rows = np.flatnonzero(keep)
    info = {
        "shift_weight_min": _round(keep_prob.min()),
        "shift_weight_mean": _round(keep_prob.mean()),
        "shift_weight_max": _round(keep_prob.max()),
        "shift_mean_delta": _round(float(z[keep].mean() - z.mean())) if len(rows) else np.nan,
    }
    return Selection(rows=rows, info=info)


# --- label shift -----------------------------------------------------------------


def target_prior(n_classes: int, rng: np.random.Generator, *, prior: Optional[Sequence] = None,
                 concentration: float = 1.0) -> np.ndarray:
    """The named prior (normalised), else a Dirichlet draw; the draw is made either way."""
    draw = rng.dirichlet(np.full(n_classes, float(concentration)))
    if prior is None:
        return draw
    prior = np.asarray(prior, dtype=np.float64)
    return prior / prior.sum()


def tilted_prior(pool_prior: np.ndarray, target: np.ndarray, rate: float) -> np.ndarray:
    return (1.0 - rate) * pool_prior + rate * target


def label_selection(y: np.ndarray, rate: float, rng: np.random.Generator, *, n_classes: int,
                    prior: Optional[Sequence] = None, concentration: float = 1.0) -> Selection:
    """The largest sub-pool whose class prior is the tilted prior (rows by seeded draws).

    Records the requested and achieved priors (JSON) and the total variation
    distance between the achieved prior and the pool's own.
    """
    y = np.asarray(y, dtype=np.int64)
    target = target_prior(n_classes, rng, prior=prior, concentration=concentration)
    u = rng.random(len(y))
    counts = np.bincount(y, minlength=n_classes)
    pool_prior = counts / counts.sum()
    wanted = tilted_prior(pool_prior, target, rate)
    if rate == 0:
        kept = counts.copy()
    else:
        present = (counts > 0) & (wanted > 0)
        total = np.min(counts[present] / wanted[present])
        kept = np.minimum(counts, np.round(wanted * total).astype(np.int64))
        kept = np.where(counts > 0, np.maximum(kept, 1), 0)
    rows = []
    for label in np.flatnonzero(counts):
        members = np.flatnonzero(y == label)
        rows.append(members[np.argsort(u[members], kind="stable")[: kept[label]]])
    rows = np.sort(np.concatenate(rows))
    achieved = kept / kept.sum()
    info = {
        "shift_prior_wanted": json.dumps([_round(p) for p in wanted]),
        "shift_prior": json.dumps([_round(p) for p in achieved]),
        "shift_tv": _round(0.5 * float(np.abs(achieved - pool_prior).sum())),
    }
    return Selection(rows=rows, info=info)


# --- subgroup shift --------------------------------------------------------------


def subgroup_members(column: np.ndarray, *, value=None, band: Optional[Sequence] = None) -> np.ndarray:
    """True for rows of the subgroup: ``column == value``, or ``low <= column < high``."""
    column = np.asarray(column)
    if band is not None:
        low, high = (float(b) for b in band)
        numeric = pd.to_numeric(pd.Series(column), errors="coerce").to_numpy(dtype=np.float64)
        return (numeric >= low) & (numeric < high)
    return column.astype(str) == str(value)


def subgroup_selection(member: np.ndarray, rate: float, rng: np.random.Generator) -> Selection:
    """Keep every member; drop each other row with probability ``rate``.

    Records the subgroup's share of the pool before and after.
    """
    member = np.asarray(member, dtype=bool)
    u = rng.random(len(member))
    keep = member | (u >= rate)
    rows = np.flatnonzero(keep)
    info = {
        "subgroup_share_before": _round(float(member.mean())) if len(member) else np.nan,
        "subgroup_share": _round(float(member[rows].mean())) if len(rows) else np.nan,
    }
    return Selection(rows=rows, info=info)


# --- mixed pools -----------------------------------------------------------------


def mixed_order(first: np.ndarray, second: np.ndarray, m: int) -> np.ndarray:
    """Pool rows in mixed order: the first ``m`` of ``first``, then ``second`` without them.

    Both arguments are orders over the same pool's rows (e.g. the shifted
    rows in their nested order, and the whole pool in its own). A budget of
    m + k rows is then m rows of the first source and k of the second; the
    k rows are a prefix of the second source's order, so curves stay nested.
    """
    first, second = np.asarray(first), np.asarray(second)
    if m > len(first):
        raise ConfigError(f"mixed pool base of {m} rows exceeds the {len(first)} rows of its source.")
    base = first[:m]
    rest = second[~np.isin(second, base)]
    return np.concatenate([base, rest]).astype(np.int64)
