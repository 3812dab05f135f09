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

from mvd.report import build
from mvd.report.synthetic import write_study

SIZES = (16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512)
BASE, STRONG = (1, 2.0, 0.5, 0.05), (3, 1.0, 0.5, 0.05)


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


def test_every_cell_with_seeds_gets_an_interval_within_its_seeds_range(noisy):
    """Removing the per-cell intervals (or leaving them NaN) fails here."""
    curves = _summary(noisy)["datasets"]["synth"]["curves"]
    points = _points(noisy)
    assert len(curves) == 2 * len(SIZES)
    for cell in curves:
        acc = points[(points["model"] == cell["model"]) & (points["train_size"] == cell["train_size"])]
        acc = acc["test_accuracy"].to_numpy()
        assert cell["n_seeds"] == len(acc) == 5
        assert cell["score"] == pytest.approx(acc.mean(), rel=1e-5)
        # a bootstrap mean of the seeds lies between the smallest and the largest seed
        assert acc.min() - 1e-6 <= cell["ci_low"] < cell["score"] < cell["ci_high"] <= acc.max() + 1e-6, cell
        assert cell["se"] == pytest.approx(acc.std(ddof=1) / np.sqrt(len(acc)), rel=1e-4)


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
