"""Test split, nested training order and curve sizes.

The test split is drawn once per seed (stratified, scikit-learn's splitter)
or taken from the dataset's official split; it never changes after that.
The pool is then put in one seeded order whose every prefix is stratified, so
the training subset of size n is ``order[:n]``: subsets are nested and drawn
without replacement, and a larger budget only ever adds rows.

Classes too rare to stratify (high cardinality, a long tail): a class with a
single row cannot be on both sides of a stratified split.  When some class
has fewer than 2 rows, those rows are pooled into one extra stratum (see
:func:`strata`) and every other class is its own stratum, so the split is
still stratified, seeded and deterministic; each singleton lands in the test
set with probability about ``test_fraction``, and a class whose only row is
tested is a class no training subset sees (scored, never a crash).  A dataset
where every class has at least 2 rows takes scikit-learn's splitter on the
labels themselves, exactly as before.  The pooled stratum needs at least 2
rows; a dataset with a single row alone in its class is refused, as before.
The nested order needs no special case: a class with ``m`` rows in the pool
has its r-th row at key ``(r + 0.5) / m``, so a pool singleton enters the
prefixes at about half the pool and a class with no pool row never does.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from mvd.errors import ConfigError

__all__ = ["split", "strata", "nested_order", "sizes", "check_test_fraction", "check_split"]

# a class with fewer rows than this cannot be stratified on its own: its rows share one stratum
MIN_STRATUM = 2


def split(y: np.ndarray, *, seed: int, test_fraction: float, task: str, test_index=None):
    """Return ``(pool_index, test_index)`` into the dataset's rows."""
    n = len(y)
    if test_index is not None:
        test = np.sort(np.asarray(test_index, dtype=np.int64))
        pool = np.setdiff1d(np.arange(n), test, assume_unique=True)
        return pool, test
    stratify = strata(y) if task == "classification" else None
    pool, test = train_test_split(
        np.arange(n), test_size=test_fraction, random_state=seed, stratify=stratify
    )
    return np.sort(pool), np.sort(test)


def strata(y: np.ndarray) -> np.ndarray:
    """The stratum of each row for the test split: ``y`` itself when every class has at least 2 rows;
    else each such class is its own stratum and the rows of rarer classes share one more (``-1``)."""
    y = np.asarray(y)
    labels, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    rare = counts[inverse] < MIN_STRATUM
    if not rare.any():
        return y
    out = inverse.astype(np.int64)
    out[rare] = -1
    return out


def check_split(y: np.ndarray, *, test_fraction: float, task: str, test_index=None, name: str = "",
                classes=None) -> None:
    """Refuse, in one sentence, data too small for the split (scikit-learn's splitter would raise)."""
    n = len(y)
    what = f"dataset {name!r}" if name else "the dataset"
    if test_index is not None:
        if len(np.unique(np.asarray(test_index))) >= n:
            raise ConfigError(f"{what}'s official test split holds all its {n} rows, leaving none to train on; "
                              "set dataset.official_split=false to draw a split per seed.")
        return
    n_test = int(np.ceil(test_fraction * n))
    n_pool = n - n_test
    if task != "classification":
        if n_test < 1 or n_pool < 1:
            raise ConfigError(f"{what} has {n} rows; curve.test_fraction={test_fraction} leaves {n_pool} to "
                              f"train on and {n_test} to test, and the split needs at least 1 of each.")
        return
    labels, counts = np.unique(y, return_counts=True)
    k = len(labels)
    alone = int(counts[counts < MIN_STRATUM].sum())
    if alone >= MIN_STRATUM:  # the rows of rare classes share one stratum (see strata)
        n_strata = int((counts >= MIN_STRATUM).sum()) + 1
        if n_test < n_strata or n_pool < n_strata:
            raise ConfigError(
                f"{what} has {n} rows in {k} classes, {int((counts < MIN_STRATUM).sum())} of them with a single "
                f"row (split as one stratum), so the stratified split has {n_strata} strata and needs at least "
                f"{n_strata} rows on each side, and curve.test_fraction={test_fraction} gives {n_pool} to train "
                f"on and {n_test} to test: give more rows, or a test_fraction that leaves {n_strata} on each side."
            )
        return
    if counts.min() < 2 or n_test < k or n_pool < k:
        rarest = labels[int(np.argmin(counts))]
        rarest = classes[int(rarest)] if classes is not None else str(rarest)
        raise ConfigError(
            f"{what} has {n} rows in {k} classes (the rarest, {rarest!r}, has {counts.min()}); the stratified "
            f"split needs at least 2 rows of every class and at least {k} rows on each side, and "
            f"curve.test_fraction={test_fraction} gives {n_pool} to train on and {n_test} to test: "
            f"give more rows, or a test_fraction that leaves {k} on each side."
        )


def nested_order(y: np.ndarray, *, seed: int, task: str) -> np.ndarray:
    """A permutation of ``range(len(y))`` whose every prefix is stratified.

    Within each class rows are shuffled; the r-th row of a class of size m
    gets the key (r + 0.5) / m, and rows are sorted by key (ties broken at
    random), so any prefix holds each class in proportion to its share,
    up to rounding.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    if task != "classification":
        return rng.permutation(n)
    keys = np.empty(n)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        members = rng.permutation(members)
        keys[members] = (np.arange(len(members)) + 0.5) / len(members)
    tiebreak = rng.random(n)
    return np.lexsort((tiebreak, keys))


def sizes(pool_size: int, *, sizes=None, fractions=None, start: int = 16,
          growth: float = 2 ** 0.5, max_size=None) -> list[int]:
    """Training sizes of a curve for a pool of ``pool_size`` rows (validated).

    Explicit ``sizes`` (counts), or ``fractions`` of the pool, or geometric
    anchors ``start * growth**k`` below the pool (or ``max_size``) plus the
    top itself.
    """
    if sizes is not None and fractions is not None:
        raise ConfigError("curve.sizes and curve.fractions are both set; set one of them.")
    if sizes is not None:
        values = [int(s) for s in sizes]
        if not values or any(s <= 0 for s in values):
            raise ConfigError(
                f"curve.sizes={list(sizes)} must be a non-empty list of positive counts."
            )
        too_big = [s for s in values if s > pool_size]
        if too_big:
            raise ConfigError(
                f"curve.sizes has {too_big} larger than the training pool of {pool_size} rows; "
                f"allowed: 1 to {pool_size}."
            )
        return sorted(set(values))
    if fractions is not None:
        fractions = [float(f) for f in fractions]
        if not fractions or any(not 0 < f <= 1 for f in fractions):
            raise ConfigError(
                f"curve.fractions={fractions} must be a non-empty list in (0, 1]."
            )
        return sorted({max(1, int(round(f * pool_size))) for f in fractions})
    if start <= 0 or growth <= 1:
        raise ConfigError(
            f"curve.start={start} and curve.growth={growth} must be > 0 and > 1."
        )
    top = pool_size if max_size is None else min(pool_size, int(max_size))
    if max_size is not None and max_size <= 0:
        raise ConfigError(f"curve.max_size={max_size} must be a positive count.")
    anchors, k = [], 0
    while True:
        s = int(round(start * growth**k))
        if s >= top:
            break
        anchors.append(s)
        k += 1
    return sorted(set(anchors) | {top})


def check_test_fraction(test_fraction: float) -> None:
    if not 0 < test_fraction < 1:
        raise ConfigError(
            f"curve.test_fraction={test_fraction} is outside (0, 1); allowed: 0 < test_fraction < 1."
        )
