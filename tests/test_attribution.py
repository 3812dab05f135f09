"""The Shapley split of a gain into mind, quantity and quality, on curves whose effects add up exactly.

error(model, n, rate) = 2 n^-0.5 + 0.05 - mind[model] + 0.3 rate: with no interaction every player's
Shapley value is its own main effect, whatever the order in which the players join.  The quality
player is label noise at 0.2 whenever the study has it; the range starts where every rung can fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mvd.report.attribution import attribution, shapley
from tests.report_helpers import curves_of

SIZES = [16, 32, 64, 128, 256]
SEEDS = [0, 1, 2, 3]
MIND = {"dummy": -0.2, "linear": 0.0, "forest": 0.04, "boost": 0.03}
LADDER = {"dummy": 0, "linear": 1, "forest": 3, "boost": 4}


def _err(model, n, rate):
    return 2.0 * n**-0.5 + 0.05 - MIND[model] + 0.3 * rate


def _points(rates=(0.0, 0.2, 0.4), cleaned=True, noise=1e-4):
    rng = np.random.default_rng(0)
    rows = []
    conditions = [("label_noise", r, "none") for r in rates]
    if cleaned:  # a cleaned curve is neither the reference nor the clean corner
        conditions.append(("label_noise", max(rates), "confident_learning"))
    for model in MIND:
        for quality, rate, cleaning in conditions:
            effective = rate / 2 if cleaning != "none" else rate
            for seed in SEEDS:
                for n in SIZES:
                    e = _err(model, n, effective) + rng.normal(0, noise)
                    rows.append(dict(dataset="toy", model=model, quality=quality, quality_rate=rate,
                                     cleaning=cleaning, train_size=n, seed=seed, error=e, score=1 - e))
    return pd.DataFrame(rows)


def test_each_players_value_is_its_main_effect_and_the_values_add_up():
    curves, rs = curves_of(_points(), LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["players"] == ["mind", "quantity", "quality"]
    assert out["baseline"] == "linear" and out["best_model"] == "forest"
    assert (out["small_size"], out["large_size"]) == (16, 256)
    # label noise at 0.2, not the noisiest (0.4): one kind at one rate on every dataset
    assert out["reference_quality"] == {"quality": "label_noise", "quality_rate": 0.2, "cleaning": "none"}
    assert out["quality_rule"].startswith("label_noise at rate 0.2, the same kind and rate on every dataset")
    expected = {"mind": 0.04, "quantity": 2.0 * (16**-0.5 - 256**-0.5), "quality": 0.3 * 0.2}
    total = sum(expected.values())
    assert out["gain"] == pytest.approx(total, abs=1e-3)
    assert out["error_from"] == pytest.approx(_err("linear", 16, 0.2), abs=1e-3)
    assert out["error_to"] == pytest.approx(_err("forest", 256, 0.0), abs=1e-3)
    assert out["score_from"] == pytest.approx(1 - out["error_from"], abs=1e-9)
    assert out["score_to"] == pytest.approx(1 - out["error_to"], abs=1e-9)
    assert out["gain_ci_low"] <= out["gain"] <= out["gain_ci_high"] and out["gain_positive"] == 1.0
    for p, value in expected.items():
        share = out["shares"][p]
        assert share["value"] == pytest.approx(value, abs=1e-3)
        assert share["share"] == pytest.approx(value / total, abs=0.01)
        assert share["value_ci_low"] <= share["value"] <= share["value_ci_high"]
        assert share["ci_low"] <= share["share"] <= share["ci_high"]
    assert sum(s["value"] for s in out["shares"].values()) == pytest.approx(out["gain"], abs=1e-12)
    assert out["metric"] == "accuracy" and "sizes" not in out


def test_the_split_from_every_start_shrinks_quantitys_share_as_the_start_grows():
    curves, rs = curves_of(_points(), LADDER)
    by_start = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]["by_start"]
    assert [row["start"] for row in by_start] == SIZES[:-1]
    quantity = [row["shares"]["quantity"] for row in by_start]
    assert quantity == sorted(quantity, reverse=True) and quantity[-1] < quantity[0]
    for row, start in zip(by_start, SIZES):
        gain = 0.04 + 2.0 * (start**-0.5 - 256**-0.5) + 0.06
        assert row["gain"] == pytest.approx(gain, abs=1e-3)
        assert sum(row["shares"].values()) == pytest.approx(1.0, abs=1e-9)


def test_clean_studies_have_two_players_and_a_missing_baseline_has_no_split():
    curves, rs = curves_of(_points(rates=(0.0,), cleaned=False), LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["players"] == ["mind", "quantity"] and "quality" not in out["shares"]
    assert out["reference_quality"] == {"quality": "label_noise", "quality_rate": 0.0, "cleaning": "none"}
    assert out["gain"] == pytest.approx(0.04 + 2.0 * (16**-0.5 - 256**-0.5), abs=1e-3)
    assert attribution(curves, "absent", rs, {"toy": "accuracy"}) == {}


def test_a_baseline_without_the_noisy_condition_falls_back_to_clean_data():
    points = _points(cleaned=False)
    points = points[~((points["model"] == "linear") & (points["quality_rate"] == 0.2))]
    curves, rs = curves_of(points, LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["players"] == ["mind", "quantity"]
    assert out["reference_quality"]["quality_rate"] == 0.0


def test_shapley_of_an_interaction_splits_it_evenly():
    value = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
    phi = shapley(lambda s: value[frozenset(s)], "ab")
    assert phi == {"a": pytest.approx(2.0), "b": pytest.approx(3.0)}


def test_mixed_pool_curves_are_no_corner():
    """A shift study's mixed pools ('<kind>_mixed') count two sources in their sizes: never a corner."""
    points = _points(cleaned=False)
    mixed = points.assign(quality="label_noise_mixed", quality_rate=points["quality_rate"] + 0.5)
    mixed_clean = points[points["quality_rate"] == 0].assign(quality="a_mixed")  # sorts before the clean one
    curves, rs = curves_of(pd.concat([points, mixed, mixed_clean], ignore_index=True), LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["reference_quality"] == {"quality": "label_noise", "quality_rate": 0.2, "cleaning": "none"}
    assert out["shares"]["quality"]["value"] == pytest.approx(0.3 * 0.2, abs=1e-3)


def test_without_label_noise_at_02_the_noisiest_condition_is_used_and_the_rule_says_so():
    points = _points(cleaned=False).replace({"quality": {"label_noise": "feature_noise"}})
    curves, rs = curves_of(points, LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["reference_quality"] == {"quality": "feature_noise", "quality_rate": 0.4, "cleaning": "none"}
    assert out["quality_rule"].startswith("the noisiest condition (feature_noise at rate 0.4)")
    assert "compares with no other dataset's" in out["quality_rule"]


def _constant_below(points, model, size):
    """``model`` predicts as the dummy at sizes <= ``size``: the same error on every seed and condition."""
    points = points.copy()
    key = ["quality", "quality_rate", "cleaning", "train_size", "seed"]
    dummy = points[points["model"] == "dummy"].set_index(key)["error"]
    rows = (points["model"] == model) & (points["train_size"] <= size)
    same = dummy.loc[list(points.loc[rows, key].itertuples(index=False, name=None))].to_numpy()
    points.loc[rows, "error"] = same
    points.loc[rows, "score"] = 1 - same
    return points


def test_the_range_starts_where_every_rung_can_fit_and_says_so():
    # boost (rung 4) predicts as the dummy up to 32 rows: a split from 16 would price its failure to fit
    points = _constant_below(_points(cleaned=False), "boost", 32)
    curves, rs = curves_of(points, LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["small_size"] == 64 and out["large_size"] == 256
    assert out["cannot_fit"] == [{"model": "boost", "quality": q, "quality_rate": r, "cleaning": "none",
                                  "sizes": [16, 32]} for q, r in (("label_noise", 0.0), ("label_noise", 0.2))]
    assert out["start_rule"].startswith("from n = 64, the smallest shared size above every size where a rung "
                                        "predicts as the constant (dummy) does: boost on clean data up to n = 32")
    assert [row["start"] for row in out["by_start"]] == [64, 128]
    expected = {"mind": 0.04, "quantity": 2.0 * (64**-0.5 - 256**-0.5), "quality": 0.3 * 0.2}
    for p, value in expected.items():
        assert out["shares"][p]["value"] == pytest.approx(value, abs=1e-3)
    # the same study without the constant stretch starts at the smallest size and says why
    clean = attribution(curves_of(_points(cleaned=False), LADDER)[0], "linear", rs, {"toy": "accuracy"})["toy"]
    assert clean["small_size"] == 16 and clean["cannot_fit"] == []
    assert clean["start_rule"] == "from n = 16, the smallest shared size: no rung predicts as the constant (dummy) does at any size"


def test_a_start_with_no_dummy_to_compare_says_it_cannot_tell():
    points = _points(cleaned=False)
    curves, rs = curves_of(points[points["model"] != "dummy"], LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert out["small_size"] == 16 and out["start_rule"].endswith("(no dummy was run to tell)")


def test_a_rung_run_on_clean_data_only_does_not_move_the_start():
    # boost runs on clean data only (a rung added later, as the modern ones): it is no player, so its failure to fit
    # below 64 rows does not shrink the range the players are split over
    points = _constant_below(_points(cleaned=False), "boost", 32)
    points = points[(points["model"] != "boost") | (points["quality_rate"] == 0)]
    curves, rs = curves_of(points, LADDER)
    out = attribution(curves, "linear", rs, {"toy": "accuracy"})["toy"]
    assert "boost" not in out["compared"] and out["best_model"] == "forest"
    assert out["small_size"] == 16 and out["cannot_fit"] == []
