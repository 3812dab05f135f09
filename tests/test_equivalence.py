"""The data-equivalent multiplier on curves with a known answer, without building a report.

The baseline's error is e(n) = 2 n^-0.5 + 0.05 and the stronger model's is the
baseline's at 4n, so at every size whose 4n the baseline measured the
multiplier is exactly 4, read off the measured points; past the baseline's
largest size it is a bound in words; a third model sits below the baseline's
fitted floor (never, by a trusted fit).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mvd.report.equivalence import Multiplier, cell, describe, equivalence, headline, pick_baseline, reach
from tests.report_helpers import curves_of

SIZES = [16, 32, 64, 128, 256, 512]
SEEDS = [0, 1, 2, 3]


def _base(n):
    return 2.0 * np.asarray(n, dtype=float) ** -0.5 + 0.05


def _curves(sophistication=None, models=None):
    rng = np.random.default_rng(0)
    rows = []
    models = models or {"linear": lambda n: _base(n), "forest": lambda n: _base(4 * n), "oracle": lambda n: 0.01 + 0 * n}
    for model, err in models.items():
        for seed in SEEDS:
            for n in SIZES:
                e = float(err(n)) + rng.normal(0, 1e-4)
                rows.append(dict(dataset="toy", model=model, quality="clean", quality_rate=0.0,
                                 cleaning="none", train_size=n, seed=seed, error=e, score=1 - e))
    return curves_of(pd.DataFrame(rows), sophistication or {"linear": 1, "forest": 3, "oracle": 9, "step": 1, "mid": 2})


def test_multipliers_are_read_off_the_measured_curve_and_bounds_are_words():
    curves, resamples = _curves()
    rows = equivalence(curves, "linear", resamples)
    forest = {r["train_size"]: r for r in rows if r["model"] == "forest"}
    assert sorted(forest) == SIZES
    for n in (16, 32, 64, 128):  # 4n is a measured size of the baseline: exactly 4
        r = forest[n]
        assert r["kind"] == "measured" and r["relation"] == "=" and r["extrapolated"] is False
        assert r["multiplier"] == pytest.approx(4.0, rel=0.01)
        assert r["n_needed"] == pytest.approx(4.0 * n, rel=0.01)
        assert r["ci_low"] <= r["multiplier"] <= (np.inf if r["ci_high"] is None else r["ci_high"])
        assert r["display"].startswith(f"{r['multiplier']:.3g}x [")
        assert r["words"].startswith("linear needs 4") and f"n = {n:,}" in r["words"]
    # at 128 the target sits on the baseline's largest size: some resamples do not reach it, an open end
    assert forest[128]["ci_high"] is None and forest[128]["display"].endswith(", ∞]")
    for n in (256, 512):  # 4n lies past the baseline's largest size: a bound, no fitted number
        r = forest[n]
        assert r["kind"] == "at_least" and r["relation"] == ">=" and r["extrapolated"] is True
        assert r["multiplier"] == pytest.approx(512 / n) and r["n_needed"] is None
        assert r["display"] == f"≥ {r['multiplier']:.3g}x"
        assert "does not reach forest's score" in r["words"] and "up to 512" in r["words"]
    assert forest[256]["words"].endswith("at least 2x the rows")
    for r in forest.values():
        assert (r["dataset"], r["quality"], r["quality_rate"], r["cleaning"]) == ("toy", "clean", 0.0, "none")
        assert r["baseline"] == "linear" and r["baseline_fit_ok"] is True
    oracle = [r for r in rows if r["model"] == "oracle"]
    assert len(oracle) == len(SIZES)
    for r in oracle:  # below the baseline's trusted fitted floor (0.05): never, and it says why
        assert r["kind"] == "never" and r["n_needed"] is None and r["multiplier"] is None
        assert r["display"] == "never" and r["extrapolated"] is True
        assert "fitted curve levels off" in r["words"] and "by extrapolation" in r["words"]
    assert not [r for r in rows if r["model"] == "linear"]
    assert all(r["multiplier"] is None or np.isfinite(r["multiplier"]) for r in rows)  # never a float inf


def test_an_upper_bound_when_the_model_is_worse_than_the_baselines_smallest_size():
    curves, resamples = _curves()
    rows = equivalence(curves, "forest", resamples)  # the linear model, seen from the stronger one
    linear = {r["train_size"]: r for r in rows if r["model"] == "linear"}
    assert linear[16]["kind"] == "at_most" and linear[16]["multiplier"] == pytest.approx(1.0)
    assert linear[32]["kind"] == "at_most" and linear[32]["multiplier"] == pytest.approx(0.5)
    assert linear[32]["display"] == "≤ 0.5x"
    assert linear[256]["kind"] == "measured" and linear[256]["multiplier"] == pytest.approx(0.25, rel=0.01)


def test_reach_interpolates_the_running_best_in_log_n():
    n = [100, 200, 400]
    # halfway between 0.30 and 0.20 in error, halfway between 100 and 200 in log n
    assert reach(n, [0.30, 0.20, 0.10], [0.25])[0, 0] == pytest.approx(100 * 2 ** 0.5)
    assert reach(n, [0.30, 0.20, 0.10], [0.40])[0, 0] == 100       # reached at the smallest size
    assert reach(n, [0.30, 0.20, 0.10], [0.05])[0, 0] == np.inf    # not by the largest
    # a bump: 0.21 at 200 then 0.22 at 400 -- the running best is flat, and the first crossing counts
    assert reach(n, [0.30, 0.21, 0.22], [0.215])[0, 0] == pytest.approx(100 * 2 ** (0.085 / 0.09))
    assert reach(n, [0.30, 0.21, 0.22], [0.205])[0, 0] == np.inf
    # many curves at once (resamples x sizes) against their own targets
    got = reach(n, np.array([[0.30, 0.20, 0.10], [0.40, 0.30, 0.20]]), np.array([[0.20], [0.20]]))
    np.testing.assert_allclose(got[:, 0], [200, 400])


def _step(n):
    """A step-shaped curve: flat, one drop, flat -- a power law fits it badly (R² < 0.9)."""
    return np.where(np.asarray(n) < 100, 0.30, 0.10)


def test_a_baseline_whose_fit_is_not_trusted_never_reaches_the_headline_through_its_fit():
    models = {"step": _step, "forest": lambda n: 0.08 + 0 * n, "mid": lambda n: 0.2 + 0 * n}
    curves, resamples = _curves(models=models)
    base = curves[("toy", "step", "clean", 0.0, "none")]
    assert base.fit["r2"] < 0.9
    rows = equivalence(curves, "step", resamples)
    forest = [r for r in rows if r["model"] == "forest"]
    # below the step's fitted floor, but the fit is not trusted: a bound on the measured range, not "never"
    assert {r["kind"] for r in forest} == {"at_least"} and all(r["baseline_fit_ok"] is False for r in forest)
    mid = {r["train_size"]: r for r in rows if r["model"] == "mid"}
    # 0.2 is crossed between 64 (0.30) and 128 (0.10): halfway in log n, whatever the fit says
    assert mid[16]["kind"] == "measured" and mid[16]["n_needed"] == pytest.approx(64 * 2 ** 0.5, rel=1e-3)
    text = headline(rows, "forest")
    assert "never" not in text and "does not reach forest's score at n = 512" in text
    assert "never" not in cell(rows, "forest")


def test_the_headline_is_the_operating_point_and_names_the_largest_measured_size():
    curves, resamples = _curves()
    rows = equivalence(curves, "linear", resamples)
    # at the operating point (n = 512) the baseline does not catch up within its sizes: said so
    text = headline(rows, "forest", 512)
    assert text.startswith("linear does not reach forest's score at n = 512 within its measured sizes (up to 512)")
    assert text.endswith(f"measured at n = 128: {[r for r in rows if r['model'] == 'forest' and r['train_size'] == 128][0]['display']}")
    assert cell(rows, "forest", 512).startswith("linear does not reach it by its largest size (n = 512); measured: 4")
    # an operating point inside the range: the measured multiplier there
    assert headline(rows, "forest", 64).startswith("linear needs 4")
    assert cell(rows, "forest", 90).endswith("at n = 64")  # the largest measured size at or below it
    assert cell(rows, "oracle", 512).startswith("linear's fitted floor lies above it (n = 512): never, by extrapolation")
    assert headline(rows, "absent") is None and cell(rows, "absent") is None


def test_the_record_has_a_kind_and_no_infinite_value():
    m = Multiplier(kind="at_least", value=11.3, n_needed=None)
    assert m.relation == ">=" and m.display() == "≥ 11.3x"
    assert "at least 11.3x" in m.words(baseline="logreg", model="gbm", n=724, n_min=16, n_max=8192)
    assert Multiplier(kind="never", value=None, n_needed=None, floor=0.2).display() == "never"


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
