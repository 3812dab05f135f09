"""The shift section of the report: known answers on synthetic curves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mvd.report import shift as section
from mvd.report.aggregate import SeedResamples

SEEDS = [0, 1, 2, 3, 4]
SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]


def _err(n, a=0.5, b=0.5, c=0.1):
    return a * np.power(n, -b) + c


@pytest.mark.parametrize("ratio", [1.5, 3.0, 6.0])
def test_mixed_pool_multiplier_recovers_a_known_ratio(ratio):
    # seed noise of 1e-4 on errors near 0.11 (sd of each seed's error)
    rng = np.random.default_rng(0)
    m, added = 512, np.array([128, 256, 512])
    ref = _err(np.array(SIZES, dtype=float))[:, None] + rng.normal(0, 1e-4, (len(SIZES), len(SEEDS)))
    mix = _err(m + ratio * added)[:, None] + rng.normal(0, 1e-4, (len(added), len(SEEDS)))
    rs = SeedResamples(SEEDS, n=500, seed=0)
    rows = section.source_multiplier(SIZES, ref, m, added, mix, SEEDS, rs)
    for row in rows:
        assert row["relation"] == "="
        assert row["multiplier"] == pytest.approx(ratio, rel=0.10)
    assert rows[-1]["ci_low"] <= ratio <= rows[-1]["ci_high"]


def test_multiplier_below_the_floor_is_never():
    rs = SeedResamples(SEEDS, n=200, seed=0)
    ref = np.tile(_err(np.array(SIZES, dtype=float))[:, None], (1, 5))
    mix = np.full((1, 5), 0.05)  # below the reference's floor c = 0.1
    row = section.source_multiplier(SIZES, ref, 256, [64], mix, SEEDS, rs)[0]
    assert row["relation"] == "never" and row["multiplier"] is None
    assert section.describe_multiplier(row) == "more than any amount of"


def test_flip_rate_interpolates_the_crossing():
    rates = [0.0, 0.1, 0.2, 0.3]
    gains = np.array([[0.04, 0.02, -0.02, -0.04], [0.04, 0.03, 0.02, 0.01]])
    np.testing.assert_allclose(section.flip_rate(rates, gains, 1.0), [0.15, np.inf])
    np.testing.assert_allclose(section.flip_rate(rates, -gains, -1.0), [0.15, np.inf])


def _points(rng):
    """A synthetic study: logreg and gbm under covariate shift, mixed pools, and test-label noise."""
    rows = []
    for model, scale in (("logreg", 1.0), ("gbm", 0.8)):
        for rate in (0.0, 0.5):
            for seed in SEEDS:
                for n in SIZES:
                    e = scale * _err(n, c=0.1 + 0.1 * rate) + rng.normal(0, 5e-4)
                    noisy = {f"{r:g}": {"accuracy": 1 - e - (0.3 * r if model == "gbm" else 0.1 * r)}
                             for r in (0.05, 0.1, 0.2, 0.4)}
                    rows.append(dict(dataset="toy", model=model, quality="covariate_shift", quality_rate=rate,
                                     cleaning="none", seed=seed, train_size=n, test_accuracy=1 - e,
                                     status="ok", mix_base=0, mix_add=None,
                                     noisy_test_scores=json.dumps(noisy) if rate == 0 else None))
            if rate == 0.5 and model == "logreg":
                for seed in SEEDS:
                    for k in (64, 128, 256, 512):
                        # a target row is worth 4 shifted ones, and the mix reaches a lower floor
                        e = scale * _err(512 + 4 * k, c=0.15) + rng.normal(0, 5e-4)
                        rows.append(dict(dataset="toy", model=model, quality="covariate_shift_mixed",
                                         quality_rate=rate, cleaning="none", seed=seed, train_size=512 + k,
                                         test_accuracy=1 - e,
                                         status="ok", mix_base=512, mix_add="target", noisy_test_scores=None))
    return pd.DataFrame(rows)


def test_section_answers_relabel_collect_or_upgrade():
    points = _points(np.random.default_rng(1))
    out = section.shift_section(points, {"toy": "accuracy"}, n_resamples=200)
    toy = out["toy"]
    assert [r["multiplier"] for r in toy["mixed"]] == pytest.approx([4.0] * 4, rel=0.1)
    decision = toy["decisions"][0]
    assert decision["base"] == 512 and decision["added"] == 512 and decision["upgrade_to"] == "gbm"
    # gbm's curve is 0.8x logreg's: its gain at 512 is 0.2 * logreg's error there
    assert decision["upgrade"]["gain"] == pytest.approx(0.2 * _err(512, c=0.15), rel=0.1)
    assert decision["relabel"]["gain"] > decision["collect"]["gain"] > 0
    assert decision["choice"] == "upgrade"
    assert toy["headline"].startswith("toy (covariate_shift at rate 0.5, logreg on 512 shifted labels): upgrade to gbm")
    assert "one target label is worth 3." in toy["headline"] or "one target label is worth 4." in toy["headline"]
    cost = [c for c in toy["conditions"] if c["model"] == "logreg"][0]
    assert cost["loss"] == pytest.approx(0.05, abs=0.005)  # the floor moved by 0.1 * 0.5
    noise = toy["test_noise"]
    # gbm leads by 0.2 * err(4096) on true labels and loses 0.2 * rate more under noise
    lead = 0.2 * _err(4096)
    assert noise["best"] == "gbm" and noise["flip_rate"] == pytest.approx(lead / 0.2, rel=0.15)
    md = section.render_markdown(out)
    assert "relabel, collect, or upgrade" in md and "flips at" in md


def test_section_is_deterministic_and_empty_without_shift():
    points = _points(np.random.default_rng(2))
    a = section.shift_section(points, {"toy": "accuracy"}, n_resamples=100)
    b = section.shift_section(points, {"toy": "accuracy"}, n_resamples=100)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    clean = points.assign(quality="clean", noisy_test_scores=None)[points["mix_base"] == 0]
    assert section.shift_section(clean, {"toy": "accuracy"}, n_resamples=50) == {}


def test_section_without_mixed_pools_or_their_columns():
    points = _points(np.random.default_rng(3))
    plain = points[points["mix_base"] == 0].drop(columns=["mix_base", "mix_add"])
    toy = section.shift_section(plain, {"toy": "accuracy"}, n_resamples=50)["toy"]
    assert toy["mixed"] == [] and toy["decisions"] == [] and toy["conditions"]
    assert toy["headline"].startswith("toy, covariate_shift at rate 0.5 costs")


def test_headline_speaks_for_the_users_model():
    """The report's baseline is the user's model: the headline describes its loss, not the worst model's."""
    points = _points(np.random.default_rng(3))
    plain = points[points["mix_base"] == 0].drop(columns=["mix_base", "mix_add"])
    worst = section.shift_section(plain, {"toy": "accuracy"}, n_resamples=50)["toy"]["headline"]
    mine = section.shift_section(plain, {"toy": "accuracy"}, n_resamples=50, baseline="gbm")["toy"]["headline"]
    assert "costs logreg" in worst and "costs gbm" in mine
    # a user's model with no mixed pool measured: the decision of the model that has one
    mixed = section.shift_section(points, {"toy": "accuracy"}, n_resamples=50, baseline="gbm")["toy"]["headline"]
    assert mixed.startswith("toy (covariate_shift at rate 0.5, logreg on 512 shifted labels)")


def test_the_report_knows_every_shift_kind_of_the_engine():
    from mvd.report.study import SHIFT_KINDS
    from mvd.shift import KINDS

    assert SHIFT_KINDS == KINDS


def _dipped_reference():
    """A reference curve with one low point (256 rows: 0.095) below the floor its fit finds (about 0.1)."""
    ref = np.tile(_err(np.array(SIZES, dtype=float))[:, None], (1, len(SEEDS)))
    ref[SIZES.index(256)] = 0.095
    return ref


def test_a_fitted_floor_below_a_measured_point_is_not_never():
    """The mixed pool (0.098) lies below the fit's floor but above the reference's measured 0.095 at 256:
    its n* is read off the measured points, between 128 and 256."""
    rs = SeedResamples(SEEDS, n=200, seed=0)
    row = section.source_multiplier(SIZES, _dipped_reference(), 128, [64], np.full((1, 5), 0.098), SEEDS, rs)[0]
    assert row["relation"] == "=" and row["basis"] == "measured"
    assert 128 < row["n_needed"] <= 256 and row["multiplier"] == pytest.approx((row["n_needed"] - 128) / 64, rel=1e-4)
    assert section.describe_multiplier(row) != "more than any amount of"


def test_a_floor_that_contradicts_a_point_gives_a_bound_not_never():
    """Below every measured reference error and below the fitted floor, but the floor lies above a measured
    point: the fit is not believed, the worth is a bound at the reference's largest size."""
    rs = SeedResamples(SEEDS, n=200, seed=0)
    row = section.source_multiplier(SIZES, _dipped_reference(), 128, [64], np.full((1, 5), 0.09), SEEDS, rs)[0]
    assert row["relation"] == ">=" and row["basis"] == "bound"
    assert row["multiplier"] == pytest.approx((4096 - 128) / 64) and row["ci_low"] is None
    assert section.describe_multiplier(row) == f"≥ {row['multiplier']:.3g}×"


def test_a_mixed_pool_no_better_than_its_base_has_no_worth_and_the_headline_says_why():
    rs = SeedResamples(SEEDS, n=200, seed=0)
    ref = np.tile(_err(np.array(SIZES, dtype=float))[:, None], (1, len(SEEDS)))
    worse = _err(512) + 0.002  # 512 shifted rows plus 64 target rows: worse than the 512 alone
    row = section.source_multiplier(SIZES, ref, 512, [64], np.full((1, 5), worse), SEEDS, rs)[0]
    assert row["relation"] == "no_gain" and row["multiplier"] is None and row["ci_low"] is None
    assert row["error_mixed"] == pytest.approx(worse) and row["error_base"] == pytest.approx(_err(512))
    assert section.describe_multiplier(row) == "none: no better than the base rows alone"
    # in a study: the headline explains instead of printing a negative worth
    points = _points(np.random.default_rng(1))
    mixed = points["quality"] == "covariate_shift_mixed"
    points.loc[mixed, "test_accuracy"] = 1 - (_err(512, c=0.1 + 0.1 * 0.5) + 0.01)  # every mix hurts
    toy = section.shift_section(points, {"toy": "accuracy"}, n_resamples=50)["toy"]
    assert {r["relation"] for r in toy["mixed"]} == {"no_gain"}
    assert "did not beat the 512 shifted ones alone" in toy["headline"]
    assert "no worth per label is given" in toy["headline"] and "one target label is worth" not in toy["headline"]
