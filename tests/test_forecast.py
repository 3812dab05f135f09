"""The forecast of what more labels buy: known answers, real flat and steady curves, and the decision's use of it."""

from __future__ import annotations

import numpy as np
import pytest

from mvd.report import families, forecast
from mvd.report.aggregate import SeedResamples

SIZES = np.array([16.0, 32, 64, 128, 256, 512])


def _curve(errors, noise=0.0, seeds=5):
    """Sizes x seeds: the mean errors ``errors`` plus a fixed zero-mean pattern of amplitude ``noise``, shifted by one
    seed per size (so paired differences between sizes carry the noise)."""
    pattern = np.linspace(-1, 1, seeds)
    return np.asarray(errors, dtype=float)[:, None] + noise * np.stack([np.roll(pattern, i) for i in range(len(errors))])


def test_the_next_doubling_gains_exactly_what_the_model_says_at_its_knots():
    # last gain 1 point, gain before 1 point, 20 points of error left: each lies on a knot
    errors = np.array([0.40, 0.30, 0.25, 0.22, 0.21, 0.20])
    fc = forecast.forecast(SIZES, _curve(errors), [1024.0])
    model = (forecast.VALUES_LAST[forecast.KNOTS_LAST.index(1.0)] + forecast.VALUES_LEVEL[forecast.KNOTS_LEVEL.index(20.0)]
             + forecast.VALUES_BEFORE[forecast.KNOTS_BEFORE.index(1.0)])
    # beside the model, BLEND_HALF of "half the last gain" (0.5 point here)
    want = (1 - forecast.BLEND_HALF) * model + forecast.BLEND_HALF * 0.5
    assert 0 < forecast.BLEND_HALF < 0.5
    assert fc.gains.last == pytest.approx(0.01) and fc.gains.before == pytest.approx(0.01)
    assert fc.gains.level == pytest.approx(0.20) and fc.gains.regime == "steady"
    assert 100 * fc.gain[0] == pytest.approx(want, abs=1e-9)
    assert fc.error[0] == pytest.approx(0.20 - want / 100, abs=1e-12)


def test_whole_doublings_follow_the_models_own_path_and_a_step_lies_between():
    path = forecast.path(2.0, 20.0, 4.0, doublings=3)
    total = forecast.gain_over(2.0, 20.0, 4.0, [1.0, 2.0, 4.0, 8.0, np.sqrt(2)])
    assert total[0] == 0.0
    half = 2.0 * (1 - 0.5 ** np.array([1.0, 2.0, 3.0]))            # half the last gain, each doubling half the one before
    w = forecast.BLEND_HALF
    assert total[1:4] == pytest.approx((1 - w) * np.cumsum(path) + w * half)
    # the doublings after the first: the chain's gain times FURTHER (the chain alone under-predicted them)
    assert forecast.FURTHER > 1.0
    assert path[1] == pytest.approx(forecast.FURTHER * forecast.next_gain(path[0], 20.0 - path[0], 2.0))
    assert 0.5 * total[1] < total[4] < total[1]        # concave within a doubling: more than half in half the log-way
    # never more than the error left
    assert forecast.gain_over(20.0, 1.0, 20.0, 8.0) <= 1.0


def test_the_next_doubling_is_never_forecast_as_a_loss():
    # breast cancer's logreg at 181 rows: last gain 0.007 points, the one before 1.24, 3.5 points of error left;
    # the additive terms summed to a loss there (-0.40 points) and the decision preferred tuning
    last, level, before = np.meshgrid([0.0, 0.5, 2.0, 8.0], [0.5, 2.0, 3.5, 10.0], [-8.0, -2.0, 1.24, 16.0])
    raw = (np.interp(last, forecast.KNOTS_LAST, forecast.VALUES_LAST)
           + np.interp(level, forecast.KNOTS_LEVEL, forecast.VALUES_LEVEL)
           + np.interp(before, forecast.KNOTS_BEFORE, forecast.VALUES_BEFORE))
    got = forecast.next_gain(last, level, before)
    assert (raw < 0).any()
    assert (got >= 0).all() and (got[raw < 0] == 0).all()
    assert forecast.gain_over(last.ravel(), level.ravel(), before.ravel(), np.full(last.size, 8.0)).min() >= 0


def test_a_curve_with_most_of_its_error_left_that_gained_little_is_not_forecast_to_leap():
    # the place names' logreg (macro-F1 over 246 countries): 98.6 points of error left, the last doublings gained
    # 0.49 and 0.62 points; uncapped, the error-left term alone adds ~5.5 points to the next doubling
    uncapped = (np.interp(0.62, forecast.KNOTS_LAST, forecast.VALUES_LAST)
                + np.interp(98.6, forecast.KNOTS_LEVEL, forecast.VALUES_LEVEL)
                + np.interp(0.49, forecast.KNOTS_BEFORE, forecast.VALUES_BEFORE))
    cap = forecast.CAP_FACTOR * 0.62
    assert uncapped > 2 * cap
    assert forecast.next_gain(0.62, 98.6, 0.49) == pytest.approx(cap)
    # at the threshold the cap holds, below it the additive model is untouched
    at, below = forecast.LEVEL_CAP_AT, forecast.LEVEL_CAP_AT - 0.5
    assert forecast.next_gain(0.62, at, 0.49) == pytest.approx(min(cap, float(forecast.next_gain(0.62, at, 0.49))))
    raw = (np.interp(0.62, forecast.KNOTS_LAST, forecast.VALUES_LAST)
           + np.interp(below, forecast.KNOTS_LEVEL, forecast.VALUES_LEVEL)
           + np.interp(0.49, forecast.KNOTS_BEFORE, forecast.VALUES_BEFORE))
    assert forecast.next_gain(0.62, below, 0.49) == pytest.approx(raw) and raw > cap
    # a curve far from its floor that moves fast keeps its forecast: the cap reads the larger of the last two gains
    assert forecast.next_gain(12.0, 80.0, 16.0) == pytest.approx(
        min(np.interp(12.0, forecast.KNOTS_LAST, forecast.VALUES_LAST)
            + np.interp(80.0, forecast.KNOTS_LEVEL, forecast.VALUES_LEVEL)
            + np.interp(16.0, forecast.KNOTS_BEFORE, forecast.VALUES_BEFORE), 2 * 16.0))
    # a curve near a macro-F1 of zero that gained hundredths of a point (the regions' logreg) is forecast to gain
    # hundredths: the cap has no fixed slack, which alone had made the forecast +0.3 points
    assert 0 < forecast.next_gain(0.015, 99.9, 0.014) <= 2 * 0.015
    assert forecast.gain_over(0.015, 99.9, 0.014, 2.0) < 0.05
    # through the whole forecast: the next doubling of such a curve, blend included, stays within a point
    errors = np.array([0.9990, 0.9985, 0.9975, 0.9960, 0.9911, 0.9849])
    fc = forecast.forecast(SIZES, _curve(errors), [1024.0])
    assert fc.gains.level > 0.6 and 100 * fc.gain[0] < 1.5


def test_the_seed_noise_has_a_fixed_share_in_the_interval_scale():
    # a curve whose only uncertainty is its seed noise (no gain, no error left): s is the seed SE times
    # sqrt(SPREAD_NOISE² + SPREAD_SEED²), SPREAD_SEED = 2 (chosen by coverage on small test sets) ...
    s = forecast._spread(1.5, 0.0, 0.0, forecast.SIZE_REF)
    assert s == pytest.approx(1.5 * np.hypot(forecast.SPREAD_NOISE, forecast.SPREAD_SEED))
    assert s >= 1.5 * 2.0
    # ... and the whole scale shrinks a little with the measured size (large curves were over-covered)
    far = forecast._spread(1.5, 0.0, 0.0, 64 * forecast.SIZE_REF)
    assert far == pytest.approx(s * (1 / 64) ** forecast.SCALE_SIZE_POWER) and far < s


def test_sizes_between_anchors_are_interpolated_in_log_n():
    n = np.array([16.0, 32, 50, 100])
    g = forecast.gains(n, _curve([0.5, 0.4, 0.3, 0.2]))
    assert g.last == pytest.approx(0.3 - 0.2)                       # n/2 = 50 is measured
    w = (np.log(25) - np.log(16)) / (np.log(32) - np.log(16))
    assert g.before == pytest.approx((1 - w) * 0.5 + w * 0.4 - 0.3)  # n/4 = 25 lies between 16 and 32


def test_stopped_moving_is_measured_against_the_seed_noise():
    flat = forecast.gains(SIZES, _curve([0.30, 0.25, 0.22, 0.221, 0.219, 0.220], noise=0.01))
    assert flat.regime == "flat" and not flat.moving
    # the same gains with seeds that agree exactly are a curve still moving
    moving = forecast.gains(SIZES, _curve([0.30, 0.25, 0.22, 0.221, 0.219, 0.218], noise=0.0))
    assert moving.regime != "flat"
    grows = forecast.gains(SIZES, _curve([0.30, 0.29, 0.28, 0.27, 0.25, 0.20], noise=0.001))
    assert grows.regime == "ill-behaved"
    # a flat curve never gains more than its noise could hide
    fc = forecast.forecast(SIZES, _curve([0.30, 0.25, 0.22, 0.221, 0.219, 0.220], noise=0.01), [1024.0])
    assert 0 <= fc.gain[0] <= flat.ceiling + 1e-12


def test_intervals_exist_only_at_calibrated_levels_and_widen_with_reach():
    errors = np.array([0.40, 0.30, 0.25, 0.22, 0.21, 0.20])
    fc = forecast.forecast(SIZES, _curve(errors, noise=0.005), [1024.0, 4096.0])
    lo80, hi80 = fc.interval(0.8)
    lo95, hi95 = fc.interval(0.95)
    assert (lo95 <= lo80).all() and (lo80 <= fc.error).all() and (fc.error <= hi80).all() and (hi80 <= hi95).all()
    assert (hi95 - lo95)[1] > (hi95 - lo95)[0]
    with pytest.raises(ValueError, match="confidence=0.9 has no calibrated interval"):
        fc.interval(0.9)


def test_a_flat_curve_far_along_its_sizes_gets_a_narrower_interval_than_the_same_curve_early():
    errors = [0.170, 0.160, 0.152, 0.151, 0.1505, 0.1504]          # flat, 15 points of error left
    early = forecast.forecast(SIZES, _curve(errors, noise=0.002), [1024.0])
    late = forecast.forecast(SIZES * 64, _curve(errors, noise=0.002), [SIZES[-1] * 128])
    assert early.gains.regime == late.gains.regime == "flat"
    assert np.isclose(early.gain[0], late.gain[0])
    width = lambda fc: np.subtract(*fc.interval(0.95)[::-1])[0]  # noqa: E731
    assert width(late) < 0.6 * width(early)


def test_predict_interpolates_inside_the_measured_sizes_and_takes_half_the_last_gain_for_errors_that_are_not_rates():
    wide = _curve(0.5 * SIZES**-0.3, noise=0.003)
    rs = SeedResamples(range(5), n=50)
    # 90 rows lie between the anchors 64 and 128: linear in log n, whatever family the backtest chose
    inside = forecast.predict(SIZES, wide, range(5), 1.0, [90.0], rs, family="last")
    t = np.log(90 / 64) / np.log(2)
    want = (1 - t) * wide[2].mean() + t * wide[3].mean()
    assert inside.family == forecast.INTERPOLATED and not inside.extrapolated[0]
    assert inside.error[0] == pytest.approx(want, abs=1e-12)
    assert families.predict(SIZES, wide, range(5), 1.0, [90.0], rs, family="last").error[0] == \
        pytest.approx(wide[-1].mean())                         # the `last` family read the largest size instead
    assert 0 < inside.spread[0] == inside.scale[0]
    beyond = forecast.predict(SIZES, wide, range(5), 1.0, [1024.0], rs, family="pow3")
    assert beyond.family.startswith("gain model (") and beyond.extrapolated[0]
    assert beyond.resampled.shape == (len(rs.counts), 1) and beyond.dof == 4
    # an RMSE: half the last doubling's gain, each doubling half the one before, in the family's interval scale
    rmse_wide = 30 * wide
    mean = rmse_wide.mean(axis=1)
    last = mean[-2] - mean[-1]
    rmse = forecast.predict(SIZES, rmse_wide, range(5), 1.0, [1024.0, 4096.0], rs, family="pow3")
    pow3 = families.predict(SIZES, rmse_wide, range(5), 1.0, [1024.0, 4096.0], rs, family="pow3")
    assert rmse.family == forecast.HALF_LAST and rmse.extrapolated.all()
    assert rmse.error == pytest.approx([mean[-1] - 0.5 * last, mean[-1] - 0.875 * last])
    assert rmse.scale == pytest.approx(pow3.scale) and rmse.dof == pow3.dof
    assert rmse.resampled.shape == pow3.resampled.shape
    # without the last doubling measured, the family stays
    short = forecast.predict(np.array([100.0, 110, 120, 130]), rmse_wide[:4], range(5), 1.0, [260.0], rs, family="pow3")
    assert short.family == "pow3"


# ---------------------------------------------------------------- real curves of the committed atlas


@pytest.fixture(scope="module")
def atlas():
    from mvd import store
    from mvd.report.study import score_points

    points = store.load("results/atlas")
    points = points[points["dataset"].isin(["adult", "letter", "spambase"])]
    return score_points(points)


def _real(atlas, dataset, model):
    ok = atlas[0]
    rows = ok[(ok["dataset"] == dataset) & (ok["model"] == model) & (ok["quality_rate"] == 0)
              & (ok["cleaning"] == "none")]
    wide = rows.pivot_table(index="train_size", columns="seed", values="error")
    return wide.index.to_numpy(float), wide.to_numpy(float)


def test_a_real_steady_curve_gains_what_it_forecast_and_last_does_not(atlas):
    n, wide = _real(atlas, "letter", "forest")             # still learning at 4,096 rows
    seen = n <= 4096
    fc = forecast.forecast(n[seen], wide[seen], [8192.0])
    truth = 100 * (wide[n == 4096].mean() - wide[n == 8192].mean())
    assert fc.gains.regime == "steady"
    assert abs(100 * fc.gain[0] - truth) < 0.25 * truth      # measured +3.2 points; `last` says 0
    lo, hi = fc.interval(0.95)
    assert lo[0] <= wide[n == 8192].mean() <= hi[0]


def test_a_real_flat_curve_is_said_to_have_stopped_and_forecast_near_zero(atlas):
    n, wide = _real(atlas, "adult", "tree")                 # the last doublings within their seed noise
    seen = n <= 4096
    fc = forecast.forecast(n[seen], wide[seen], [8192.0])
    truth = 100 * (wide[n == 4096].mean() - wide[n == 8192].mean())
    assert fc.gains.regime == "flat" and not fc.gains.moving
    assert 0 <= 100 * fc.gain[0] <= 100 * fc.gains.ceiling and abs(100 * fc.gain[0] - truth) < 0.3
    lo, hi = fc.interval(0.8)
    assert lo[0] <= wide[n == 8192].mean() <= hi[0]


def test_a_real_curve_far_along_with_much_error_left_gets_a_proportionate_interval(atlas):
    n, wide = _real(atlas, "adult", "logreg")       # 15 points of error left, the last two doublings gained 0.1, 0.25
    seen = n <= 4096
    fc = forecast.forecast(n[seen], wide[seen], [8192.0])
    assert 100 * fc.gains.level > 14 and 100 * max(abs(fc.gains.last), abs(fc.gains.before)) < 0.3
    lo, hi = fc.interval(0.95)
    assert lo[0] <= wide[n == 8192].mean() <= hi[0]
    assert 100 * (hi[0] - lo[0]) < 7.0              # 9.9 points when the error left counted the same at any size


def test_the_decision_prices_more_labels_by_the_forecast_not_by_the_last_value(atlas):
    # spambase's last measured doubling gained +0.9 points; the backtest's family chooser picked `last`
    # (exactly zero gain) there, so more labels were priced at nothing
    from mvd.report.decision import decide

    ok, metric = atlas
    d = decide(ok, metric=metric, datasets=["spambase"], bootstrap=50)["spambase"]
    labels = next(lv for lv in d.levers if lv.kind == "labels")
    assert labels.extrapolated and labels.family.startswith("gain model (")
    assert labels.gain > 0.3
    assert labels.ci_low < labels.gain < labels.ci_high


def test_an_extrapolated_crossing_gives_way_to_the_measured_order():
    base_n, base = np.array([16.0, 32, 64, 128, 256]), np.array([0.40, 0.35, 0.30, 0.28, 0.27])
    other_n, other = np.array([16.0, 32, 64]), np.array([0.45, 0.40, 0.36])     # worse by 6 points at 64
    # a forecast that the other curve overtakes the base beyond its sizes is replaced by the measured gap
    assert forecast.hold_order(base_n, base, other_n, other, gain=0.01) == pytest.approx(0.30 - 0.36)
    # a forecast that keeps the measured order stands
    assert forecast.hold_order(base_n, base, other_n, other, gain=-0.02) is None
    # no shared size: nothing measured to hold
    assert forecast.hold_order(base_n, base, np.array([20.0, 40]), np.array([0.5, 0.4]), gain=0.01) is None


def test_the_decision_does_not_extrapolate_a_model_overtaking_the_current_one():
    from mvd.report.decision import decide
    from tests.report_helpers import lever_points

    jitter = np.array([-0.004, -0.002, 0.0, 0.002, 0.004])
    base = {n: a + np.roll(jitter, i) for i, (n, a) in
            enumerate({16: 0.60, 32: 0.68, 64: 0.74, 128: 0.80, 256: 0.81, 512: 0.82}.items())}
    # the challenger learns fast but was measured only up to 128 rows, 10 points behind there
    fast = {n: a + np.roll(jitter, i) for i, (n, a) in enumerate({16: 0.30, 32: 0.40, 64: 0.50, 128: 0.70}.items())}
    points = lever_points({("base", 1): base, ("fast", 2): fast})
    d = decide(points, n_now=512, bootstrap=50)["toy"]
    switch = next(lv for lv in d.levers if lv.kind == "model")
    assert switch.extrapolated and switch.family == forecast.HOLD_ORDER
    assert switch.gain == pytest.approx(100 * (0.70 - 0.80))


def _accuracies(acc: dict) -> dict:
    """Per-seed accuracies (5 seeds, a fixed spread) around the given means, by size."""
    jitter = np.array([-0.004, -0.002, 0.0, 0.002, 0.004])
    return {n: a + np.roll(jitter, i) for i, (n, a) in enumerate(acc.items())}


# the current model, a steady rung measured to 512 rows, and a fast one measured only to 128 (still climbing fast)
_BASE = {16: 0.60, 32: 0.65, 64: 0.68, 128: 0.70, 256: 0.71, 512: 0.715}
_STEADY = {16: 0.62, 32: 0.70, 64: 0.76, 128: 0.80, 256: 0.82, 512: 0.83}


def _fast(at_128: float) -> dict:
    return _accuracies({16: 0.40, 32: 0.55, 64: 0.68, 128: at_128})


def _rungs(fast_at_128: float, close: bool = False):
    from tests.report_helpers import lever_points

    curve = _accuracies
    base, steady, fast = curve(_BASE), curve(_STEADY), _fast(fast_at_128)  # fast's forecast at 512 passes steady
    rungs = {("base", 1): base, ("steady", 2): steady, ("fast", 3): fast}
    if close:  # half a point behind the fast rung at 128 rows, then flat: closer there, behind at 512
        rungs[("close", 2)] = curve({16: 0.60, 32: 0.70, 64: 0.78, 128: fast_at_128 - 0.005, 256: 0.808, 512: 0.81})
    return lever_points(rungs)


def test_an_extrapolated_rung_does_not_overtake_one_that_was_ahead_where_both_were_measured():
    from mvd.report.decision import decide

    d = decide(_rungs(fast_at_128=0.78), n_now=512, bootstrap=50)["toy"]
    steady, fast = (d.lever(f"switching base -> {m}") for m in ("steady", "fast"))
    assert not steady.extrapolated and steady.gain == pytest.approx(100 * (0.83 - 0.715))
    # 2 points behind the steady rung at 128 rows, the largest size both measured: it stays 2 points behind
    assert fast.extrapolated and fast.family == forecast.HOLD_ORDER
    assert fast.gain == pytest.approx(steady.gain - 2.0)
    assert fast.ci_high - fast.ci_low > 0 and fast.ci_low < fast.gain < fast.ci_high
    assert d.chosen == steady.name


def test_an_extrapolated_rung_that_was_ahead_keeps_its_forecast():
    from mvd.report.decision import decide

    d = decide(_rungs(fast_at_128=0.81), n_now=512, bootstrap=50)["toy"]
    steady, fast = (d.lever(f"switching base -> {m}") for m in ("steady", "fast"))
    assert fast.extrapolated and fast.family != forecast.HOLD_ORDER
    assert fast.gain > steady.gain
    assert d.chosen == fast.name
    # its ranking is extrapolated, and the report says how often an order like it held that far on real curves
    r = d.ranking
    assert (r["rung"], r["against"], r["measured_to"], r["at"]) == ("fast", "steady", 128, 128)
    assert r["lead"] == pytest.approx(1.0) and r["doublings"] == pytest.approx(2.0)
    assert (r["band"], r["reach"], r["held"], r["pairs"]) == ("0.5-1", 2, 0.642, 3828)
    assert "fast's ranking is extrapolated: measured up to 128 rows, it led steady by 1.00 points at 128 rows" in d.sentence
    assert "held two doublings on in 64% of 3,828 pairs (here 2.0 doublings)" in d.sentence


def test_a_ranking_measured_at_the_operating_point_is_not_called_extrapolated():
    from mvd.report.decision import decide

    d = decide(_rungs(fast_at_128=0.78), n_now=512, bootstrap=50)["toy"]
    assert d.chosen == "switching base -> steady" and d.ranking is None and "ranking" not in d.sentence


def test_how_often_a_measured_order_held_reads_the_nearest_reach_and_the_lead_band():
    assert forecast.order_held(0.25, 1.0) == {"share": 0.594, "pairs": 3281, "band": "0-0.25", "reach": 1}
    assert forecast.order_held(-0.3, 2.2)["band"] == "0.25-0.5" and forecast.order_held(-0.3, 2.2)["reach"] == 2
    assert forecast.order_held(12.0, 0.6) == {"share": 0.982, "pairs": 24857, "band": "more than 10", "reach": 0.5}
    assert forecast.order_held(7.0, 5.0)["reach"] == 3
    # the further and the closer, the less often an order held
    shares = [forecast.order_held(lead, k)["share"] for k in (0.5, 1, 2, 3) for lead in (0.1, 3.0)]
    assert shares[1::2] == sorted(shares[1::2], reverse=True) and all(a < b for a, b in zip(shares[::2], shares[1::2]))


def test_an_extrapolated_ranking_is_weighed_against_the_closest_rung_where_both_were_measured():
    from mvd.report.decision import decide

    d = decide(_rungs(fast_at_128=0.81, close=True), n_now=512, bootstrap=50)["toy"]
    assert d.chosen == "switching base -> fast"
    # steady gains the most after it at 512 rows, but close was nearer at 128 rows: the narrowest lead counts
    assert d.lever("switching base -> steady").gain > d.lever("switching base -> close").gain
    r = d.ranking
    assert (r["against"], r["at"], r["band"]) == ("close", 128, "0.25-0.5") and r["lead"] == pytest.approx(0.5)


def _twins(tuned_at_128: float):
    """The steady rung as "boost", and as its tuned version the fast curve (measured only up to 128 rows)."""
    from tests.report_helpers import lever_points

    return lever_points({("base", 1): _accuracies(_BASE), ("boost", 4): _accuracies(_STEADY),
                         ("boost (tuned)", 4): _fast(tuned_at_128)})


def test_a_model_measured_at_the_operating_point_is_its_lever_not_its_extrapolated_tuned_version():
    from mvd.report.decision import decide

    d = decide(_twins(tuned_at_128=0.81), n_now=512, bootstrap=50)["toy"]
    boost = d.lever("switching base -> boost")
    assert boost in d.levers and not boost.extrapolated and boost.tuning_mattered is None
    # the tuned version leads where both were measured and its forecast passes the default: it is the alternative
    assert boost.alternative.name == "switching base -> boost (tuned)" and boost.alternative.extrapolated
    assert boost.alternative.gain > boost.gain and d.chosen == boost.name and d.ranking is None


def test_a_tuned_version_behind_its_default_does_not_overtake_it_by_extrapolation():
    from mvd.report.decision import decide

    d = decide(_twins(tuned_at_128=0.79), n_now=512, bootstrap=50)["toy"]
    boost = d.lever("switching base -> boost")
    assert boost.alternative.family == forecast.HOLD_ORDER
    assert boost.alternative.gain == pytest.approx(boost.gain - 1.0)
