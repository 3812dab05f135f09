"""Objectives chosen at report time: the decision remade from stored points, a flip weight with a known answer."""

from __future__ import annotations

import glob
import re

import numpy as np
import pandas as pd
import pytest

from mvd import calibration, costs
from mvd.errors import ConfigError
from mvd.report import objectives
from mvd.report.decision import decide
from mvd.report.study import load_points, score_points
from tests.synthetic_study import write_study

# model B is 2 points more accurate than A at every size and 50x slower to predict
A, B = (1, 0.0, 0.5, 0.20), (3, 0.0, 0.5, 0.18)
MS = {"a": 1.0, "b": 50.0}


@pytest.fixture
def slow_but_better(tmp_path):
    path = write_study(tmp_path / "s", models={"a": A, "b": B}, sizes=(64, 128, 256, 512), seeds=(0, 1, 2, 3, 4),
                       noise=0.002)
    rng = np.random.default_rng(0)
    for f in glob.glob(str(path / "points" / "*.parquet")):
        frame = pd.read_parquet(f)
        model = frame["model"].iloc[0]
        frame["predict_ms_per_1000"] = MS[model] * (1 + 0.01 * rng.standard_normal(len(frame)))
        frame["model_bytes"] = 1000 if model == "a" else 10**6
        frame.to_parquet(f)
    return path


def _scored(path, text):
    ok, _ = score_points(load_points(path))
    return objectives.apply(ok, objectives.parse(text, objectives.allowed(ok)))


def test_a_latency_weight_turns_switch_into_keep_and_the_flip_weight_is_the_analytic_one(slow_but_better):
    points = load_points(slow_but_better)
    by_accuracy = decide(points, n_now=256)["synth"]
    assert by_accuracy.chosen == "switching a -> b"
    assert by_accuracy.lever("switching a -> b").gain == pytest.approx(2.0, abs=0.3)

    scored, metric, notes = _scored(slow_but_better, "accuracy - 0.1*predict_ms_per_1000")
    weighted = decide(scored, n_now=256, metric=metric)["synth"]
    assert notes == [] and weighted.unit == "points"
    assert weighted.lever("switching a -> b").gain == pytest.approx(2.0 - 0.1 * 49, abs=0.4)
    assert weighted.lever(weighted.chosen).kind != "model"        # keep a: more labels (~0) beat the switch

    scored_ms, metric_ms, _ = _scored(slow_but_better, "predict_ms_per_1000")
    by_cost = decide(scored_ms, n_now=256, metric=metric_ms)["synth"]
    assert by_cost.lever("switching a -> b").gain == pytest.approx(-49.0, rel=0.05)   # 49 ms more per 1,000 rows
    flips = objectives.flip_weights(by_accuracy, by_cost)
    switch = [f for f in flips if f["before"] == "switching a -> b"]
    assert len(switch) == 1
    analytic = 2.0 / 49.0
    assert switch[0]["weight"] == pytest.approx(analytic, rel=0.15)
    assert switch[0]["low"] <= analytic <= switch[0]["high"]


def test_all_weight_on_one_metric_reproduces_that_metrics_decision_exactly(slow_but_better):
    plain = decide(load_points(slow_but_better), n_now=256)["synth"].to_dict()
    scored, metric, _ = _scored(slow_but_better, "accuracy")
    assert decide(scored, n_now=256, metric=metric)["synth"].to_dict() == plain
    # a weighted sum with every other weight 0: the same gains, intervals and choice, bit for bit; it has
    # no price per error, so no business value
    scored, metric, _ = _scored(slow_but_better, "accuracy - 0*predict_ms_per_1000 + 0*macro_f1")
    again = decide(scored, n_now=256, metric=metric)["synth"].to_dict()
    for lever in plain["levers"]:
        lever["value_per_1000"] = None
    assert {k: v for k, v in again.items() if k != "metric"} == {k: v for k, v in plain.items() if k != "metric"}


def test_refusals_name_the_allowed_values():
    with pytest.raises(ConfigError, match=r"unknown name 'acuracy'; allowed: accuracy, .*predict_ms_per_1000"):
        objectives.parse("acuracy")
    with pytest.raises(ConfigError, match=r"predict_ms_per_1000 \(a cost\) needs a negative weight"):
        objectives.parse("accuracy + 0.1*predict_ms_per_1000")
    with pytest.raises(ConfigError, match=r"log_loss \(lower is better\) needs a negative weight"):
        objectives.parse("accuracy + 2*log_loss")
    with pytest.raises(ConfigError, match=r"accuracy \(higher is better\) needs a positive weight"):
        objectives.parse("-accuracy - log_loss")
    with pytest.raises(ConfigError, match="not a weighted sum"):
        objectives.parse("accuracy * 3")
    assert objectives.parse("accuracy - 0.1*predict_ms_per_1000").terms == ((1.0, "accuracy"),
                                                                            (-0.1, "predict_ms_per_1000"))


def test_a_metric_the_study_did_not_store_is_named_missing_never_zero(tmp_path):
    path = write_study(tmp_path / "s", models={"a": A, "b": B}, sizes=(64, 128, 256), noise=0.002)
    ok, _ = score_points(load_points(path))
    scored, metric, notes = objectives.apply(ok, objectives.parse("accuracy - 0.1*predict_ms_per_1000",
                                                                  objectives.allowed(ok)))
    assert scored.empty and metric == {}
    assert notes == ["synth: left out, its points store no predict_ms_per_1000"]
    # a rung without probabilities is left out of a calibration objective, by name
    ok["test_log_loss"] = np.where(ok["model"] == "b", np.nan, 0.5)
    scored, metric, notes = objectives.apply(ok, objectives.parse("log_loss", objectives.allowed(ok)))
    assert set(scored["model"]) == {"a"} and metric == {"synth": "log_loss"}
    assert notes == ["synth: b left out, with no stored log_loss (it needs probabilities)"]
    assert (scored["error"] == scored["score"]).all()          # lower is better: the error is the score


def test_changing_the_objective_never_rewrites_a_stored_point(slow_but_better):
    files = sorted(glob.glob(str(slow_but_better / "points" / "*.parquet")))
    before = [open(f, "rb").read() for f in files]
    ok, _ = score_points(load_points(slow_but_better))
    kept = ok.copy()
    for text in ("log_loss", "accuracy - 0.1*predict_ms_per_1000"):
        objectives.apply(ok, objectives.parse(text, objectives.allowed(ok)))
    pd.testing.assert_frame_equal(ok, kept)
    assert [open(f, "rb").read() for f in files] == before


def test_calibration_scores_match_their_definitions():
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    proba = np.c_[1 - p, p]
    assert calibration.brier(y, proba) == pytest.approx(2 * brier_score_loss(y, p), rel=1e-12)
    # perfectly calibrated by construction: the gap per bin is sampling noise only
    assert calibration.ece(y, proba) < 0.06
    # always 90% sure and right half the time: ECE is 0.4
    sure = np.tile([0.1, 0.9], (100, 1))
    assert calibration.ece(np.r_[np.ones(50, int), np.zeros(50, int)], sure) == pytest.approx(0.4)
    assert np.isnan(calibration.scores(y, None)["ece"])


class _Counting:
    def __init__(self):
        self.calls = []

    def predict(self, X):
        self.calls.append(len(X))
        return np.zeros(len(X))


def test_inference_cost_is_per_1000_rows_warm_and_the_size_is_the_pickle():
    model = _Counting()
    assert costs.predict_ms_per_1000(model, np.zeros((37, 3))) >= 0
    # one warm call, then timed calls on 1,000 rows: at least REPEATS, more for a fast model, never unbounded
    assert set(model.calls) == {1000} and 1 + costs.REPEATS <= len(model.calls) <= 1 + costs.MAX_REPEATS
    assert costs.model_bytes(model) > costs.model_bytes(_Counting()) > 0
    assert costs.model_bytes(lambda: 0) == 0          # an unpicklable model has no measured size


def test_two_targets_are_two_curves_weighed_at_decision_time(tmp_path):
    path = write_study(tmp_path / "s", models={"a": A, "b": B}, sizes=(64, 128, 256, 512), seeds=(0, 1, 2, 3, 4),
                       noise=0.002, datasets=("income", "hours"))
    ok, _ = score_points(load_points(path))
    each = decide(ok, n_now=256, metric={"income": "accuracy", "hours": "accuracy"})
    text = "income:accuracy + 0.5*hours:accuracy"
    scored, metric, notes = objectives.apply(ok, objectives.parse(text, objectives.allowed(ok)))
    assert notes == [] and metric == {"income + hours": text} and len(scored) == len(ok) // 2
    both = decide(scored, n_now=256, metric=metric)["income + hours"]
    switch = "switching a -> b"
    expected = each["income"].lever(switch).gain + 0.5 * each["hours"].lever(switch).gain
    assert both.lever(switch).gain == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ConfigError, match="names the dataset of some terms but not of others"):
        objectives.parse("income:accuracy + accuracy", objectives.allowed(ok))
    with pytest.raises(ConfigError, match=r"unknown name 'wages:accuracy'; allowed: .*prefixed by a dataset \(hours, income\)"):
        objectives.parse("wages:accuracy", objectives.allowed(ok))


@pytest.mark.slow
def test_a_new_weight_needs_no_refit_and_equals_a_study_run_with_it_from_the_start(tmp_path):
    import json

    from mvd.report import build

    text = "income:accuracy + 0.5*hours:accuracy"
    kw = dict(models={"a": A, "b": B}, sizes=(64, 128, 256, 512), seeds=(0, 1, 2), noise=0.002,
              datasets=("income", "hours"))
    from_start = write_study(tmp_path / "s", report={"objective": text}, **kw)
    later = write_study(tmp_path / "s2", **kw)
    points = sorted((later / "points").glob("*.parquet"))
    before = [p.read_bytes() for p in points]
    build(from_start)
    out = build(later, objective=text)
    assert out.parent == later / objectives.folder_name(text)
    assert [p.read_bytes() for p in points] == before                      # nothing refitted or rewritten
    a = json.loads((from_start / "summary.json").read_text())
    b = json.loads((out.parent / "summary.json").read_text())
    a.pop("study"), b.pop("study")
    assert a == b


def test_the_report_compares_objectives_and_draws_the_latency_front(slow_but_better):
    ok, metric = score_points(load_points(slow_but_better))
    current = decide(ok, n_now=256, metric=metric)["synth"]
    entry = objectives.evaluate(ok, lambda s, m: decide(s, n_now=256, metric=m)["synth"], primary="accuracy",
                                current=current)
    rows = {r["objective"]: r for r in entry["rows"]}
    assert list(rows)[0] == "accuracy" and rows["accuracy"]["chosen"] == "switching a -> b"
    assert rows["accuracy - 0.1*predict_ms_per_1000"]["kind"] != "model"
    assert rows["log_loss"]["chosen"] is None and "store no log_loss" in rows["log_loss"]["note"]
    flip = [f for f in entry["flips"] if f["before"] == "switching a -> b"]
    assert len(flip) == 1 and flip[0]["weight"] == pytest.approx(2 / 49, rel=0.15)
    front = {p["lever"]: p["front"] for p in entry["pareto"]}
    assert front["switching a -> b"] and front["the next 256 labels"]    # faster-and-worse vs slower-and-better
    text = "\n".join(b[1] for b in objectives.blocks(entry, "accuracy") if b[0] == "p")
    table = next(b for b in objectives.blocks(entry, "accuracy") if b[0] == "table")
    assert table[2][0][:2] == ["accuracy", "switching a -> b"] and re.match(r"\+[12]\.\d points \[", table[2][0][2])
    assert re.search(r"below w = 0\.0[34]\d* \[0\.0\d+, 0\.0\d+\] points per ms per 1,000 rows, switching a -> b; "
                     r"above, keep the current model", text)


def test_the_business_value_row_prices_the_primary_decision_at_the_configs_price_per_error(slow_but_better):
    ok, metric = score_points(load_points(slow_but_better))
    business = {"value_correct": 2.0, "cost_error": 3.0, "cost_per_label": 0.1, "cost_per_compute_hour": 1.0}
    current = decide(ok, n_now=256, metric=metric, business=business)["synth"]
    entry = objectives.evaluate(ok, lambda s, m: decide(s, n_now=256, metric=m, business=business)["synth"],
                                primary="accuracy", current=current)
    row = entry["rows"][-1]
    switch = current.lever(current.chosen)
    assert row["objective"].startswith("business value per 1,000 decisions") and row["chosen"] == current.chosen
    # one accuracy point is 1% of 1,000 decisions turned right: 10 x (2 + 3) in money
    assert row["gain"] == pytest.approx(switch.gain * 10 * 5.0) and row["ci_low"] == pytest.approx(switch.ci_low * 50)


def test_an_objective_the_current_models_points_lack_is_no_decision_not_one_among_the_other_rungs(slow_but_better):
    """Curves written before a column existed (here: a's, the current model's) lack it; a decision remade from the
    newer rungs alone would be relative to another current model, so the row is left out and says why."""
    for f in glob.glob(str(slow_but_better / "points" / "*.parquet")):
        frame = pd.read_parquet(f)
        if frame["model"].iloc[0] == "a":
            frame.drop(columns=["predict_ms_per_1000"]).to_parquet(f)
    ok, metric = score_points(load_points(slow_but_better))
    current = decide(ok, n_now=256, metric=metric)["synth"]
    assert current.model == "a"
    entry = objectives.evaluate(ok, lambda s, m: decide(s, n_now=256, metric=m)["synth"], primary="accuracy",
                                current=current)
    row = {r["objective"]: r for r in entry["rows"]}["accuracy - 0.1*predict_ms_per_1000"]
    assert row["chosen"] is None and "the current model (a) stores no" in row["note"], row
    assert entry["flips"] == [] and entry["pareto"] == []
