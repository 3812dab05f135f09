"""Report behaviour that a silent regression would break, checked through ``build`` and summary.json.

Each test here was written against a deliberately broken report (the mutant
named in its docstring) and fails on it: intervals in the right order, compute
priced in every route, an interval around every cell's mean.  They read only
the public entry points (``mvd.report.build`` on a synthetic study and the
summary it writes), so they hold whatever the report's internals look like.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mvd.report import build
from tests.synthetic_study import write_study

SIZES = (16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512)
BASE, STRONG = (1, 2.0, 0.5, 0.05), (3, 1.0, 0.5, 0.05)

# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("report_guards")


def _summary(study) -> dict:
    return json.loads((study / "summary.json").read_text())


def _points(study) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted((study / "points").glob("*.parquet"))],
                     ignore_index=True)


# base needs more rows than it has for the target (inside the priced range); labels cost 2
# and an hour of compute 7200, i.e. 2 per second of training
TARGET = 1 - (2.0 * 700**-0.5 + 0.05)
COSTS = {"cost_per_label": 2.0, "cost_per_compute_hour": 7200.0}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Two models, five seeds with seed noise (every interval has a width), priced labels and compute."""
    study = write_study(tmp_path_factory.mktemp("guards") / "s", models={"base": BASE, "strong": STRONG},
                        sizes=SIZES, seeds=(0, 1, 2, 3, 4), noise=0.01, business=COSTS)
    build(study, bootstrap=200, target=TARGET)
    return study


def test_multiplier_intervals_run_from_low_to_high_around_the_estimate(noisy):
    """Swapping a multiplier's bounds (ci_low <-> ci_high) fails here."""
    rows = [r for r in _summary(noisy)["datasets"]["synth"]["equivalence"]
            if r["relation"] == "=" and r["ci_low"] is not None and r["ci_high"] is not None]
    assert len(rows) >= 5
    for r in rows:
        assert r["ci_low"] < r["ci_high"], r
        assert r["ci_low"] <= r["multiplier"] <= r["ci_high"], r
        lo, hi = r["display"].split("[")[1].rstrip("]").split(", ")
        assert float(lo) < float(hi)  # what a reader sees is ordered too


def test_attribution_and_value_intervals_run_from_low_to_high(noisy):
    """Every other interval of the summary is ordered and holds its estimate."""
    ds = _summary(noisy)["datasets"]["synth"]
    attr = ds["attribution"]
    assert attr["gain_ci_low"] < attr["gain"] < attr["gain_ci_high"]
    for s in attr["shares"].values():
        assert s["value_ci_low"] <= s["value"] <= s["value_ci_high"]
        assert s["ci_low"] <= s["share"] <= s["ci_high"]
    values = ds["business"]["value_per_1000"]
    assert values and all(v["ci_low"] < v["value"] < v["ci_high"] for v in values)


def test_every_cell_with_seeds_gets_the_t_interval_of_its_seeds(noisy):
    """Removing the per-cell intervals (or leaving them NaN, or a percentile bootstrap's) fails here."""
    curves = _summary(noisy)["datasets"]["synth"]["curves"]
    points = _points(noisy)
    assert len(curves) == 2 * len(SIZES)
    for cell in curves:
        acc = points[(points["model"] == cell["model"]) & (points["train_size"] == cell["train_size"])]
        acc = acc["test_accuracy"].to_numpy()
        assert cell["n_seeds"] == len(acc) == 5
        assert cell["score"] == pytest.approx(acc.mean(), rel=1e-5)
        se = acc.std(ddof=1) / np.sqrt(len(acc))
        assert cell["se"] == pytest.approx(se, rel=1e-4)
        # Student's t over the 5 seeds (held inside the metric's range [0, 1])
        low, high = stats.t.interval(0.95, len(acc) - 1, loc=acc.mean(), scale=se)
        assert cell["ci_low"] == pytest.approx(max(low, 0.0), rel=1e-5), cell
        assert cell["ci_high"] == pytest.approx(min(high, 1.0), rel=1e-5), cell


@pytest.mark.slow
def test_a_single_seed_cell_has_no_interval(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, seeds=(0,),
                        noise=0.01)
    build(study, bootstrap=50)
    curves = _summary(study)["datasets"]["synth"]["curves"]
    assert curves and all(c["n_seeds"] == 1 and c["ci_low"] is None and c["ci_high"] is None for c in curves)


def test_routes_price_compute_hours_at_the_configured_rate(noisy):
    """Pricing compute at zero (or dropping it from the total) fails here.

    The synthetic fit time is 1e-5 x n x (1 + sophistication) seconds, a
    straight log-log line, so the time extrapolated to a route's size is known.
    """
    routes = _summary(noisy)["datasets"]["synth"]["business"]["routes"]
    priced = [r for r in routes if r["relation"] == "="]
    assert {r["model"] for r in priced} == {"base", "strong"}
    level = {"base": BASE[0], "strong": STRONG[0]}
    for r in priced:
        seconds = 1e-5 * r["n_needed"] * (1 + level[r["model"]])
        assert r["compute_hours"] == pytest.approx(seconds / 3600, rel=2e-2)
        assert r["compute_cost"] == pytest.approx(7200 * r["compute_hours"], rel=1e-5) and r["compute_cost"] > 0
        assert r["label_cost"] == pytest.approx(2.0 * r["new_labels"])
        assert r["total_cost"] == pytest.approx(r["label_cost"] + r["compute_cost"], rel=1e-5)
    more = next(r for r in priced if r["route"] == "more labels" and r["model"] == "base")
    assert more["new_labels"] == more["n_needed"] - max(SIZES) > 0  # the labels beyond those already held
    cheapest = min(priced, key=lambda r: r["total_cost"])
    assert cheapest["cheapest"] and sum(r["cheapest"] for r in routes) == 1


# --- money per 1,000 decisions (mvd.report.business.point_values) ---------------------------------
PRICES = {"value_correct": 2.0, "cost_error": 3.0, "cost_false_positive": None, "cost_false_negative": None,
          "cost_matrix": None, "cost_per_unit_error": 2.5}


def _values(frame, **business):
    from mvd.report.business import point_values

    return point_values(frame, {**PRICES, **business})


def test_regression_points_cost_their_absolute_error_and_keep_their_index():
    frame = pd.DataFrame({"task": ["regression"] * 2, "test_mae": [0.4, 2.0]}, index=[10, 11])
    values, notes = _values(frame)
    assert list(values.index) == [10, 11] and notes == []
    assert values.tolist() == pytest.approx([-1000 * 2.5 * 0.4, -1000 * 2.5 * 2.0])


def test_classification_points_earn_per_correct_decision_and_pay_per_error():
    frame = pd.DataFrame({"task": ["classification"] * 2, "test_accuracy": [0.9, 0.5]}, index=[3, 7])
    values, notes = _values(frame)
    assert list(values.index) == [3, 7] and notes == []
    assert values.tolist() == pytest.approx([1000 * (0.9 * 2 - 0.1 * 3), 1000 * (0.5 * 2 - 0.5 * 3)])


def test_a_cost_matrix_prices_each_confusion_cell():
    counts = [[40, 5, 5], [0, 30, 0], [10, 0, 10]]
    matrix = [[0, 1, 2], [4, 0, 8], [16, 32, 0]]
    frame = pd.DataFrame({"task": ["classification"], "test_accuracy": [0.8],
                          "confusion": [json.dumps(counts)]})
    values, notes = _values(frame, cost_matrix=matrix)
    share = np.asarray(counts) / 100
    assert values.tolist() == pytest.approx([1000 * (np.trace(share) * 2 - (share * np.asarray(matrix)).sum())])
    assert notes == []


def test_a_cost_matrix_of_the_wrong_size_is_one_sentence():
    from mvd.errors import ConfigError

    frame = pd.DataFrame({"task": ["classification"], "test_accuracy": [0.8],
                          "confusion": [json.dumps([[4, 1, 0], [0, 3, 1], [1, 0, 5]])]})
    with pytest.raises(ConfigError) as refused:
        _values(frame, cost_matrix=[[0, 1], [1, 0]])
    assert str(refused.value) == ("business.cost_matrix has shape 2x2 but the task has 3 classes; "
                                  "give a 3x3 matrix [true][predicted].")


@pytest.mark.parametrize("fp, fn, cost_01, cost_10", [(5.0, None, 5.0, 3.0), (None, 7.0, 3.0, 7.0)])
def test_one_binary_error_priced_apart_leaves_the_other_at_cost_error(fp, fn, cost_01, cost_10):
    counts = [[50, 10], [20, 20]]  # 10 false positives, 20 false negatives of 100
    frame = pd.DataFrame({"task": ["classification"], "test_accuracy": [0.7], "confusion": [json.dumps(counts)]})
    values, _ = _values(frame, cost_false_positive=fp, cost_false_negative=fn)
    assert values.tolist() == pytest.approx([1000 * (0.7 * 2 - 0.1 * cost_01 - 0.2 * cost_10)])


def test_points_without_confusion_counts_fall_back_to_cost_error_and_say_how_many():
    frame = pd.DataFrame({"task": ["classification"] * 3, "test_accuracy": [0.7, 0.9, 0.6],
                          "confusion": [json.dumps([[50, 10], [20, 20]]), None, None]})
    values, notes = _values(frame, cost_false_negative=7.0)
    assert values.tolist()[1:] == pytest.approx([1000 * (0.9 * 2 - 0.1 * 3), 1000 * (0.6 * 2 - 0.4 * 3)])
    assert len(notes) == 1 and notes[0].startswith("2 classification point(s) lack test confusion counts")
