"""Curve families chosen by backtest, and the coverage of extrapolation intervals, on curves with known families."""

from __future__ import annotations

import numpy as np
import pytest

from mvd.report import families
from mvd.report.aggregate import SeedResamples
from tests.synthetic_study import SIZES, backtest_curves, family_curves


@pytest.mark.parametrize("family", families.FAMILIES)
def test_each_family_recovers_its_own_noise_free_curve(family):
    rng = np.random.default_rng(3)
    from tests.synthetic_study import true_curve

    mu = true_curve(family, SIZES, rng)
    fit = families.polish(families.fit(family, SIZES, mu[None], 1.0), SIZES, mu[None], 1.0)
    assert np.max(np.abs(fit.at(SIZES)[0] - mu)) < 2e-3 if family != "last" else True


def test_backtest_scores_only_the_held_out_anchors():
    n = SIZES
    err = 1.0 * n**-0.5 + 0.05
    scores = families.backtest_scores(n, err, np.ones(len(n)))
    assert scores["pow3"] < 1e-3 < scores["last"] and scores["pow3"] < scores["loglinear"] / 10
    assert families.choose(scores)[0] == "pow3"
    # a flat curve: every family ties with the last value, and the simplest wins
    flat = families.backtest_scores(n, np.full(len(n), 0.2), np.ones(len(n)))
    assert families.choose(flat)[0] == "last"


def test_a_few_known_curves_pick_their_family_and_intervals_cover():
    result = backtest_curves(family_curves(25, seed=1), bootstrap=100)
    assert result["pick_rate"] >= 0.8
    assert 0.7 <= result["coverage"][0.8] <= 0.95 and 0.85 <= result["coverage"][0.95] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("draw", [0, 2])
def test_over_500_known_curves_the_backtest_picks_the_family_and_intervals_hold_their_level(draw):
    result = backtest_curves(family_curves(500, seed=draw), bootstrap=200)
    # the target is 90%; measured 93.8% on draw 0 and 92.6% on draw 2 (92.4-93.8% on draws 0-4); with
    # the two cuts n_max/4 and n_max/2 alone draw 2 gave 89.2%
    assert result["pick_rate"] >= 0.90, result
    assert abs(result["coverage"][0.8] - 0.8) <= 0.05, result
    assert abs(result["coverage"][0.95] - 0.95) <= 0.05, result


def test_one_seed_gives_no_interval():
    wide = (1.0 * SIZES**-0.5 + 0.05)[:, None]
    rs = SeedResamples([0], n=10)
    ex = families.predict(SIZES[:8], wide[:8], [0], 1.0, SIZES[8:], rs, family="pow3")
    low, high = ex.interval(0.95)
    assert np.isnan(low).all() and ex.extrapolated.all()
    assert ex.error == pytest.approx(1.0 * SIZES[8:]**-0.5 + 0.05, rel=1e-3)


def test_the_simple_rules_price_more_labels_from_the_last_doubling():
    from mvd.report.backtest import RULES, _rule_gain

    assert [_rule_gain(2.0, 2.0, RULES[r]) for r in ("last", "again", "half")] == [0.0, 2.0, 1.0]
    assert _rule_gain(2.0, 4.0, RULES["again"]) == pytest.approx(4.0)
    assert _rule_gain(2.0, 4.0, RULES["half"]) == pytest.approx(1.5)        # 1 + 0.5


@pytest.fixture(scope="module")
def spambase_decision():
    from mvd import store
    from mvd.report.decision import decide
    from mvd.report.study import score_points

    points = store.load("results/atlas")
    ok, metric = score_points(points[points["dataset"] == "spambase"])
    return decide(ok, metric=metric, bootstrap=50)["spambase"]


def test_the_decisions_backtest_scores_the_method_beside_each_simple_rule_on_the_same_trials(spambase_decision):
    from mvd.report import backtest

    got = backtest.decisions(spambase_decision)
    assert set(got["rules"]) == {"method", "last", "again", "half"}
    assert all(r["trials"] == len(got["trials"]) >= 1 for r in got["rules"].values())
    assert got["rules"]["method"]["hit_rate"] == got["hit_rate"]
    for t in got["trials"]:
        assert set(t["rules"]) == {"last", "again", "half"} and t["labels_actual"] is not None
        assert t["rules"]["last"]["labels_gain"] == 0.0
    # spambase kept gaining: the forecast's error on more labels is below "no further gain"'s
    assert got["rules"]["method"]["labels_error"] < got["rules"]["last"]["labels_error"]
    text = backtest.describe(got)
    assert "the forecast" in text and "zero gain" in text and "half of it" in text


def test_a_trial_without_a_forecast_is_not_scored(spambase_decision, monkeypatch):
    from mvd.report import backtest

    # with every lever's value measured at the cut (none beyond it), no trial is scored
    real = backtest.hidden

    def measured_only(decision, cut):
        d = real(decision, cut)
        for lv in d.levers:
            lv.extrapolated = False
        return d

    monkeypatch.setattr(backtest, "hidden", measured_only)
    assert backtest.decisions(spambase_decision) is None


def test_the_interval_backtest_checks_the_forecast_and_reports_median_widths():
    from mvd import store
    from mvd.report import backtest
    from mvd.report.render import _widths
    from mvd.report.study import score_points
    from tests.report_helpers import curves_of

    points = store.load("results/atlas")
    ok, _ = score_points(points[(points["dataset"] == "spambase") & (points["quality_rate"] == 0)])
    curves, rs = curves_of(ok, ok.groupby("model")["sophistication"].max().to_dict(), resamples=50)
    got = backtest.intervals(curves, "spambase", rs["spambase"])
    assert got["held_out"] > 0 and all(k.startswith("gain model (") for k in got["families"])
    assert 0 < got["median_width"]["80"] < got["median_width"]["95"]
    assert _widths(got["median_width"], 1, "points").startswith(" Median widths: 80% ")
    assert _widths({"80": None, "95": None}, 1, "points") == ""


def test_the_interval_backtest_of_an_error_that_is_not_a_rate_checks_half_the_last_gain():
    from mvd import store
    from mvd.report import backtest, forecast
    from mvd.report.study import score_points
    from tests.report_helpers import curves_of

    points = store.load("results/atlas")
    ok, metric = score_points(points[(points["dataset"] == "diabetes") & (points["quality_rate"] == 0)])
    assert metric["diabetes"] == "rmse"
    curves, rs = curves_of(ok, ok.groupby("model")["sophistication"].max().to_dict(), resamples=50)
    got = backtest.intervals(curves, "diabetes", rs["diabetes"])
    # every curve forecast beyond its sizes by half the last gain, with widths in the metric's unit
    assert got["held_out"] > 0 and set(got["families"]) == {forecast.HALF_LAST}
    assert 0 < got["median_width"]["80"] < got["median_width"]["95"]
    # and the decision prices more labels by it, under a family name the summary's schema knows
    import json
    from importlib import resources

    from mvd.report.decision import decide

    d = decide(ok, metric=metric, datasets=["diabetes"], bootstrap=50)["diabetes"]
    labels = next(lv for lv in d.levers if lv.kind == "labels")
    assert labels.extrapolated and labels.family == forecast.HALF_LAST
    schema = json.loads(resources.files("mvd.report").joinpath("summary.schema.json").read_text())
    assert forecast.HALF_LAST in schema["$defs"]["lever"]["properties"]["family"]["enum"]


def _entry(unit: str, trials: list[tuple[float, float, float]], hit: bool = True) -> dict:
    """One dataset's backtest with trials of (measured more-labels gain, forecast's, half's)."""
    rows = []
    for actual, method, half in trials:
        rules = {r: {"chosen": "x", "hit": hit, "regret": 0.0 if hit else 0.5, "labels_gain": g}
                 for r, g in (("last", 0.0), ("again", 2 * half), ("half", half))}
        rows.append({"n": 64, "chosen": "x", "winner": "x", "hit": True, "predicted_gain": 1.0, "actual_gain": 1.0,
                     "regret": 0.0, "labels_actual": actual, "labels_predicted": method, "rules": rules})
    return {"backtest": {"decisions": {"trials": rows, "unit": unit}}}


def test_the_pooled_backtest_adds_every_dataset_per_unit_and_never_across_units():
    from mvd.report import backtest

    entries = {"a": _entry("points", [(1.0, 1.5, 0.5), (2.0, 2.0, 1.0)], hit=False),
               "b": _entry("points", [(0.0, 1.0, 0.0), (None, 1.0, 0.0)]),  # more labels unmeasured in one trial
               "r": _entry("rmse", [(10.0, 0.0, 5.0)]),
               "none": {"backtest": {"decisions": None}}}
    got = backtest.pooled(entries)
    assert set(got) == {"points", "rmse"}
    p = got["points"]
    assert (p["datasets"], p["trials"], p["labels_trials"]) == (2, 4, 3)
    assert p["rules"]["method"]["labels_error"] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert p["rules"]["half"]["labels_error"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert p["rules"]["half"]["hits"] == 2 and p["rules"]["method"]["hits"] == 4
    assert p["rules"]["half"]["mean_regret"] == pytest.approx(1.0 / 4)
    # a rule's error minus the forecast's; with two datasets, no interval
    assert p["labels_error_difference"]["half"]["value"] == pytest.approx(0.0)
    assert p["labels_error_difference"]["last"]["value"] == pytest.approx((1.0 + 2.0 + 0.0 - 1.5) / 3)
    assert p["labels_error_difference"]["half"]["ci_low"] is None
    assert "no interval tells the rules apart" in p["sentence"]
    assert got["rmse"]["rules"]["method"]["labels_error"] == 10.0 and "one dataset's backtest" in got["rmse"]["sentence"]
    assert backtest.pooled({"none": {"backtest": None}}) is None


def test_the_pooled_backtest_says_whether_its_datasets_tell_a_rule_from_the_forecast():
    from scipy import stats

    from mvd.report import backtest

    # half is further off on every dataset, by 0.1 to 0.5 points (one trial each): the interval is the paired
    # t-interval over datasets, 0.3 ± t(4) · sd / sqrt(5), above zero
    k = 5
    worse = {f"d{i}": _entry("points", [(1.0, 1.0, 1.0 - 0.1 * (i + 1))]) for i in range(k)}
    got = backtest.pooled(worse)["points"]
    d = got["labels_error_difference"]["half"]
    half = stats.t.ppf(0.975, k - 1) * np.std([0.1, 0.2, 0.3, 0.4, 0.5], ddof=1) / np.sqrt(k)
    assert d["value"] == pytest.approx(0.3) and (d["ci_low"], d["ci_high"]) == pytest.approx((0.3 - half, 0.3 + half))
    assert d["datasets"] == k and "half of it +0.30 [+0.10, +0.50] (the forecast closer)" in got["sentence"]
    assert "over the 5 datasets (each left out in turn)" in got["sentence"]
    # a dataset with more trials weighs more: the leave-one-out values are ratios of the sums left
    two = {**worse, "d0": _entry("points", [(1.0, 1.0, 0.9), (1.0, 1.0, 0.9)])}
    d = backtest.pooled(two)["points"]["labels_error_difference"]["half"]
    assert d["value"] == pytest.approx((0.2 + 0.2 + 0.3 + 0.4 + 0.5) / 6)
    sums, counts = np.array([0.2, 0.2, 0.3, 0.4, 0.5]), np.array([2, 1, 1, 1, 1])
    loo = (sums.sum() - sums) / (counts.sum() - counts)
    se = np.sqrt(4 / 5 * ((loo - loo.mean()) ** 2).sum())
    assert d["ci_high"] - d["value"] == pytest.approx(stats.t.ppf(0.975, 4) * se)
    # closer on some datasets, further on others: not told apart
    mixed = {f"d{i}": _entry("points", [(1.0, 1.2, 1.4 if i % 2 else 1.0)]) for i in range(k + 1)}
    got = backtest.pooled(mixed)["points"]
    d = got["labels_error_difference"]["half"]
    assert d["ci_low"] < 0 < d["ci_high"] and "half of it +0.00 [" in got["sentence"]
    assert "(not told apart)" in got["sentence"]
    # three datasets give an interval (t with 2 degrees of freedom), two do not
    assert backtest.pooled(dict(list(worse.items())[:3]))["points"]["labels_error_difference"]["half"]["ci_low"] is not None
    few = dict(list(worse.items())[:backtest.MIN_DATASETS - 1])
    got = backtest.pooled(few)["points"]
    assert got["labels_error_difference"]["half"]["ci_low"] is None
    assert f"With {backtest.MIN_DATASETS - 1} datasets (fewer than {backtest.MIN_DATASETS})" in got["sentence"]


def test_the_pooled_sentence_reads_an_interval_off_its_printed_ends():
    from mvd.report import backtest

    rule = {"hits": 3, "trials": 4, "hit_rate": 0.75, "mean_regret": 0.1, "labels_error": 0.5}
    result = {"datasets": 6, "trials": 4, "labels_trials": 4, "confidence": 0.95,
              "rules": {r: dict(rule) for r in ("method", "last", "again", "half")},
              "labels_error_difference": {"last": {"value": 0.2, "ci_low": 0.01, "ci_high": 0.4, "datasets": 6},
                                          "again": {"value": 0.1, "ci_low": 0.004, "ci_high": 0.2, "datasets": 6},
                                          "half": {"value": -0.2, "ci_low": -0.4, "ci_high": -0.01, "datasets": 6}}}
    text = backtest.describe_pooled(result, "points")
    assert "zero gain +0.20 [+0.01, +0.40] (the forecast closer)" in text
    assert "the last doubling's gain again +0.10 [+0.00, +0.20] (not told apart)" in text
    assert "half of it -0.20 [-0.40, -0.01] (the forecast further off)" in text
    assert text.startswith("Over the 6 datasets' backtests (4 trials; regrets and errors in points), the lever that "
                           "then won was picked by the forecast in 3 (regret 0.10); zero gain in 3")
