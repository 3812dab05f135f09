"""The data-equivalent multiplier on curves with a known answer, without building a report.

The baseline's error is e(n) = 2 n^-0.5 + 0.05 and the stronger model's is the
baseline's at 4n, so every measured size has the closed-form multiplier 4;
a third model sits below the baseline's floor (never reached), and the
largest sizes of the stronger model need more than twice the baseline's
largest size (a lower bound).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mvd.report.equivalence import describe, equivalence, pick_baseline
from tests.report_helpers import curves_of

SIZES = [16, 32, 64, 128, 256, 512]
SEEDS = [0, 1, 2, 3]


def _base(n):
    return 2.0 * np.asarray(n, dtype=float) ** -0.5 + 0.05


def _curves(sophistication=None):
    rng = np.random.default_rng(0)
    rows = []
    models = {"linear": lambda n: _base(n), "forest": lambda n: _base(4 * n), "oracle": lambda n: 0.01 + 0 * n}
    for model, err in models.items():
        for seed in SEEDS:
            for n in SIZES:
                e = float(err(n)) + rng.normal(0, 1e-4)
                rows.append(dict(dataset="toy", model=model, quality="label_noise", quality_rate=0.2,
                                 cleaning="none", train_size=n, seed=seed, error=e, score=1 - e))
    return curves_of(pd.DataFrame(rows), sophistication or {"linear": 1, "forest": 3, "oracle": 9})


def test_multiplier_rows_hold_the_closed_form_and_say_what_they_rest_on():
    curves, resamples = _curves()
    rows = equivalence(curves, "linear", resamples)
    forest = [r for r in rows if r["model"] == "forest"]
    assert [r["train_size"] for r in forest] == SIZES
    inside = [r for r in forest if 4 * r["train_size"] < 2 * max(SIZES)]  # 256 sits on the limit: left out
    assert len(inside) == 4
    for r in inside:
        assert r["relation"] == "=" and r["extrapolated"] is False
        assert r["multiplier"] == pytest.approx(4.0, rel=0.03)
        assert r["n_needed"] == pytest.approx(4.0 * r["train_size"], rel=0.03)
        assert r["ci_low"] <= r["multiplier"] <= r["ci_high"]
        assert r["display"].startswith(f"{r['multiplier']:.3g}x [")
    beyond = [r for r in forest if 4 * r["train_size"] > 2 * max(SIZES)]
    for r in beyond:  # needs more than twice the largest measured size: a lower bound at that size
        assert r["relation"] == ">=" and r["extrapolated"] is True
        assert r["multiplier"] == pytest.approx(2 * max(SIZES) / r["train_size"])
        assert r["n_needed"] == pytest.approx(4.0 * r["train_size"], rel=0.03)
        assert r["display"] == f"≥ {r['multiplier']:.3g}x"
    for r in forest:
        assert (r["dataset"], r["quality"], r["quality_rate"], r["cleaning"]) == ("toy", "label_noise", 0.2, "none")
        assert r["baseline"] == "linear" and r["baseline_fit_ok"] is True
        assert r["error"] == pytest.approx(float(_base(4 * r["train_size"])), abs=1e-3)
    oracle = [r for r in rows if r["model"] == "oracle"]
    assert len(oracle) == len(SIZES)
    for r in oracle:  # below the baseline's floor (0.05): no amount of the baseline's data reaches it
        assert r["relation"] == "never" and r["n_needed"] is None and r["multiplier"] is None
        assert r["display"] == "never" and r["extrapolated"] is True
    assert not [r for r in rows if r["model"] == "linear"]


def test_an_upper_bound_when_the_model_is_worse_than_the_baselines_smallest_size():
    curves, resamples = _curves()
    rows = equivalence(curves, "forest", resamples)  # the linear model, seen from the stronger one
    linear = {r["train_size"]: r for r in rows if r["model"] == "linear"}
    assert linear[16]["relation"] == "<=" and linear[16]["multiplier"] == pytest.approx(0.5 * 16 / 16)
    assert linear[16]["display"] == f"≤ {linear[16]['multiplier']:.3g}x"
    assert linear[256]["relation"] == "=" and linear[256]["multiplier"] == pytest.approx(0.25, rel=0.05)


def test_the_baseline_is_the_lowest_rung_above_the_dummy_unless_asked():
    curves, _ = _curves()
    assert pick_baseline(curves, None) == "linear"
    assert pick_baseline(curves, "forest") == "forest"
    with_dummy, _ = _curves({"linear": 0, "forest": 2, "oracle": 1})
    assert pick_baseline(with_dummy, None) == "oracle"  # sophistication 1 beats 2; 0 is the dummy's
    only_dummies, _ = _curves({"linear": 0, "forest": 0, "oracle": 0})
    assert pick_baseline(only_dummies, None) == "forest"  # nothing above 0: the first by name


def test_describe_writes_open_intervals():
    row = {"relation": "=", "multiplier": 3.21, "ci_low": 2.5, "ci_high": None}
    assert describe(row) == "3.21x [2.5, ∞]"
    assert describe({**row, "ci_low": None}) == "3.21x"


def test_each_dataset_compares_only_its_own_curves():
    curves, resamples = _curves()
    other = {("elsewhere",) + key[1:]: replace(c, key=("elsewhere",) + key[1:]) for key, c in curves.items()}
    both = {**curves, **other}
    rows = equivalence(both, "linear", {**resamples, "elsewhere": resamples["toy"]})
    assert len(rows) == 2 * len(equivalence(curves, "linear", resamples))
    assert {r["dataset"] for r in rows} == {"toy", "elsewhere"}


def test_describe_rounds_a_finite_upper_bound():
    assert describe({"relation": "=", "multiplier": 3.21, "ci_low": 2.5, "ci_high": 3.98765}) == "3.21x [2.5, 3.99]"
