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
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from mvd.data import take
from mvd.errors import ConfigError
from mvd.quality import Corrupted, Corruption

__all__ = [
    "Selection", "KINDS", "covariate_selection", "label_selection", "subgroup_selection",
    "choose_feature", "feature_values", "mixed_order", "mixed_pool_order", "stream", "check", "select",
    "CovariateShift", "LabelShift", "SubgroupShift",
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
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant features get F = NaN, never chosen
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


# --- one entry point for the engine --------------------------------------------------


def _columns(X: Any, names: Optional[Sequence]) -> list:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return [str(n) for n in names] if names is not None else [str(i) for i in range(np.shape(X)[1])]


def _numeric(X: Any, names: Optional[Sequence], categorical: Sequence) -> list:
    cats = set(categorical or [])
    if isinstance(X, pd.DataFrame):
        return [c for c in X.columns if c not in cats and pd.api.types.is_numeric_dtype(X[c])]
    return list(names) if names is not None else list(range(np.shape(X)[1]))


def check(kind: str, *, rate, X: Any, names: Optional[Sequence], categorical: Sequence, task: str,
          modality: str, n_classes: int, dataset: str, feature=None, direction: int = 1,
          steepness: float = 4.0, prior: Optional[Sequence] = None, concentration: float = 1.0,
          column=None, value=None, band: Optional[Sequence] = None) -> None:
    """Refuse, in one sentence, a shift kind that cannot apply to this dataset or a bad parameter."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ConfigError(f"quality.rate={rate!r} is outside [0, 1] for quality={kind!r}; allowed: 0 <= rate <= 1.")
    if modality == "text":
        raise ConfigError(f"quality={kind!r} needs feature columns, and dataset={dataset!r} is text; "
                          "allowed for text: clean, label_noise, imbalance, duplicates.")
    columns = _columns(X, names)
    if kind == "covariate_shift":
        numeric = [str(c) for c in _numeric(X, names, categorical)]
        if feature is not None and str(feature) not in numeric:
            raise ConfigError(f"quality.feature={feature!r} is not a numeric feature of dataset={dataset!r}; "
                              f"allowed: {', '.join(numeric[:20])}{' ...' if len(numeric) > 20 else ''}.")
        if feature is None and (task != "classification" or not numeric):
            raise ConfigError(f"quality.feature=null lets mvd choose the feature by class separation, which needs "
                              f"a classification dataset with numeric features (dataset={dataset!r}); name one, "
                              "e.g. quality.feature=age.")
        if direction not in (1, -1) or not steepness > 0:
            raise ConfigError(f"quality.direction={direction!r}, quality.steepness={steepness!r}; allowed: "
                              "direction 1 (keep high values) or -1 (keep low values), steepness > 0.")
    elif kind == "label_shift":
        if task != "classification":
            raise ConfigError(f"quality='label_shift' needs classes, and dataset={dataset!r} is a regression task; "
                              "allowed for regression: covariate_shift (with a named feature), subgroup_shift.")
        if prior is not None:
            p = np.asarray(prior, dtype=np.float64)
            if len(p) != n_classes or np.any(p < 0) or p.sum() <= 0:
                raise ConfigError(f"quality.prior={list(prior)!r} must list {n_classes} non-negative shares "
                                  f"(one per class of dataset={dataset!r}) with a positive sum.")
        if not concentration > 0:
            raise ConfigError(f"quality.concentration={concentration!r} must be > 0 (the Dirichlet's concentration).")
    elif kind == "subgroup_shift":
        if column is None or str(column) not in columns:
            raise ConfigError(f"quality.column={column!r} is not a column of dataset={dataset!r}; allowed: "
                              f"{', '.join(columns[:20])}{' ...' if len(columns) > 20 else ''}.")
        if (value is None) == (band is None):
            raise ConfigError(f"quality.value={value!r} and quality.band={band!r}: give exactly one "
                              "(a value of the column, or a [low, high) band of a numeric column).")
        values = _column_values(X, column, names)
        member = subgroup_members(values, value=value, band=band)
        if not member.any():
            raise ConfigError(f"quality.value={value!r} (band={band!r}) matches no row of column {column!r} of "
                              f"dataset={dataset!r}; pick a value the column holds.")


def _column_values(X: Any, column, names: Optional[Sequence]) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X[column].to_numpy()
    position = list(_columns(X, names)).index(str(column))
    return np.asarray(X)[:, position]


def select(kind: str, X: Any, y: np.ndarray, *, rate: float, seed: int, n_classes: int,
           names: Optional[Sequence] = None, categorical: Sequence = (), feature=None, direction: int = 1,
           steepness: float = 4.0, prior: Optional[Sequence] = None, concentration: float = 1.0,
           column=None, value=None, band: Optional[Sequence] = None) -> Selection:
    """The rows of the pool ``(X, y)`` that one shift kind keeps for one seed, and what it did."""
    rng = stream(kind, seed)
    if kind == "covariate_shift":
        if feature is None:
            feature = choose_feature(X, y, _numeric(X, names, categorical), names)
        if not isinstance(X, pd.DataFrame) and names is not None and str(feature) in map(str, names):
            feature = [str(n) for n in names].index(str(feature))
        sel = covariate_selection(feature_values(X, feature, names), float(rate), rng,
                                  steepness=float(steepness), direction=int(direction))
        sel.info["shift_feature"] = str(names[feature] if isinstance(feature, int) and names is not None else feature)
        return sel
    if kind == "label_shift":
        return label_selection(y, float(rate), rng, n_classes=n_classes, prior=prior, concentration=concentration)
    member = subgroup_members(_column_values(X, column, names), value=value, band=band)
    return subgroup_selection(member, float(rate), rng)


def mixed_pool_order(shifted_rows: np.ndarray, y: np.ndarray, *, seed: int, task: str, base: int,
                     add: str) -> np.ndarray:
    """Order over the whole (unshifted) pool for a mixed curve: ``base`` rows of one source, then the other.

    ``add="target"`` fixes ``base`` shifted rows and adds rows of the whole
    pool (the target distribution); ``add="shifted"`` the reverse. Each
    source keeps its own nested order: the shifted rows' is the one the
    shifted curve uses, the pool's the one the clean curve uses.
    """
    from mvd.splits import nested_order

    shifted_rows = np.asarray(shifted_rows)
    shifted = shifted_rows[nested_order(np.asarray(y)[shifted_rows], seed=seed, task=task)]
    whole = nested_order(np.asarray(y), seed=seed, task=task)
    first, second = (shifted, whole) if add == "target" else (whole, shifted)
    return mixed_order(first, second, base)


# --- the kinds as corruptions of the quality group -----------------------------------

@dataclass(frozen=True)
class _Shift(Corruption):
    """A shift kind of the quality group: the pool's rows selected, none altered.

    ``mix_base`` > 0 makes a mixed pool: the first ``mix_base`` rows of the
    curve come from one source and the rest from the other (``mix_add``:
    ``target`` adds rows of the whole pool to shifted ones, ``shifted`` the
    reverse); sizes up to ``mix_base`` are the base source's own curve. A
    mixed curve's ``name`` is ``<kind>_mixed``, so the report keeps its
    points apart from the shifted curve's.
    """

    rate: float = 0.0
    mix_base: int = 0
    mix_add: str = "target"

    def check(self, dataset) -> None:
        if isinstance(self.mix_base, bool) or not isinstance(self.mix_base, int) or self.mix_base < 0:
            raise ConfigError(f"quality.mix_base={self.mix_base!r} must be a count >= 0 (0: no mixed pool).")
        # a mixed curve is named apart, so its points never merge with the shifted curve's
        wanted = f"{self.kind}_mixed" if self.mix_base else self.kind
        if self.name != wanted:
            raise ConfigError(f"quality.name={self.name!r} with quality.mix_base={self.mix_base}; allowed: "
                              f"{wanted!r} ({type(self).__name__} names a mixed pool <kind>_mixed).")
        if self.mix_add not in ("target", "shifted"):
            raise ConfigError(f"quality.mix_add={self.mix_add!r} is not known; allowed: target, shifted.")
        check(self.kind, rate=self.rate, X=dataset.X, names=dataset.feature_names, categorical=dataset.categorical,
              task=dataset.task, modality=dataset.modality, n_classes=dataset.n_classes, dataset=dataset.name,
              **self._params())

    def _params(self) -> dict:
        return {}

    def pool_rows(self, dataset, pool, *, seed: int) -> int:
        """Rows of one seed's shifted (or mixed) pool: the selection is run at plan time (it is cheap), so a
        size larger than the shifted pool, or a mixed base larger than its source, is refused before any work."""
        pooled = self.corrupt(take(dataset.X, pool), dataset.y[pool], dataset, seed=seed)
        if self.mix_base and self.mix_base > pooled.info["mix_source_rows"]:
            raise ConfigError(f"quality.mix_base={self.mix_base} exceeds the {pooled.info['mix_source_rows']} rows "
                              f"of its source (quality={self.kind!r}, rate {self.rate:g}, seed {seed}); "
                              f"allowed: 0 to {pooled.info['mix_source_rows']}.")
        return len(pooled.order) if pooled.order is not None else len(pooled.y)

    def corrupt(self, X, y, dataset, *, seed: int) -> Corrupted:
        sel = select(self.kind, X, y, rate=float(self.rate), seed=seed, n_classes=dataset.n_classes,
                     names=dataset.feature_names, categorical=dataset.categorical, **self._params())
        info = dict(sel.info)
        if self.mix_base == 0:
            if len(sel.rows) == len(y):  # nothing dropped (rate 0): the pool itself, bit for bit
                return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool), info=info)
            return Corrupted(X=take(X, sel.rows), y=y[sel.rows], corrupted=np.zeros(len(sel.rows), dtype=bool),
                             info=info)
        # mixed: the whole pool, in an order whose first mix_base rows come from the base source
        source_rows = len(sel.rows) if self.mix_add == "target" else len(y)
        info.update(mix_base=int(self.mix_base), mix_add=self.mix_add, mix_source_rows=int(source_rows),
                    shift_kind=self.kind)
        if self.mix_base > source_rows:  # refused at plan time (pool_rows); nothing to order
            return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool), info=info, order=np.arange(0))
        order = mixed_pool_order(sel.rows, y, seed=seed, task=dataset.task, base=int(self.mix_base),
                                 add=self.mix_add)
        return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool), info=info, order=order)


@dataclass(frozen=True)
class CovariateShift(_Shift):
    """Logistic selection on one numeric feature (``feature``; null: chosen by class separation)."""

    name: str = "covariate_shift"
    feature: Optional[Any] = None
    steepness: float = 4.0
    direction: int = 1
    kind: ClassVar[str] = "covariate_shift"

    def _params(self) -> dict:
        return dict(feature=self.feature, steepness=self.steepness, direction=self.direction)


@dataclass(frozen=True)
class LabelShift(_Shift):
    """Class priors tilted towards ``prior`` (null: a seeded Dirichlet draw of ``concentration``)."""

    name: str = "label_shift"
    prior: Optional[list] = None
    concentration: float = 1.0
    kind: ClassVar[str] = "label_shift"

    def _params(self) -> dict:
        return dict(prior=self.prior, concentration=self.concentration)


@dataclass(frozen=True)
class SubgroupShift(_Shift):
    """The pool from one subgroup: ``column == value``, or ``column`` in ``band`` = [low, high)."""

    name: str = "subgroup_shift"
    column: Optional[Any] = None
    value: Optional[Any] = None
    band: Optional[list] = None
    kind: ClassVar[str] = "subgroup_shift"

    def _params(self) -> dict:
        return dict(column=self.column, value=self.value, band=self.band)
