"""mvd.tuning on plain arrays and scikit-learn estimators: the search, its folds, its refusals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mvd import tuning
from mvd.errors import ConfigError

pytest.importorskip("optuna", reason="optuna is not installed (pip install 'mvd[tune]')")


class Peak(BaseEstimator, ClassifierMixin):
    """Predicts the label hidden in column 0 when ``a > 0.5``, else class 0: accuracy is a step in ``a``.

    It also records the first column of every row it is fitted on, so a test
    can see which rows the search touched.
    """

    seen: list = []

    def __init__(self, a=0.1, width=(4,)):
        self.a = a
        self.width = width

    def fit(self, X, y):
        Peak.seen.append(np.asarray(X)[:, 1].copy())
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        X = np.asarray(X)
        return X[:, 0].astype(int) if self.a > 0.5 else np.zeros(len(X), dtype=int)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return np.c_[y, np.arange(n), rng.normal(size=n)], y


def test_search_finds_the_step_and_starts_from_the_estimators_own_values():
    X, y = _data()
    params, info = tuning.tune(Peak(), {"a": {"low": 0.0, "high": 1.0}}, X, y, trials=12, folds=3, seed=0)
    assert params["a"] > 0.5 and info["score"] == 1.0
    assert info["trials"] == 12 and info["folds"] == 3 and info["folds_note"] == ""
    assert 0 <= info["overhead_seconds"] <= info["seconds"]
    # one trial is the estimator's own value: the search can only keep or improve on the default
    params, info = tuning.tune(Peak(a=0.2), {"a": {"low": 0.0, "high": 1.0}}, X, y, trials=1, folds=3)
    assert params == {"a": 0.2} and info["score"] == pytest.approx(0.5)


def test_same_seed_same_search_other_seed_other_search():
    X, y = _data(80)
    space = {"C": {"low": 1e-3, "high": 1e3, "log": True}}
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    a = tuning.tune(est, space, X[:, 2:], y, trials=6, seed=3)
    b = tuning.tune(est, space, X[:, 2:], y, trials=6, seed=3)
    c = tuning.tune(est, space, X[:, 2:], y, trials=6, seed=4)
    assert a[0] == b[0] and a[1]["score"] == b[1]["score"]
    assert a[0] != c[0]


def test_the_search_fits_only_the_rows_it_is_given():
    X, y = _data(60)
    Peak.seen = []
    train = np.arange(0, 40)
    tuning.tune(Peak(), {"a": {"low": 0.0, "high": 1.0}}, X[train], y[train], trials=4, folds=4, seed=0)
    fitted = np.concatenate(Peak.seen)
    assert set(fitted.astype(int)) == set(train)  # every training row was used, no other row ever
    assert all(len(rows) == 30 for rows in Peak.seen)  # 4 folds of 40 rows: fits on 3/4 of them


def test_pipeline_spaces_name_the_final_step_and_choices_may_be_lists():
    X, y = _data()
    params, _ = tuning.tune(make_pipeline(StandardScaler(), Peak()),
                            {"width": {"choices": [[4], [8, 8]]}, "a": {"low": 0.6, "high": 0.9}},
                            X, y, trials=5, seed=0)
    assert params["width"] in ([4], [8, 8]) and 0.6 <= params["a"] <= 0.9
    tuned = tuning.configure(make_pipeline(StandardScaler(), Peak()), params)
    assert tuned[-1].width == params["width"] and tuned[-1].a == params["a"]


def test_ints_stay_ints_and_log_ranges_stay_inside():
    X, y = _data(60)
    params, info = tuning.tune(RandomForestClassifier(n_estimators=5, random_state=0),
                               {"min_samples_leaf": {"low": 1, "high": 8, "log": True},
                                "max_features": {"choices": ["sqrt", 0.5, 1.0]}},
                               X[:, 2:], y, trials=5, seed=0)
    assert isinstance(params["min_samples_leaf"], int) and 1 <= params["min_samples_leaf"] <= 8
    assert params["max_features"] in ("sqrt", 0.5, 1.0) and 0 <= info["score"] <= 1


def test_gbm_space_reaches_below_forty_rows():
    """With min_samples_leaf searched down to 1, boosting splits at n=16 (the default cannot)."""
    rng = np.random.default_rng(0)
    y = np.arange(16) % 2
    X = np.c_[y + rng.normal(scale=0.2, size=16), rng.normal(size=16)]
    space = {"min_samples_leaf": {"low": 1, "high": 20, "log": True}}
    params, info = tuning.tune(HistGradientBoostingClassifier(max_iter=10, random_state=0), space, X, y,
                               trials=6, folds=3, seed=0)
    assert params["min_samples_leaf"] < 8 and info["score"] > 0.8


def test_folds_shrink_at_tiny_n_and_say_so():
    assert tuning.inner_folds(np.arange(60) % 2, 5, "classification") == (5, "")
    k, note = tuning.inner_folds(np.array([0] * 10 + [1] * 3), 5, "classification")
    assert k == 3 and note == "5 inner folds shrunk to 3: its smallest class has 3 row(s)"
    k, note = tuning.inner_folds(np.array([0] * 10 + [1]), 3, "classification")
    assert k == 2 and "1 row(s)" in note
    assert tuning.inner_folds(np.arange(6.0), 5, "regression") == (3, "5 inner folds shrunk to 3: it has 6 rows")
    with pytest.raises(ValueError, match="at least 4 rows"):
        tuning.inner_folds(np.array([0, 1, 1]), 3, "classification")
    with pytest.raises(ValueError, match="two classes"):
        tuning.inner_folds(np.zeros(10), 3, "classification")
    with pytest.raises(ValueError, match="shrinking is off"):
        tuning.inner_folds(np.array([0] * 10 + [1] * 2), 3, "classification", shrink=False)


def test_a_search_whose_trials_all_fail_keeps_the_defaults():
    X, y = _data()
    params, info = tuning.tune(LogisticRegression(), {"C": {"low": -2.0, "high": -1.0}}, X, y, trials=3)
    assert params == {} and info["failed"] == 3 and "every trial failed" in info["folds_note"]


@pytest.mark.parametrize("space, match", [
    ({"n_trees": {"low": 1, "high": 5}}, r"model\.search\.n_trees is not a parameter of RandomForestClassifier; allowed: .*min_samples_leaf"),
    ({"min_samples_leaf": {"low": 5, "high": 1}}, r"model\.search\.min_samples_leaf has low=5 >= high=1: an empty or inverted range"),
    ({"min_samples_leaf": {"low": 3, "high": 3}}, r"low=3 >= high=3"),
    ({"min_samples_leaf": {"low": 0, "high": 3, "log": True}}, r"log: true with low=0"),
    ({"max_features": {"choices": []}}, r"model\.search\.max_features\.choices=\[\] must be a non-empty list"),
    ({"max_features": {"choices": ["sqrt"], "low": 1, "high": 2}}, r"both choices and a range"),
    ({"max_features": 0.5}, r"model\.search\.max_features=0\.5 must be \{low, high\[, log\]\} or \{choices"),
    ({"max_features": {"low": "a", "high": 2}}, r"both must be numbers"),
    ({"max_features": {"low": 0.1, "high": 0.9, "step": 0.1}}, r"unknown key\(s\) \['step'\]"),
])
def test_bad_spaces_are_refused_in_one_sentence(space, match):
    with pytest.raises(ConfigError, match=match):
        tuning.check_space(RandomForestClassifier(), space)


def test_nothing_to_tune_is_refused():
    with pytest.raises(ConfigError, match=r"model\.search is empty: DummyClassifier has nothing to tune"):
        tuning.check_space(DummyClassifier(), {})


def test_names_come_from_the_constructor_too():
    """CatBoost-style estimators list only the parameters that were set in get_params()."""

    class OnlySet(Peak):
        def get_params(self, deep=True):
            return {"a": self.a}

    tuning.check_space(OnlySet(), {"width": {"choices": [[1]]}})


@pytest.mark.parametrize("trials, timeout, folds, match", [
    (0, None, 3, r"tuning\.trials=0 must be a positive number"),
    (None, None, 3, r"tuning\.trials and tuning\.timeout are both null"),
    (5, 0, 3, r"tuning\.timeout=0 must be a positive number of seconds"),
    (5, None, 1, r"tuning\.folds=1 must be an integer >= 2"),
])
def test_bad_budgets_are_refused_in_one_sentence(trials, timeout, folds, match):
    with pytest.raises(ConfigError, match=match):
        tuning.check_budget(trials, timeout, folds)


def test_a_timeout_alone_is_a_budget():
    X, y = _data()
    params, info = tuning.tune(Peak(), {"a": {"low": 0.0, "high": 1.0}}, X, y, trials=None, timeout=0.5)
    assert info["trials"] >= 1 and info["seconds"] < 5
