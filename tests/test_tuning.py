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


@pytest.mark.slow
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
    k, note = tuning.inner_folds(np.array([0] * 10 + [1]), 2, "classification")
    assert k == 2 and note == "a class has 1 row: it sits in one of the 2 validation folds only"
    assert tuning.inner_folds(np.arange(6.0), 5, "regression") == (3, "5 inner folds shrunk to 3: it has 6 rows")
    with pytest.raises(ValueError, match="at least 4 rows"):
        tuning.inner_folds(np.array([0, 1, 1]), 3, "classification")
    with pytest.raises(ValueError, match="two classes"):
        tuning.inner_folds(np.zeros(10), 3, "classification")
    with pytest.raises(ValueError, match="shrinking is off"):
        tuning.inner_folds(np.array([0] * 10 + [1] * 2), 3, "classification", shrink=False)


def test_a_subset_where_every_class_has_one_row_keeps_the_defaults_and_says_so():
    y = np.arange(16)  # 26-class letter at n = 16: no stratified inner split exists
    k, note = tuning.inner_folds(y, 3, "classification")
    assert k == 0 and "model's own values are kept" in note
    with pytest.raises(ValueError, match="every class has one row"):
        tuning.inner_folds(y, 3, "classification", shrink=False)
    X = np.random.default_rng(0).normal(size=(16, 3))
    space = {"C": {"low": 1e-3, "high": 1e3, "log": True}}
    params, info = tuning.tune(LogisticRegression(C=0.5), space, X, y, trials=4, folds=3)
    assert params == {} and info["trials"] == 0 and info["folds"] == 0 and info["folds_note"] == note
    settings = {"space": space, "trials": 4, "timeout": None, "folds": 3, "shrink_folds": True}
    pipe, columns = tuning.tune_point(LogisticRegression(C=0.5), settings, X, y, seed=0, task="classification",
                                      metric="accuracy")
    assert pipe.C == 0.5 and columns["tuned"] and columns["tune_trials"] == 0 and columns["tune_note"] == note
    notes = []
    assert tuning.settle({"name": "optuna", "trials": 4, "folds": 3}, space=space, estimator=LogisticRegression(),
                         y_smallest=y, task="classification", model="logreg", notes=notes) is not None
    assert notes == [f"tuning at 16 rows: {note}."]


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


# ---- tuned curves in the engine: config, identity, points, leakage ----

def test_the_models_own_values_are_kept_unless_the_best_trial_leads_by_more_than_z_se():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    X = rng.normal(size=(60, 3)) + 0.3 * y[:, None]
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    space = {"C": {"low": 1e-3, "high": 1e3, "log": True}}
    best, info = tuning.tune(est, space, X, y, trials=6, folds=3, seed=0)
    lead, se = info["lead"], info["lead_se"]
    assert best != {"C": 1.0} and 0 < lead < se  # a noisy win: half a standard error
    # the lead and its standard error, recomputed here: the same inner folds, scored by scikit-learn
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    mine = cross_val_score(tuning.configure(est, best), X, y, cv=folds)
    assert se == pytest.approx(mine.std(ddof=1) / np.sqrt(3))
    assert lead == pytest.approx(mine.mean() - cross_val_score(est, X, y, cv=folds).mean())
    ratio = lead / se
    kept, kept_info = tuning.tune(est, space, X, y, trials=6, folds=3, seed=0, keep_default_within=1.01 * ratio)
    assert kept == {"C": 1.0} and kept_info["score"] == pytest.approx(info["score"] - lead)
    assert "the model's own values kept: the best trial led them by 0.0333, within" in kept_info["folds_note"]
    won, won_info = tuning.tune(est, space, X, y, trials=6, folds=3, seed=0, keep_default_within=0.99 * ratio)
    assert won == best and won_info["folds_note"] == ""
    # a step that wins on every fold has no spread: it is taken at any margin
    X, y = _data()
    params, info = tuning.tune(Peak(), {"a": {"low": 0.0, "high": 1.0}}, X, y, trials=12, folds=3, seed=0,
                               keep_default_within=1e6)
    assert params["a"] > 0.5 and info["lead_se"] == 0.0
    # a first trial that is not the model's own values (width lies outside the space) is no default to keep
    space = {"a": {"low": 0.0, "high": 1.0}, "width": {"choices": [[8], [16]]}}
    params, info = tuning.tune(Peak(a=0.2), space, X, y, trials=12, folds=3, seed=0, keep_default_within=1e6)
    assert params["a"] > 0.5 and "lead" not in info
    for bad in (-1, float("nan"), float("inf"), "one"):
        with pytest.raises(ConfigError, match=r"tuning\.keep_default_within=.* must be a number of standard errors >= 0"):
            tuning.tune(Peak(), {"a": {"low": 0.0, "high": 1.0}}, X, y, trials=2, keep_default_within=bad)
    tuning.check_keep(0.0)  # zero: the best trial wins, as with null
    assert tuning._and("", "kept") == "kept" and tuning._and("2 folds", "kept") == "2 folds; kept"


class Leafy(BaseEstimator, ClassifierMixin):
    """Boosting's small-n trap in one rule: with ``leaf`` rows per leaf it splits only on >= 2 * leaf rows.

    Split with the default (leaf >= 20) it predicts the label hidden in column 0 exactly; with a smaller
    leaf it splits at any size but overfits (every fifth prediction wrong); unsplit it predicts class 0.
    """

    sizes: list = []

    def __init__(self, leaf=20):
        self.leaf = leaf

    def fit(self, X, y):
        Leafy.sizes.append(len(y))
        self.classes_ = np.unique(y)
        self.split_ = len(y) >= 2 * self.leaf
        return self

    def predict(self, X):
        label = np.asarray(X)[:, 0].astype(int)
        if not self.split_:
            return np.zeros(len(label), dtype=int)
        if self.leaf >= 20:
            return label
        return np.where(np.arange(len(label)) % 5 == 0, 1 - label, label)


def test_small_subsets_are_tuned_on_ten_folds_so_the_default_is_judged_as_it_will_be_fitted():
    """45 rows, 2 inner folds: the default is judged on 22-row fits where it cannot split and loses to an
    overfitting leaf; with tuning.small_n the folds fit 42-43 rows, the default splits and is kept."""
    X, y = _data(45)
    space = {"leaf": {"low": 1, "high": 40}}
    Leafy.sizes = []
    params, info = tuning.tune(Leafy(), space, X, y, trials=6, folds=2, seed=0, keep_default_within=1.0)
    assert params["leaf"] < 20 and info["folds"] == 2 and set(Leafy.sizes) == {22, 23}
    assert (Leafy(**params).fit(X, y).predict(X) == y).mean() == pytest.approx(0.8, abs=0.03)  # worse than the default
    Leafy.sizes = []
    params, info = tuning.tune(Leafy(), space, X, y, trials=6, folds=2, seed=0, keep_default_within=1.0, small_n=64)
    assert params == {"leaf": 20} and info["folds"] == 20 and set(Leafy.sizes) == {42, 43}
    assert info["folds_note"].startswith("small subset: 20 inner folds (stratified), each fit on at least 42 of 45 rows")
    assert len(Leafy.sizes) <= 6 * 20  # the cost, in fits: 20 / 2 times the 2-fold search's
    # above small_n the study's folds stand
    Leafy.sizes = []
    _, info = tuning.tune(Leafy(), space, X, y, trials=2, folds=2, seed=0, small_n=44)
    assert info["folds"] == 2 and set(Leafy.sizes) == {22, 23}


def test_small_subset_folds_leave_stratification_rather_than_fit_too_few_rows():
    y = np.repeat(np.arange(10), [5, 5, 5, 5, 5, 4, 4, 4, 4, 4])  # digits at 45 rows: 4-5 per class
    assert tuning.small_n_folds(y, "classification") == (
        20, False, "small subset: 20 inner folds (not stratified: the smallest class has 4 row(s)), "
                   "each fit on at least 42 of 45 rows")
    assert tuning.small_n_folds(np.arange(200) % 2, "classification")[:2] == (20, True)
    assert tuning.small_n_folds(np.arange(30) % 2, "classification")[:2] == (15, True)  # n // 2: 2-row folds
    assert tuning.small_n_folds(np.arange(12, dtype=float), "regression")[:2] == (6, False)  # n // 2: 2-row folds
    with pytest.raises(ValueError, match="needs two classes"):
        tuning.small_n_folds(np.zeros(20), "classification")
    for bad in (0, -3, 2.5, True, "64"):
        with pytest.raises(ConfigError, match=r"tuning\.small_n=.* must be a positive number of rows"):
            tuning.check_small_n(bad)
    tuning.check_small_n(None)
    tuning.check_small_n(256)


from mvd import curve, identity, store  # noqa: E402

_TINY = ("dataset=breast_cancer", "model=logreg", "curve.sizes=[16,32]", "curve.seeds=[0]")
_TUNED = ("tuning=optuna", "tuning.trials=3", "tuning.folds=2")


@pytest.mark.slow
def test_a_tuned_curve_is_its_own_curve_and_records_its_search(make_cfg):
    default, tuned = make_cfg(*_TINY), make_cfg(*_TINY, *_TUNED)
    assert "-logreg_tuned-" in identity.run_id_of(tuned)
    assert identity.run_id_of(default) != identity.run_id_of(tuned)
    frame = curve.run_curve(tuned)
    assert list(frame["tuned"]) == [True, True] and list(frame["model"]) == ["logreg", "logreg"]
    assert (frame["tune_trials"] == 3).all() and (frame["tune_folds"] == 2).all()
    assert (frame["tune_seconds"] > 0).all() and (frame["tune_overhead_seconds"] < frame["tune_seconds"]).all()
    import json
    assert all(set(json.loads(p)) == {"C"} for p in frame["tune_params"])
    assert frame["tune_score"].between(0, 1).all()
    assert not curve.run_curve(default)["tuned"].any()


@pytest.mark.slow
def test_a_search_space_does_not_move_a_default_curves_id(make_cfg):
    cfg = make_cfg(*_TINY)
    bare = make_cfg(*_TINY)
    from omegaconf import open_dict
    with open_dict(bare):
        bare.model.search = {}
    assert identity.run_id_of(cfg) == identity.run_id_of(bare)
    assert identity.config_hash(cfg) == identity.config_hash(bare)
    # a model with nothing to tune runs its default curve when the study says so: the same curve
    dummy = make_cfg("dataset=breast_cancer", "model=dummy", *_TUNED, "tuning.untunable=default")
    assert identity.run_id_of(dummy) == identity.run_id_of(make_cfg("dataset=breast_cancer", "model=dummy"))
    assert curve.plan(dummy).tuning is None
    # the one-standard-error rule came later: unset, it leaves stored tuned curves' ids alone; set, it is a new curve
    from omegaconf import OmegaConf

    tuned = OmegaConf.create(OmegaConf.to_container(make_cfg(*_TINY, *_TUNED)))  # as saved before the option
    del tuned.tuning["keep_default_within"]
    assert identity.run_id_of(make_cfg(*_TINY, *_TUNED)) == identity.run_id_of(tuned)
    assert identity.run_id_of(make_cfg(*_TINY, *_TUNED, "tuning.keep_default_within=1.0")) != identity.run_id_of(tuned)
    # so did the small-subset folds
    del tuned.tuning["small_n"]
    assert identity.run_id_of(make_cfg(*_TINY, *_TUNED)) == identity.run_id_of(tuned)
    assert identity.run_id_of(make_cfg(*_TINY, *_TUNED, "tuning.small_n=256")) != identity.run_id_of(tuned)


def test_a_tuned_curve_reruns_to_the_same_numbers(make_cfg, tmp_path):
    first = curve.run_curve(make_cfg(*_TINY, *_TUNED))
    again = curve.run_curve(make_cfg(*_TINY, *_TUNED, f"results_dir={tmp_path}/again"))
    assert store.without_volatile(first).equals(store.without_volatile(again))


@pytest.mark.slow
def test_tuning_never_sees_the_test_split(make_cfg, test_set_digests, monkeypatch):
    """The tuner gets the point's training rows only, and the test sets are those of the default curve."""
    seen = []
    original = tuning.tune

    def spy(estimator, space, X, y, **kw):
        seen.append(np.asarray(X).copy())
        return original(estimator, space, X, y, **kw)

    monkeypatch.setattr(tuning, "tune", spy)
    curve.run_curve(make_cfg(*_TINY, *_TUNED))
    curve.run_curve(make_cfg(*_TINY, "study=untuned"))
    tuned_tests, default_tests = test_set_digests[("clean", "none")][:2], test_set_digests[("clean", "none")][2:]
    assert tuned_tests == default_tests
    from mvd import data, splits
    cfg = make_cfg(*_TINY)
    ds = data.load(cfg.dataset)
    pool, test = splits.split(ds.y, seed=0, test_fraction=cfg.curve.test_fraction, task=ds.task)
    order = splits.nested_order(ds.y[pool], seed=0, task=ds.task)
    rows = lambda X: {r.tobytes() for r in np.asarray(X)}  # noqa: E731  (breast_cancer rows are unique)
    test_rows = rows(ds.X[test])
    assert [len(X) for X in seen] == [16, 32]
    for X, n in zip(seen, (16, 32)):
        assert rows(X) == rows(ds.X[pool][order[:n]])  # exactly the point's training subset
        assert not rows(X) & test_rows


@pytest.mark.parametrize("overrides, match", [
    (("model=dummy",), r"model='dummy' has nothing to tune \(model\.search is empty\)"),
    (("+model.search.n_trees={low:1,high:5}",), r"model\.search\.n_trees is not a parameter of LogisticRegression"),
    (("model.search.C.low=10.0", "model.search.C.high=1.0"), r"model\.search\.C has low=10\.0 >= high=1\.0"),
    (("tuning.trials=0",), r"tuning\.trials=0 must be a positive number of trials"),
    (("tuning.folds=7", "tuning.shrink_folds=false"),
     r"tuning\.folds=7 cannot split the smallest training subset \(16 rows\): 7 inner folds do not fit"),
    (("curve.sizes=[3,32]",), r"tuning\.folds=2 cannot split the smallest training subset \(3 rows\)"),
    (("tuning.untunable=skip",), r"tuning\.untunable='skip' is unknown; allowed: refuse, default"),
    (("tuning.keep_default_within=-0.5",), r"tuning\.keep_default_within=-0\.5 must be a number of standard errors"),
    (("tuning.small_n=0",), r"tuning\.small_n=0 must be a positive number of rows"),
])
@pytest.mark.slow
def test_bad_tuning_input_is_refused_before_any_work(make_cfg, overrides, match, tmp_path):
    cfg = make_cfg(*_TINY, *_TUNED, *overrides)
    with pytest.raises(ConfigError, match=match):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_tuning_without_optuna_is_refused_in_one_sentence(make_cfg, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError, match=r"tuning=optuna needs Optuna, which is not installed; pip install 'mvd\[tune\]'"):
        curve.plan(make_cfg(*_TINY, *_TUNED))


@pytest.mark.slow
def test_lightgbm_splits_categories_natively_with_the_jobs_threads(make_cfg):
    pytest.importorskip("lightgbm", reason="lightgbm is not installed (pip install 'mvd[boosting]')")
    import pandas as pd
    from mvd import models
    from mvd.data import Dataset

    rng = np.random.default_rng(0)
    # LightGBM splits a category only with 100 rows per group (min_data_per_group): 1,000 rows here
    colour = rng.choice(["red", "green", "blue", "grey"], size=1000)
    X = pd.DataFrame({"x": rng.normal(size=1000), "colour": pd.Categorical(colour)})
    y = np.isin(colour, ["red", "blue"]).astype(np.int64)
    ds = Dataset(name="toy", task="classification", modality="tabular", X=X, y=y, classes=["0", "1"],
                 categorical=["colour"])
    pipe = models.build(make_cfg("model=lightgbm").model, ds, seed=0, threads=2)
    assert pipe[-1].get_params()["n_jobs"] == 2 and pipe[-1].get_params()["categorical_column"] == [1]
    pipe.fit(X, y)
    import json
    assert '"decision_type": "=="' in json.dumps(pipe[-1].booster_.dump_model())  # a categorical split
    assert pipe.score(X, y) == 1.0
