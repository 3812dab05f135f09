"""Training-data quality: corruptions applied to the pool, never to the test set.

``corrupt`` runs once per seed on the training pool, so every nested prefix
shares the same corrupted rows; it returns the corrupted pool and the truth
of which rows were altered, which the oracle cleaner and the bookkeeping use.

Every kind draws all its random numbers whatever the rate, from a stream of
its own (the seed plus a tag, so the split and the nested order are not
disturbed), and corrupts a row when its uniform draw falls below the rate.
So with one seed the rows corrupted at rate 0.1 are a subset of those at 0.2,
with the same new values: curves at different rates differ only by the
corruption (common random numbers), and rate 0 leaves the pool untouched.

A kind of corruption is a class (a config names it as ``_target_``; its
other keys are the class's fields):

- ``Clean`` (``quality=clean``): the pool as drawn (rate must be 0).
- ``LabelNoise``: classification, ``mode=symmetric`` replaces each label
  with probability ``rate`` by one of the other classes, uniformly;
  ``mode=pairwise`` flips it to the class's partner, a seeded cyclic
  derangement of the classes ("pair flip", Han et al. 2018). Regression adds
  Gaussian noise of std ``rate`` x the pool's target std to every target.
- ``FeatureNoise``: Gaussian noise of std ``rate`` x each numeric feature's
  pool std on every cell (per pixel for images), clipped to the dataset's
  ``value_range`` when it has one. Every row is altered.
- ``Missing``: each cell is missing completely at random with probability
  ``rate``; the model pipeline imputes (fitted on the training subset only).
- ``Imbalance``: every class but the largest keeps a ``1 - rate`` share of its
  pool rows (at least one); no kept row is altered, so ``n_corrupted`` is 0.
- ``Duplicates``: ``floor(rate * n)`` of the n rows of every training subset
  are exact copies of earlier rows of the same subset: the budget n, less
  information. Copies follow the nested order, so prefixes stay nested.

A new kind subclasses :class:`Corruption` and overrides ``_corrupt`` (and
``check`` when it does not apply to every dataset).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import numpy as np
import pandas as pd

from mvd.data import Dataset, take
from mvd.errors import ConfigError

__all__ = ["Corruption", "Clean", "LabelNoise", "FeatureNoise", "Missing", "Imbalance", "Duplicates",
           "Corrupted", "build", "KINDS", "MODES", "BUILTIN"]

KINDS = ("clean", "label_noise", "feature_noise", "missing", "imbalance", "duplicates")
MODES = ("symmetric", "pairwise")
# the class of each built-in kind (configs saved without a _target_ name only the kind)
BUILTIN = {
    "clean": "mvd.quality.Clean", "label_noise": "mvd.quality.LabelNoise",
    "feature_noise": "mvd.quality.FeatureNoise", "missing": "mvd.quality.Missing",
    "imbalance": "mvd.quality.Imbalance", "duplicates": "mvd.quality.Duplicates",
}
# tags of the corruption random streams, one per kind ("mvd" + kind index)
_STREAM = {kind: 0x6D7664 + i for i, kind in enumerate(KINDS)}


@dataclass
class Corrupted:
    """The pool after corruption, and the truth of which rows were altered."""

    X: Any
    y: np.ndarray
    # True for every pool row the corruption altered (the truth)
    corrupted: np.ndarray
    # extra columns recorded on every point of the curve
    info: dict = field(default_factory=dict)
    # duplicates: share of every subset that copies earlier rows; per order
    # position, a uniform draw that picks which earlier row it copies
    copy_rate: float = 0.0
    copy_draws: Optional[np.ndarray] = None
    # the nested order of the curve's rows when the kind fixes it (mixed pools); None: drawn as usual
    order: Optional[np.ndarray] = None

    def subset(self, order: np.ndarray, n: int):
        """``(X, y, corrupted)`` of the training subset with budget ``n``: the first n of ``order``.

        With duplicates, position i of the order (i >= 1) is a copy when
        ``floor((i + 1) * rate) > floor(i * rate)``, of a uniformly drawn
        earlier position (followed back to an original). Positions are fixed
        per seed, so the subset of budget n is a prefix of every larger one.
        """
        if n > len(order):
            raise ConfigError(f"training size {n} exceeds the pool of {len(order)} rows.")
        rows = np.asarray(order[:n])
        bad = self.corrupted[rows]
        if self.copy_rate > 0:
            source = _copy_sources(n, self.copy_rate, self.copy_draws)
            bad = bad | (source != np.arange(n))
            rows = rows[source]
        return take(self.X, rows), self.y[rows], bad


def _copy_sources(n: int, rate: float, draws: np.ndarray) -> np.ndarray:
    """For each of the first n order positions, the original position it holds."""
    position = np.arange(n)
    is_copy = np.floor((position + 1) * rate) > np.floor(position * rate)
    is_copy[0] = False
    source = position.copy()
    for i in np.flatnonzero(is_copy):
        source[i] = source[int(draws[i] * i)]  # an earlier position, already resolved
    return source


@dataclass(frozen=True)
class Corruption:
    """The pool as drawn; every kind of corruption is a subclass.

    ``corrupt`` never modifies its inputs and draws its random numbers from a
    stream of its own kind (the seed plus a tag).
    """

    name: str = "clean"
    rate: float = 0.0
    # the kind this class implements (its stream tag; the name a config gives it)
    kind: ClassVar[str] = "clean"
    # kinds that perturb cells, so not raw text
    needs_cells: ClassVar[bool] = False

    def check(self, dataset: Dataset) -> None:
        """Refuse a rate outside [0, 1), a name that is not this kind's, or a dataset it cannot apply to."""
        if self.name != self.kind and type(self).__module__ == __name__:
            raise ConfigError(
                f"quality.name={self.name!r} is not the kind {type(self).__name__} implements ({self.kind!r}); "
                f"pick a kind with quality=<kind>, allowed: {', '.join(KINDS)}."
            )
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ConfigError(f"quality.rate={rate!r} is outside [0, 1); allowed: 0 <= rate < 1.")
        if self.needs_cells and dataset.modality == "text":
            raise ConfigError(
                f"quality={self.name!r} does not apply to text (dataset={dataset.name!r}); "
                f"allowed for text: clean, label_noise, imbalance, duplicates."
            )

    def alters_every_row(self, task: str) -> bool:
        """Whether the corruption touches every row at rate > 0 (so no row is clean to keep)."""
        return False

    def pool_size(self, y_pool: np.ndarray) -> int:
        """Rows of a pool with labels ``y_pool`` after corruption."""
        return len(y_pool)

    def pool_rows(self, dataset: Dataset, pool: np.ndarray, *, seed: int) -> int:
        """Rows of one seed's pool (dataset rows ``pool``) after corruption; kinds whose size depends on
        features and draws (the shift kinds) override it."""
        return self.pool_size(dataset.y[pool])

    def corrupt(self, X, y, dataset: Dataset, *, seed: int) -> Corrupted:
        """The pool as this corruption leaves it (inputs are never modified)."""
        tag = _STREAM.get(self.kind, zlib.crc32(self.kind.encode()))
        return self._corrupt(X, y, dataset, np.random.default_rng([int(seed), tag]))

    def _corrupt(self, X, y, dataset: Dataset, rng: np.random.Generator) -> Corrupted:
        return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool))


@dataclass(frozen=True)
class Clean(Corruption):
    """Untouched training data."""

    def check(self, dataset: Dataset) -> None:
        super().check(dataset)
        if self.rate != 0:
            raise ConfigError(
                f"quality.rate={self.rate} with quality=clean; clean data has rate 0, "
                f"pick a corruption ({', '.join(KINDS[1:])}) for a rate above 0."
            )


@dataclass(frozen=True)
class LabelNoise(Corruption):
    name: str = "label_noise"
    mode: str = "symmetric"
    kind: ClassVar[str] = "label_noise"

    def check(self, dataset: Dataset) -> None:
        super().check(dataset)
        if self.mode not in MODES:
            raise ConfigError(f"quality.mode={self.mode!r} is not known; allowed: {', '.join(MODES)}.")
        if dataset.task == "regression" and self.mode != "symmetric":
            raise ConfigError(
                f"quality.mode={self.mode!r} needs classes, and dataset={dataset.name!r} is a regression "
                "task; allowed for regression: symmetric (Gaussian target noise)."
            )

    def alters_every_row(self, task: str) -> bool:
        return self.rate != 0 and task == "regression"

    def _corrupt(self, X, y, dataset, rng):
        if dataset.task == "regression":
            y_new, bad = _target_noise(y, float(self.rate), rng)
        else:
            y_new, bad = _flip_labels(y, float(self.rate), self.mode, dataset.n_classes, rng)
        return Corrupted(X=X, y=y_new, corrupted=bad)


@dataclass(frozen=True)
class FeatureNoise(Corruption):
    name: str = "feature_noise"
    kind: ClassVar[str] = "feature_noise"
    needs_cells: ClassVar[bool] = True

    def check(self, dataset: Dataset) -> None:
        super().check(dataset)
        if isinstance(dataset.X, pd.DataFrame) and not _numeric_columns(dataset.X, dataset.categorical):
            raise ConfigError(
                f"quality='feature_noise' needs numeric columns, and dataset={dataset.name!r} has none; "
                "allowed for it: clean, label_noise, missing, imbalance, duplicates."
            )

    def alters_every_row(self, task: str) -> bool:
        return self.rate != 0

    def _corrupt(self, X, y, dataset, rng):
        X_new, bad = _feature_noise(X, float(self.rate), dataset, rng)
        return Corrupted(X=X_new, y=y, corrupted=bad)


@dataclass(frozen=True)
class Missing(Corruption):
    name: str = "missing"
    kind: ClassVar[str] = "missing"
    needs_cells: ClassVar[bool] = True

    def _corrupt(self, X, y, dataset, rng):
        X_new, bad = _missing(X, float(self.rate), rng)
        return Corrupted(X=X_new, y=y, corrupted=bad)


@dataclass(frozen=True)
class Imbalance(Corruption):
    name: str = "imbalance"
    kind: ClassVar[str] = "imbalance"

    def check(self, dataset: Dataset) -> None:
        super().check(dataset)
        if dataset.task == "regression":
            raise ConfigError(
                f"quality='imbalance' needs classes, and dataset={dataset.name!r} is a regression task; "
                "allowed for regression: clean, label_noise, feature_noise, missing, duplicates."
            )

    def pool_size(self, y_pool: np.ndarray) -> int:
        counts = np.unique(y_pool, return_counts=True)[1]
        largest = int(np.argmax(counts))
        kept = _kept_counts(counts, self.rate)
        kept[largest] = counts[largest]
        return int(kept.sum())

    def _corrupt(self, X, y, dataset, rng):
        rows = _thin(y, float(self.rate), rng)
        counts = np.unique(y[rows], return_counts=True)[1]
        info = {"imbalance_ratio": float(counts.max() / counts.min())}
        return Corrupted(X=take(X, rows), y=y[rows], corrupted=np.zeros(len(rows), dtype=bool), info=info)


@dataclass(frozen=True)
class Duplicates(Corruption):
    name: str = "duplicates"
    kind: ClassVar[str] = "duplicates"

    def _corrupt(self, X, y, dataset, rng):
        draws = rng.random(len(y))
        return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool), copy_rate=float(self.rate),
                         copy_draws=draws)


def build(node) -> Corruption:
    """The corruption a ``quality`` config node names (a node without ``_target_``: the built-in kind of its name)."""
    from mvd import parts

    return parts.build(node, key="quality", builtin=BUILTIN, kind=Corruption)


def _kept_counts(counts: np.ndarray, rate: float) -> np.ndarray:
    return np.maximum(1, np.round((1 - rate) * counts)).astype(np.int64)


def _flip_labels(y, rate, mode, n_classes, rng):
    u = rng.random(len(y))
    if mode == "symmetric":
        # an offset in 1..k-1 never maps a class to itself, and is uniform over the others
        new = (y + rng.integers(1, n_classes, size=len(y))) % n_classes
    else:
        cycle = rng.permutation(n_classes)
        partner = np.empty(n_classes, dtype=np.int64)
        partner[cycle] = np.roll(cycle, -1)
        new = partner[y]
    bad = u < rate
    return np.where(bad, new, y).astype(y.dtype), bad


def _target_noise(y, rate, rng):
    noise = rng.standard_normal(len(y)) * (rate * np.std(y))
    if rate == 0:
        return y, np.zeros(len(y), dtype=bool)
    return y + noise, np.ones(len(y), dtype=bool)


def _numeric_columns(frame: pd.DataFrame, categorical) -> list:
    cats = set(categorical or [])
    return [c for c in frame.columns if c not in cats and pd.api.types.is_numeric_dtype(frame[c])]


def _feature_noise(X, rate, dataset: Dataset, rng):
    n = len(X)
    if isinstance(X, pd.DataFrame):
        cols = _numeric_columns(X, dataset.categorical)
        values = X[cols].to_numpy(dtype=np.float64)
        noisy = _gauss(values, rate, dataset.value_range, rng)
        X_new = X.copy() if rate > 0 else X
        if rate > 0:
            X_new[cols] = noisy
        return X_new, np.full(n, rate > 0)
    values = np.asarray(X, dtype=_float_dtype(X))
    noisy = _gauss(values, rate, dataset.value_range, rng)
    return (noisy if rate > 0 else X), np.full(n, rate > 0)


def _float_dtype(X) -> type:
    """float32 stays float32 (images: half the memory); anything else becomes float64."""
    return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64


def _gauss(values: np.ndarray, rate: float, value_range, rng) -> np.ndarray:
    """values + N(0, (rate * std of each feature)^2), clipped to value_range; NaN stays NaN."""
    std = np.nanstd(values, axis=0)
    out = values + rng.standard_normal(values.shape, dtype=values.dtype) * (rate * std).astype(values.dtype)
    if value_range is not None:
        np.clip(out, value_range[0], value_range[1], out=out)
    return out


def _missing(X, rate, rng):
    n = len(X)
    cells = rng.random(np.shape(X), dtype=np.float32) < rate
    bad = cells.reshape(n, -1).any(axis=1)
    if not cells.any():
        return X, bad
    if isinstance(X, pd.DataFrame):
        return X.mask(cells), bad
    out = np.array(X, dtype=_float_dtype(X))
    out[cells] = np.nan
    return out, bad


def _thin(y, rate, rng) -> np.ndarray:
    """Sorted pool rows kept: all of the largest class, a 1 - rate share of each other class."""
    u = rng.random(len(y))
    labels, counts = np.unique(y, return_counts=True)
    kept = _kept_counts(counts, rate)
    kept[int(np.argmax(counts))] = counts.max()
    rows = []
    for label, k in zip(labels, kept):
        members = np.flatnonzero(y == label)
        rows.append(members[np.argsort(u[members], kind="stable")[:k]])
    return np.sort(np.concatenate(rows))
