"""The levers at an operating point (mvd.levers): one list for the decision, the business routes and the sweeper."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mvd.levers import (ANSWER, KINDS, Condition, CurveKey, LeverKey, Price, baseline_model, levers_at,
                        operating_condition, tie_tolerance, tuned_name)


@dataclass(frozen=True)
class C:
    key: CurveKey
    sophistication: int


def curves(models: dict, conditions) -> list[C]:
    return [C(CurveKey.at("d", m, q), rank) for m, rank in models.items() for q in conditions]


NOISY, CLEAN = ("label_noise", 0.4, "none"), ("clean", 0.0, "none")
CLEANED, ORACLE = ("label_noise", 0.4, "confident_learning"), ("label_noise", 0.4, "oracle")


def test_records_are_typed_and_still_compare_as_tuples():
    key = CurveKey.of(("d", "gbm (tuned)", "label_noise", 0.4, "none"))
    assert key.condition == Condition("label_noise", 0.4, "none") == NOISY
    assert key.tuned and key.plain == "gbm" and key.condition.label == "label_noise 0.4"
    assert {key: 1}[("d", "gbm (tuned)", "label_noise", 0.4, "none")] == 1
    assert tuned_name("gbm", True) == "gbm (tuned)" == tuned_name("gbm (tuned)", True) and tuned_name("gbm", False) == "gbm"
    assert set(ANSWER) == set(KINDS)


def test_the_levers_of_a_noisy_operating_point_in_their_order():
    grid = curves({"dummy": 0, "logreg": 1, "logreg (tuned)": 1, "gbm": 3, "gbm (tuned)": 3},
                  (NOISY, CLEAN, CLEANED, ORACLE))
    q = operating_condition(c.key.condition for c in grid)
    model = baseline_model(grid, q)
    assert q == NOISY and model == "logreg"
    specs = levers_at(grid, "d", q, model, 100, step=50)
    assert [(s.kind, s.curve.model, s.curve.condition.cleaning) for s in specs] == [
        ("labels", "logreg", "none"), ("step", "logreg", "none"), ("tune", "logreg (tuned)", "none"),
        ("model", "dummy", "none"), ("model", "gbm", "none"),
        ("cleaning", "logreg", "confident_learning"), ("cleaning", "logreg", "oracle"), ("relabel", "logreg", "none"),
        ("combined", "dummy", "confident_learning"), ("combined", "gbm", "confident_learning"),
        ("combined", "dummy", "oracle"), ("combined", "gbm", "oracle"),
        ("combined", "dummy", "none"), ("combined", "gbm", "none")]
    labels, step, tune, _, gbm = specs[:5]
    # a model and its tuned version are one lever: the tuned curve is its twin
    assert gbm.twin == CurveKey.at("d", "gbm (tuned)", NOISY) and gbm.key == LeverKey("model", "gbm", NOISY)
    assert labels.n == 200 and labels.price == Price(new_labels=100) and step.n == 150
    assert [s.name() for s in specs[:3]] == ["the next 100 labels", "+50 labels", "tuning logreg"]
    oracle, relabel = specs[6], specs[7]
    assert oracle.price == Price(reviewed_rows=100) and oracle.name() == "cleaning: oracle (every label reviewed)"
    assert specs[5].price == Price(cleaned_rows=100, method="confident_learning")
    assert relabel.curve.condition == CLEAN and relabel.name() == "relabelling every row"
    assert specs[-1].name("gbm (tuned)") == "relabelling every row + switching logreg -> gbm (tuned)"
    assert {s.answer for s in specs} == {"more data", "a better model", "cleaner data",
                                         "cleaner data and a better model"}


def test_under_a_shift_the_clean_lever_is_target_data_and_mixed_pools_are_none():
    shifted, target, mixed = ("label_shift", 0.4, "none"), ("label_shift", 0.0, "none"), ("label_shift_mixed", 0.5, "none")
    grid = curves({"logreg": 1, "gbm": 3}, (shifted, target, mixed))
    assert operating_condition(c.key.condition for c in grid) == shifted
    specs = levers_at(grid, "d", shifted, "logreg", 64)
    assert [(s.kind, s.curve.model) for s in specs] == [("labels", "logreg"), ("model", "gbm"), ("target", "logreg"),
                                                        ("combined", "gbm")]
    assert specs[2].answer == "target data" and specs[2].name() == "64 rows from the target distribution instead"
    assert not any(s.curve.condition.mixed for s in specs)


@pytest.mark.parametrize("n_test, scale, tol", [(1000, 100.0, 0.1), (38, 100.0, 100 / 38), (None, 100.0, 1e-7),
                                                (500, 1.0, 1e-9)])
def test_a_tie_is_one_test_example_of_a_rate_else_float_noise(n_test, scale, tol):
    assert tie_tolerance(n_test, scale) == pytest.approx(tol)
