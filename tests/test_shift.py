"""Shift kinds, mixed pools and prior correction: known answers on synthetic data."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from mvd import prior, shift
from mvd.errors import ConfigError
from mvd.splits import nested_order


def test_covariate_selection_moves_the_mean_by_the_expected_amount():
    rng = np.random.default_rng(0)
    mu, sigma, rate, steep = 2.0, 3.0, 0.75, 4.0
    x = rng.normal(mu, sigma, 100_000)
    sel = shift.covariate_selection(x, rate, shift.stream("covariate_shift", 1), steepness=steep)
    med, sd = np.median(x), np.std(x)

    def keep(v):
        return 1 - rate * expit(-steep * (v - med) / sd)

    def density(v):
        return stats.norm.pdf(v, mu, sigma)

    lo, hi = mu - 10 * sigma, mu + 10 * sigma
    mass = integrate.quad(lambda v: density(v) * keep(v), lo, hi)[0]
    expected = integrate.quad(lambda v: v * density(v) * keep(v), lo, hi)[0] / mass
    got = x[sel.rows].mean()
    assert expected - mu > 0.4 * sigma  # a real shift, not a rounding of the clean mean
    assert abs(got - expected) < 4 * sigma / np.sqrt(len(sel.rows))
    assert abs(len(sel.rows) / len(x) - mass) < 0.01
    assert sel.info["shift_mean_delta"] == pytest.approx((expected - mu) / sigma, abs=0.02)
    assert sel.info["shift_weight_min"] == pytest.approx(1 - rate, abs=1e-3)
    # direction -1 keeps the low region instead
    low = shift.covariate_selection(x, rate, shift.stream("covariate_shift", 1), steepness=steep, direction=-1)
    assert x[low.rows].mean() - mu == pytest.approx(-(got - mu), abs=0.05)


@pytest.mark.parametrize("kind", shift.KINDS)
def test_rate_zero_keeps_every_row(kind):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 500)
    x = rng.normal(size=500)
    sel = {
        "covariate_shift": lambda r: shift.covariate_selection(x, 0.0, r),
        "label_shift": lambda r: shift.label_selection(y, 0.0, r, n_classes=4),
        "subgroup_shift": lambda r: shift.subgroup_selection(y == 2, 0.0, r),
    }[kind](shift.stream(kind, 0))
    np.testing.assert_array_equal(sel.rows, np.arange(500))


@pytest.mark.parametrize("rate", [0.25, 0.5, 1.0])
def test_label_shift_reaches_the_requested_prior(rate):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 40_000)
    target = [0.5, 0.2, 0.15, 0.1, 0.05]
    sel = shift.label_selection(y, rate, shift.stream("label_shift", 2), n_classes=5, prior=target)
    pool_prior = np.bincount(y, minlength=5) / len(y)
    wanted = (1 - rate) * pool_prior + rate * np.array(target)
    kept = y[sel.rows]
    achieved = np.bincount(kept, minlength=5) / len(kept)
    tolerance = 3 * np.sqrt(wanted * (1 - wanted) / len(kept))  # binomial, three standard errors
    assert np.all(np.abs(achieved - wanted) <= tolerance)
    assert json.loads(sel.info["shift_prior"]) == pytest.approx(list(achieved), abs=1e-5)
    # the largest such pool: the class that limits it keeps every row
    assert np.any(np.bincount(kept, minlength=5) == np.bincount(y, minlength=5))
    # a nested prefix of the shifted pool holds the same prior (stratified order)
    order = nested_order(kept, seed=0, task="classification")
    prefix = np.bincount(kept[order[:1000]], minlength=5) / 1000
    assert np.all(np.abs(prefix - wanted) <= 3 * np.sqrt(wanted * (1 - wanted) / 1000))


def test_label_shift_dirichlet_is_seeded():
    y = np.repeat(np.arange(3), 300)
    a = shift.label_selection(y, 0.5, shift.stream("label_shift", 7), n_classes=3)
    b = shift.label_selection(y, 0.5, shift.stream("label_shift", 7), n_classes=3)
    c = shift.label_selection(y, 0.5, shift.stream("label_shift", 8), n_classes=3)
    np.testing.assert_array_equal(a.rows, b.rows)
    assert a.info["shift_prior"] != c.info["shift_prior"]
    assert a.info["shift_tv"] > 0


def test_subgroup_pool_holds_only_the_subgroup():
    rng = np.random.default_rng(2)
    sex = rng.choice(["Male", "Female"], 2000, p=[0.67, 0.33])
    member = shift.subgroup_members(sex, value="Female")
    full = shift.subgroup_selection(member, 1.0, shift.stream("subgroup_shift", 0))
    assert set(sex[full.rows]) == {"Female"} and len(full.rows) == member.sum()
    assert full.info["subgroup_share"] == 1.0
    half = shift.subgroup_selection(member, 0.5, shift.stream("subgroup_shift", 0))
    assert member[half.rows].sum() == member.sum()  # every member stays
    others = (~member).sum()
    assert abs((~member[half.rows]).sum() - 0.5 * others) < 4 * np.sqrt(0.25 * others)
    assert set(half.rows) >= set(full.rows)


def test_subgroup_band_of_a_numeric_column():
    age = np.array([17, 25, 30, 45, 60, 90])
    np.testing.assert_array_equal(shift.subgroup_members(age, band=[25, 45]), [0, 1, 1, 0, 0, 0])


def test_choose_feature_picks_the_informative_column():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    X = pd.DataFrame({"noise": rng.normal(size=1000), "signal": y + rng.normal(0, 0.5, 1000)})
    assert shift.choose_feature(X, y, ["noise", "signal"]) == "signal"
    assert shift.choose_feature(X.to_numpy(), y, [0, 1]) == 1


def test_mixed_order_fixes_the_base_and_nests_the_rest():
    first = np.array([9, 4, 7, 1])
    second = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    order = shift.mixed_order(first, second, 2)
    np.testing.assert_array_equal(order, [9, 4, 0, 1, 2, 3, 5, 6, 7, 8])
    assert len(set(order)) == len(order)
    with pytest.raises(ConfigError, match="exceeds"):
        shift.mixed_order(first, second, 5)


def _gaussian_classes(rng, prior, n, means):
    y = rng.choice(len(prior), size=n, p=prior)
    X = means[y] + rng.normal(size=(n, means.shape[1]))
    return X, y


def test_prior_correction_recovers_the_accuracy_lost_under_label_shift():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    balanced = [1 / 3] * 3
    X_pool, y_pool = _gaussian_classes(rng, balanced, 12_000, means)
    X_test, y_test = _gaussian_classes(rng, balanced, 20_000, means)
    sel = shift.label_selection(y_pool, 1.0, shift.stream("label_shift", 0), n_classes=3,
                                prior=[0.8, 0.15, 0.05])
    X_shift, y_shift = X_pool[sel.rows], y_pool[sel.rows]
    n = len(sel.rows)
    clean = LogisticRegression().fit(X_pool[:n], y_pool[:n]).score(X_test, y_test)
    shifted = LogisticRegression().fit(X_shift, y_shift).score(X_test, y_test)
    # the unlabelled target sample is the pool before the shift, never the test set
    corrected_model = prior.PriorCorrected(LogisticRegression(), target=X_pool).fit(X_shift, y_shift)
    corrected = corrected_model.score(X_test, y_test)
    assert clean - shifted > 0.05  # the shift costs accuracy
    assert (corrected - shifted) / (clean - shifted) >= 0.8
    assert corrected_model.target_prior_ == pytest.approx(balanced, abs=0.05)


def test_bbse_weights_known_confusion():
    # a perfect classifier: the weights are the target prior over the training prior
    y = np.array([0] * 80 + [1] * 20)
    target = np.array([0] * 50 + [1] * 50)
    w = prior.bbse_weights(y, y, target, 2)
    np.testing.assert_allclose(w, [0.5 / 0.8, 0.5 / 0.2])
    np.testing.assert_allclose(prior.reweight(np.array([[0.8, 0.2]]), w), [[0.5, 0.5]])


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = pd.DataFrame({"age": rng.integers(17, 90, n).astype(float), "hours": y * 2.0 + rng.normal(size=n),
                      "sex": rng.choice(["Male", "Female"], n)})
    return X, y


_META = dict(names=["age", "hours", "sex"], categorical=["sex"], task="classification", modality="tabular",
             n_classes=3, dataset="toy")


@pytest.mark.parametrize("kind, params, message", [
    ("covariate_shift", {"feature": "sex"}, "quality.feature='sex' is not a numeric feature"),
    ("covariate_shift", {"feature": "height"}, "quality.feature='height' is not a numeric feature"),
    ("covariate_shift", {"direction": 2}, "allowed: direction 1"),
    ("label_shift", {"prior": [0.5, 0.5]}, "must list 3 non-negative shares"),
    ("subgroup_shift", {"column": "race", "value": "x"}, "quality.column='race' is not a column"),
    ("subgroup_shift", {"column": "sex"}, "give exactly one"),
    ("subgroup_shift", {"column": "sex", "value": "Other"}, "matches no row"),
    ("label_shift", {"rate": 1.5}, "outside [0, 1]"),
])
def test_check_refuses_in_one_sentence(kind, params, message):
    X, _ = _frame()
    params = dict(params)
    rate = params.pop("rate", 0.5)
    with pytest.raises(ConfigError, match=re.escape(message)):
        shift.check(kind, rate=rate, X=X, **_META, **params)


def test_check_refuses_what_cannot_apply():
    X, _ = _frame()
    with pytest.raises(ConfigError, match="needs classes"):
        shift.check("label_shift", rate=0.5, X=X, **dict(_META, task="regression"))
    with pytest.raises(ConfigError, match="is text"):
        shift.check("subgroup_shift", rate=0.5, X=X, column="sex", value="Male", **dict(_META, modality="text"))
    shift.check("subgroup_shift", rate=1.0, X=X, column="sex", value="Female", **_META)  # accepted


def test_select_dispatches_and_records():
    X, y = _frame()
    names = _META["names"]
    sub = shift.select("subgroup_shift", X, y, rate=1.0, seed=0, n_classes=3, names=names,
                       column="sex", value="Female")
    assert set(X["sex"].iloc[sub.rows]) == {"Female"}
    cov = shift.select("covariate_shift", X, y, rate=0.75, seed=0, n_classes=3, names=names, categorical=["sex"])
    assert cov.info["shift_feature"] == "hours"  # chosen: the feature that separates the classes
    assert X["hours"].iloc[cov.rows].mean() > X["hours"].mean()
    arr = shift.select("covariate_shift", X[["age", "hours"]].to_numpy(), y, rate=0.75, seed=0, n_classes=3,
                       names=["age", "hours"], feature="age")
    assert arr.info["shift_feature"] == "age"


@pytest.mark.parametrize("add", ["target", "shifted"])
def test_mixed_pool_order_nests_both_sources(add):
    X, y = _frame()
    sel = shift.select("subgroup_shift", X, y, rate=1.0, seed=4, n_classes=3, names=_META["names"],
                       column="sex", value="Female")
    order = shift.mixed_pool_order(sel.rows, y, seed=4, task="classification", base=50, add=add)
    assert len(set(order)) == len(order)
    shifted = sel.rows[nested_order(y[sel.rows], seed=4, task="classification")]
    whole = nested_order(y, seed=4, task="classification")
    base_source, added_source = (shifted, whole) if add == "target" else (whole, shifted)
    np.testing.assert_array_equal(order[:50], base_source[:50])
    np.testing.assert_array_equal(order[50:], added_source[~np.isin(added_source, base_source[:50])])


# --- the engine: shift kinds as quality options -------------------------------------

from mvd import curve  # noqa: E402

METRICS = ["test_accuracy", "test_balanced_accuracy", "test_macro_f1", "test_log_loss", "train_score", "n_fit"]
SHIFT_OVERRIDES = {
    "covariate_shift": ["quality=covariate_shift"],
    "label_shift": ["quality=label_shift"],
    "subgroup_shift": ["quality=subgroup_shift", "quality.column=pixel_0_5", "+quality.band=[0,4]"],
}


def _run(make_cfg, *overrides):
    frame = curve.run_curve(make_cfg("curve=tiny", "dataset=digits", *overrides))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return frame.sort_values(["seed", "train_size"]).reset_index(drop=True)


@pytest.mark.parametrize("kind", shift.KINDS)
def test_rate_zero_reproduces_the_clean_curve_to_the_bit(make_cfg, kind):
    clean = _run(make_cfg, "model=logreg")
    zero = _run(make_cfg, "model=logreg", *SHIFT_OVERRIDES[kind], "quality.rate=0")
    pd.testing.assert_frame_equal(clean[METRICS + ["train_size", "seed"]], zero[METRICS + ["train_size", "seed"]])


@pytest.mark.parametrize("kind", shift.KINDS)
def test_every_kind_runs_records_and_leaves_the_test_set_alone(make_cfg, kind, test_set_digests):
    _run(make_cfg, "model=logreg")
    frame = _run(make_cfg, "model=logreg", *SHIFT_OVERRIDES[kind], "quality.rate=0.75")
    recorded = {"covariate_shift": "shift_weight_mean", "label_shift": "shift_prior",
                "subgroup_shift": "subgroup_share"}[kind]
    assert frame[recorded].notna().all()
    assert len(test_set_digests) == 2
    assert test_set_digests[(kind, "none")] == test_set_digests[("clean", "none")]


def test_a_size_beyond_the_shifted_pool_is_refused_at_plan_time(make_cfg, tmp_path):
    # pixel_0_5 in [0, 4): a subgroup of digits; at rate 1 the pool holds it alone
    cfg = make_cfg("dataset=digits", *SHIFT_OVERRIDES["subgroup_shift"], "quality.rate=1", "curve.sizes=[16,1000]")
    with pytest.raises(ConfigError, match=r"curve.sizes has \[1000\] larger than the training pool"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_a_mixed_base_beyond_its_source_is_refused_at_plan_time(make_cfg):
    cfg = make_cfg("dataset=digits", *SHIFT_OVERRIDES["subgroup_shift"], "quality.rate=1",
                   "quality.name=subgroup_shift_mixed", "quality.mix_base=5000")
    with pytest.raises(ConfigError, match="quality.mix_base=5000 exceeds the"):
        curve.plan(cfg)
    cfg = make_cfg("dataset=digits", *SHIFT_OVERRIDES["subgroup_shift"], "quality.mix_base=64")
    with pytest.raises(ConfigError, match="allowed: 'subgroup_shift_mixed'"):
        curve.plan(cfg)


def test_mixed_curve_starts_from_the_shifted_curve_and_adds_target_rows(make_cfg):
    shifted = _run(make_cfg, "model=logreg", *SHIFT_OVERRIDES["subgroup_shift"], "quality.rate=1",
                   "curve.sizes=[64]")
    mixed = _run(make_cfg, "model=logreg", *SHIFT_OVERRIDES["subgroup_shift"], "quality.rate=1",
                 "quality.name=subgroup_shift_mixed", "quality.mix_base=64", "curve.sizes=[64,128]")
    at_base = mixed[mixed["train_size"] == 64].reset_index(drop=True)
    pd.testing.assert_frame_equal(shifted[METRICS], at_base[METRICS])  # up to m: the shifted curve itself
    assert (mixed["mix_base"] == 64).all() and (mixed["quality"] == "subgroup_shift_mixed").all()


def test_prior_correction_runs_in_the_engine_and_records_its_estimate(make_cfg, test_set_digests):
    frame = _run(make_cfg, "model=logreg", "quality=label_shift", "quality.rate=0.75",
                 "cleaning=prior_correction", "cleaning.folds=3", "curve.sizes=[32,400]")
    estimate = np.array(json.loads(frame["prior_estimate"].iloc[-1]))
    assert estimate.sum() == pytest.approx(1.0, abs=1e-4) and len(estimate) == 10
    # the shifted pool's prior is far from uniform; the estimate of the (uniform) target prior is closer
    achieved = np.array(json.loads(frame["shift_prior"].iloc[-1]))
    assert np.abs(estimate - 0.1).sum() < np.abs(achieved - 0.1).sum()
    assert (frame["n_fit"] == frame["train_size"]).all()  # no row dropped
