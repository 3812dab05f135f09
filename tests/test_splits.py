"""Test split, nested stratified order and curve sizes."""

import numpy as np
import pytest

from mvd import splits
from mvd.errors import ConfigError


def test_split_is_stratified_reproducible_and_disjoint():
    y = np.repeat([0, 1, 2], [300, 100, 40])
    pool, test = splits.split(y, seed=3, test_fraction=0.25, task="classification")
    pool2, test2 = splits.split(y, seed=3, test_fraction=0.25, task="classification")
    assert np.array_equal(test, test2) and np.array_equal(pool, pool2)
    assert not set(pool) & set(test)
    assert len(pool) + len(test) == len(y)
    assert np.bincount(y[test]).tolist() == [75, 25, 10]
    _, other = splits.split(y, seed=4, test_fraction=0.25, task="classification")
    assert not np.array_equal(test, other)


def test_official_split_is_used_as_is():
    y = np.arange(10) % 2
    pool, test = splits.split(y, seed=0, test_fraction=0.5, task="classification", test_index=[8, 9])
    assert test.tolist() == [8, 9] and pool.tolist() == list(range(8))


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_prefix_is_stratified(seed):
    y = np.repeat([0, 1, 2, 3], [500, 250, 150, 100])
    order = splits.nested_order(y, seed=seed, task="classification")
    assert sorted(order.tolist()) == list(range(len(y)))  # a permutation: no replacement
    shares = np.bincount(y) / len(y)
    counts = np.zeros(4)
    for n, row in enumerate(order, start=1):
        counts[y[row]] += 1
        assert np.all(np.abs(counts - n * shares) <= 1.0 + 1e-9), (n, counts)


def test_small_prefix_holds_every_class_when_possible():
    y = np.repeat(np.arange(10), 50)
    order = splits.nested_order(y, seed=0, task="classification")
    assert len(set(y[order[:10]])) == 10


def test_order_depends_on_seed_only():
    y = np.arange(100) % 3
    a = splits.nested_order(y, seed=5, task="classification")
    assert np.array_equal(a, splits.nested_order(y, seed=5, task="classification"))
    assert not np.array_equal(a, splits.nested_order(y, seed=6, task="classification"))


def test_geometric_sizes_like_lcdb():
    assert splits.sizes(100) == [16, 23, 32, 45, 64, 91, 100]
    assert splits.sizes(100, max_size=50) == [16, 23, 32, 45, 50]


def test_explicit_sizes_and_fractions():
    assert splits.sizes(100, sizes=[64, 16, 16]) == [16, 64]
    assert splits.sizes(90, fractions=[0.5, 1.0]) == [45, 90]


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(sizes=[]), "non-empty list of positive counts"),
        (dict(sizes=[0, 16]), "non-empty list of positive counts"),
        (dict(sizes=[16, 500]), r"larger than the training pool of 100 rows; allowed: 1 to 100"),
        (dict(fractions=[0.0]), r"in \(0, 1\]"),
        (dict(sizes=[16], fractions=[0.5]), "set one of them"),
    ],
)
def test_bad_sizes_are_refused(kw, match):
    with pytest.raises(ConfigError, match=match):
        splits.sizes(100, **kw)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_bad_test_fraction(fraction):
    with pytest.raises(ConfigError, match=r"curve.test_fraction=.* outside \(0, 1\)"):
        splits.check_test_fraction(fraction)
