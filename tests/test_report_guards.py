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


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Two models, five seeds with seed noise: every interval has a width."""
    study = write_study(tmp_path_factory.mktemp("guards") / "s", models={"base": BASE, "strong": STRONG},
                        sizes=SIZES, seeds=(0, 1, 2, 3, 4), noise=0.01)
    build(study, bootstrap=200)
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


def test_routes_price_compute_hours_at_the_configured_rate(tmp_path):
    """Pricing compute at zero (or dropping it from the total) fails here.

    Labels are free and an hour costs 3600, so a route costs its training
    seconds; the synthetic fit time is 1e-5 x n x (1 + sophistication) seconds,
    a straight log-log line, so the extrapolated time is known exactly.
    """
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES,
                        business={"cost_per_label": 0.0, "cost_per_compute_hour": 3600.0})
    build(study, bootstrap=20, target=1 - (2.0 * 1024**-0.5 + 0.05))  # base needs 1024 rows
    routes = {(r["route"], r["model"]): r for r in _summary(study)["datasets"]["synth"]["business"]["routes"]}
    priced = [r for r in routes.values() if r["relation"] == "="]
    assert len(priced) >= 2
    level = {"base": BASE[0], "strong": STRONG[0]}
    for r in priced:
        seconds = 1e-5 * r["n_needed"] * (1 + level[r["model"]])
        assert r["compute_hours"] == pytest.approx(seconds / 3600, rel=2e-2)
        assert r["compute_cost"] == pytest.approx(3600 * r["compute_hours"], rel=1e-5) and r["compute_cost"] > 0
        assert r["label_cost"] == 0 and r["total_cost"] == pytest.approx(r["compute_cost"], rel=1e-5)
    # with labels free, the cheapest route is the one that trains for the shortest time
    cheapest = min(priced, key=lambda r: r["compute_cost"])
    assert cheapest["cheapest"] and sum(r["cheapest"] for r in routes.values()) == 1


def test_label_and_compute_costs_add_up(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES,
                        business={"cost_per_label": 2.0, "cost_per_compute_hour": 7200.0})
    build(study, bootstrap=20, target=1 - (2.0 * 1024**-0.5 + 0.05))
    routes = {(r["route"], r["model"]): r for r in _summary(study)["datasets"]["synth"]["business"]["routes"]}
    more = routes[("more labels", "base")]
    assert more["new_labels"] == pytest.approx(1024 - max(SIZES), abs=1)
    assert more["label_cost"] == pytest.approx(2.0 * more["new_labels"])
    # 7200 an hour is 2 per second of training, and base trains for 1e-5 x n x 2 seconds
    assert more["compute_cost"] == pytest.approx(2 * (1e-5 * more["n_needed"] * 2), rel=2e-2)
    assert more["total_cost"] == pytest.approx(more["label_cost"] + more["compute_cost"], rel=1e-5)
