"""mvd.splits at its edges: the cases a surviving mutant showed untested."""

import numpy as np
import pytest

from mvd import splits
from mvd.errors import ConfigError


def test_official_split_read_back_as_floats_gives_integer_rows():
    pool, test = splits.split(np.zeros(6), seed=0, test_fraction=0.5, task="classification",
                              test_index=np.array([5.0, 1.0]))
    assert test.dtype.kind == "i" and pool.dtype.kind == "i"
    assert test.tolist() == [1, 5] and pool.tolist() == [0, 2, 3, 4]


@pytest.mark.parametrize("fraction", [0.1, 0.4])
def test_split_takes_the_asked_test_fraction(fraction):
    y = np.arange(200) % 2
    pool, test = splits.split(y, seed=0, test_fraction=fraction, task="classification")
    assert len(test) == round(fraction * 200) and len(pool) == 200 - len(test)


def test_regression_split_is_not_stratified_on_a_continuous_target():
    y = np.random.default_rng(0).normal(size=50)  # every value unique: stratifying would fail
    pool, test = splits.split(y, seed=1, test_fraction=0.2, task="regression")
    assert len(test) == 10 and sorted(np.concatenate([pool, test]).tolist()) == list(range(50))


def test_regression_order_is_a_seeded_permutation():
    y = np.linspace(0, 1, 30)
    order = splits.nested_order(y, seed=2, task="regression")
    assert sorted(order.tolist()) == list(range(30))
    assert np.array_equal(order, splits.nested_order(y, seed=2, task="regression"))
    assert not np.array_equal(order, splits.nested_order(y, seed=3, task="regression"))


def test_sizes_from_one_row_up_to_the_whole_pool():
    assert splits.sizes(100, sizes=[1, 100]) == [1, 100]
    assert splits.sizes(100, fractions=[0.001, 1.0]) == [1, 100]  # a tiny fraction still trains on one row
    assert splits.sizes(100, start=1, growth=10) == [1, 10, 100]
    assert splits.sizes(100, max_size=1) == [1]


@pytest.mark.parametrize("kw, message", [
    (dict(sizes=[16], fractions=[0.5]), "curve.sizes and curve.fractions are both set; set one of them."),
    (dict(fractions=[1.5]), "curve.fractions=[1.5] must be a non-empty list in (0, 1]."),
    (dict(start=0), "curve.start=0 and curve.growth=1.4142135623730951 must be > 0 and > 1."),
    (dict(start=16, growth=1.0), "curve.start=16 and curve.growth=1.0 must be > 0 and > 1."),
    (dict(max_size=0), "curve.max_size=0 must be a positive count."),
])
def test_bad_sizes_are_refused_in_exactly_one_sentence(kw, message):
    with pytest.raises(ConfigError) as refused:
        splits.sizes(100, **kw)
    assert str(refused.value) == message


@pytest.mark.parametrize("fraction", [0.01, 0.25, 0.99])
def test_a_test_fraction_inside_the_unit_interval_is_accepted(fraction):
    splits.check_test_fraction(fraction)  # no error


def test_check_split_refuses_data_too_small_in_one_sentence_naming_rows_classes_and_fraction():
    y = np.array([0, 0, 0, 1, 1, 2, 2])
    with pytest.raises(ConfigError) as refused:
        splits.check_split(y, test_fraction=0.25, task="classification", name="tiny", classes=["a", "b", "c"])
    assert str(refused.value) == (
        "dataset 'tiny' has 7 rows in 3 classes (the rarest, 'b', has 2); the stratified split needs at least "
        "2 rows of every class and at least 3 rows on each side, and curve.test_fraction=0.25 gives 5 to "
        "train on and 2 to test: give more rows, or a test_fraction that leaves 3 on each side.")
    splits.check_split(y, test_fraction=0.45, task="classification")  # 4 to train on, 3 to test: enough
    with pytest.raises(ConfigError, match=r"^the dataset has 5 rows in 2 classes \(the rarest, '1', has 1\)"):
        splits.check_split(np.array([0, 0, 0, 0, 1]), test_fraction=0.5, task="classification")


def test_check_split_of_a_regression_or_an_official_split():
    with pytest.raises(ConfigError) as refused:
        splits.check_split(np.zeros(1), test_fraction=0.5, task="regression")
    assert str(refused.value) == ("the dataset has 1 rows; curve.test_fraction=0.5 leaves 0 to train on and 1 "
                                  "to test, and the split needs at least 1 of each.")
    splits.check_split(np.zeros(2), test_fraction=0.5, task="regression")
    with pytest.raises(ConfigError) as refused:
        splits.check_split(np.zeros(3), test_fraction=0.5, task="regression", test_index=[0, 1, 2, 2], name="d")
    assert str(refused.value) == ("dataset 'd''s official test split holds all its 3 rows, leaving none to "
                                  "train on; set dataset.official_split=false to draw a split per seed.")
    splits.check_split(np.zeros(3), test_fraction=0.5, task="classification", test_index=[2])
