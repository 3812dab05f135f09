"""Intervals that hold at five seeds: t-intervals over the seeds, a paired bootstrap over a fixed test
set's rows, the sources of variance they cover, and the metric's range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mvd.report.aggregate import (TEST_DRAWS, SeedResamples, cells, clip_to_range, interval_covers, metric_range,
                                  row_draws)

SEEDS = np.arange(5)


# ---------------------------------------------------------------- the simulation


def simulate(*, fixed: bool, reps: int = 1000, rows: int = 400, swing: float = 0.25, seed: int = 0,
             n_boot: int = 1000) -> dict:
    """Coverage of 95% intervals on the accuracy difference of two levers (models A and B), 5 seeds.

    A finite population of 100,000 examples: on 54% of them model B is right with probability ``swing``
    higher than model A, on the rest ``swing`` lower (A's probability is uniform in a band of width 0.1
    that keeps both in [0.15, 0.85]), so B is 0.08·swing better on average but very differently per
    example: the test sample matters.  Each seed shifts each model's probabilities by N(0, 0.02) (its
    training sample and model seed) and draws fresh model noise shared by A and B on each row (paired
    predictions).  The test set is ``rows`` examples drawn once for all seeds (``fixed``) or once per
    seed.  The truth is the population mean of p_B - p_A.

    Returns the coverage (and mean width) of the t-interval (``new``: with the paired test-row bootstrap on
    a fixed test set), of the same t-interval over the seeds alone (``seeds_only``) and of the percentile
    bootstrap over seed resamples it replaces (``old``).
    """
    rng = np.random.default_rng(seed)
    k = len(SEEDS)
    better = rng.random(100_000) < 0.54
    centre = np.where(better, 0.5 - swing / 2, 0.5 + swing / 2)
    p_a = centre + rng.uniform(-0.05, 0.05, size=centre.size)
    p_b = p_a + np.where(better, swing, -swing)
    truth = float(np.mean(p_b - p_a))
    if fixed:
        test = np.repeat(rng.integers(0, p_a.size, size=(reps, 1, rows)), k, axis=1)   # (reps, seeds, rows)
    else:
        test = rng.integers(0, p_a.size, size=(reps, k, rows))
    shift = rng.normal(0.0, 0.02, size=(2, reps, k, 1))
    noise = rng.random((reps, k, rows))                                                # shared by A and B
    correct = np.stack([noise < p_a[test] + shift[0], noise < p_b[test] + shift[1]], axis=1)  # (reps, 2, seeds, rows)
    wide = correct.mean(axis=-1).reshape(2 * reps, k)                                  # rows: (rep, model)
    out = {}
    plain = SeedResamples(SEEDS, n=n_boot, seed=seed)
    means = plain.means(wide, SEEDS)
    diff = means[:, 1::2] - means[:, 0::2]                                            # B - A, per rep
    found = {"old": plain.percentile(diff), "seeds_only": plain.interval(diff)}
    if fixed:  # each point rescored on the same draws of its test set's rows
        perturbed = (correct.reshape(-1, rows).astype(np.float32) @ row_draws(rows).T / rows)
        rs = plain.with_test_draws(TEST_DRAWS)
        means = rs.means(wide, SEEDS, perturbed=perturbed.reshape(2 * reps, k, TEST_DRAWS))
        found["new"] = rs.interval(means[:, 1::2] - means[:, 0::2])
    else:
        found["new"] = found["seeds_only"]
    for name, (low, high) in found.items():
        out[name] = float(np.mean((low <= truth) & (truth <= high)))
        out[f"{name}_width"] = float(np.mean(high - low))
    return out


@pytest.mark.parametrize("fixed", [False, True], ids=["per-seed test set", "fixed test set"])
def test_95_percent_intervals_on_a_difference_of_two_levers_cover_95_percent_at_five_seeds(fixed):
    got = simulate(fixed=fixed, reps=1000, seed=1)
    assert 0.92 <= got["new"] <= 0.98, got
    # the percentile bootstrap it replaces falls short (about 82% per seed, 75% on a fixed test set)
    assert got["old"] < 0.91, got


def test_on_a_fixed_test_set_the_seeds_alone_undercover_and_the_test_rows_restore_it():
    """Where the test sample dominates, leaving the row term out falls far short; with it, 95 ± 3."""
    got = simulate(fixed=True, reps=1000, swing=0.6, seed=2)
    assert got["seeds_only"] < 0.8 and 0.92 <= got["new"] <= 0.98, got


# ---------------------------------------------------------------- the interval itself


def test_the_interval_of_a_paired_difference_is_the_paired_t_interval():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, size=5), rng.normal(0.82, 0.02, size=5)
    rs = SeedResamples(SEEDS, n=1000, seed=0)
    means = rs.means(np.vstack([a, b]), SEEDS)
    low, high = rs.interval((means[:, 1] - means[:, 0])[:, None])
    d = b - a
    expected = stats.t.interval(0.95, df=4, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(5))
    assert (low[0], high[0]) == pytest.approx(expected, rel=1e-12)
    # wider than the percentile bootstrap over the same seeds (±1.75 SE, not ±2.78)
    p_low, p_high = rs.percentile((means[:, 1] - means[:, 0])[:, None])
    assert high[0] - low[0] > 1.3 * (p_high[0] - p_low[0])


def test_an_undefined_or_infinite_statistic_falls_back_to_the_percentile_interval():
    rs = SeedResamples(SEEDS, n=500, seed=3)
    values = np.random.default_rng(0).normal(size=(len(rs.counts), 2))
    values[rs.jackknife[0], 1] = np.inf          # e.g. a multiplier beyond the fitted range
    low, high = rs.interval(values)
    p_low, p_high = rs.percentile(values)
    assert low[1] == p_low[1] and high[1] == p_high[1]
    assert low[0] != p_low[0]


def test_one_seed_has_no_interval():
    rs = SeedResamples([0], n=10)
    low, high = rs.interval(rs.means(np.array([[0.5]]), [0]))
    assert np.isnan(low).all() and np.isnan(high).all()


def test_points_without_per_row_scores_add_no_test_variance():
    rs = SeedResamples(SEEDS, n=100, seed=0, test_draws=TEST_DRAWS)
    wide = np.array([[0.80, 0.82, 0.79, 0.81, 0.83]])
    plain = SeedResamples(SEEDS, n=100, seed=0)
    expected = np.ravel(plain.interval(plain.means(wide, SEEDS)))
    assert np.ravel(rs.interval(rs.means(wide, SEEDS))) == pytest.approx(expected)
    nan = np.full((1, 5, TEST_DRAWS), np.nan)
    assert np.ravel(rs.interval(rs.means(wide, SEEDS, perturbed=nan))) == pytest.approx(expected)


def test_a_fixed_test_set_widens_a_cells_interval_through_cells_and_aggregate():
    from mvd.report.aggregate import aggregate

    rows = 200
    rng = np.random.default_rng(0)
    correct = rng.random(rows) < 0.7
    points = []
    for s in SEEDS:
        flip = correct.copy()
        flip[rng.integers(0, rows, size=3)] ^= True          # each seed differs on a few rows only
        points.append({"dataset": "d", "model": "m", "quality": "clean", "quality_rate": 0.0, "cleaning": "none",
                       "train_size": 64, "seed": int(s), "primary_metric": "accuracy", "score": flip.mean(),
                       "error": 1 - flip.mean(), "per_row_count": rows, "fixed_test_set": True,
                       "per_row_correct": np.packbits(flip).tobytes()})
    points = pd.DataFrame(points)
    rs = {"d": SeedResamples(SEEDS, n=200, seed=0)}
    with_rows = aggregate(cells(points, per_row=True), rs).iloc[0]
    seeds_only = aggregate(cells(points), rs).iloc[0]
    width = with_rows["ci_high"] - with_rows["ci_low"]
    # the test sample's standard error of an accuracy near 0.7 on 200 rows is about 0.032
    assert width > 3 * (seeds_only["ci_high"] - seeds_only["ci_low"])
    assert width == pytest.approx(2 * 1.96 * np.sqrt(0.7 * 0.3 / rows), rel=0.25)


# ---------------------------------------------------------------- what the intervals cover


def _points(**columns):
    base = {"dataset": "d", "primary_metric": "accuracy", "seed": 0}
    return pd.DataFrame([{**base, **columns}])


def test_old_points_say_their_intervals_cover_only_training_sample_and_model_seed():
    got = interval_covers(_points())
    assert got["covers"] == ["training sample", "model seed"]
    assert "not the test sample" in got["phrase"]


def test_a_per_seed_test_split_covers_the_test_sample_through_the_seeds():
    got = interval_covers(_points(fixed_test_set=False))
    assert got["covers"] == ["training sample", "model seed", "test sample"]


def test_a_fixed_test_set_covers_the_test_sample_only_with_per_row_scores():
    with_rows = interval_covers(_points(fixed_test_set=True, per_row_count=8,
                                        per_row_correct=np.packbits(np.ones(8, bool)).tobytes()))
    assert with_rows["covers"] == ["training sample", "model seed", "test sample"]
    assert "bootstrapped over its rows" in with_rows["phrase"]
    without = interval_covers(_points(fixed_test_set=True))
    assert "test sample" not in without["covers"]
    other = interval_covers(_points(fixed_test_set=True, primary_metric="log_loss"))
    assert "test sample" not in other["covers"] and "log_loss" in other["phrase"]
    # at a fixed test set's full pool every seed fits the same rows too: the phrase says so
    assert all("the seeds also share the training rows" in c["phrase"] for c in (with_rows, without, other))
    assert "share the training rows" not in interval_covers(_points(fixed_test_set=False))["phrase"]


# ---------------------------------------------------------------- the metric's range


def test_a_gain_interval_never_takes_accuracy_past_100_percent():
    # iris: 0.982 accuracy, "+1.8 points [-9.3, 12.8]"
    low, high, clipped = clip_to_range(-9.3, 12.8, metric="accuracy", now=0.982, scale=100.0)
    assert (low, high, clipped) == (pytest.approx(-9.3), pytest.approx(1.8), True)
    assert clip_to_range(-1.0, 1.0, metric="accuracy", now=0.5, scale=100.0) == (-1.0, 1.0, False)
    # the score itself: breast_cancer's 101.2% upper bound
    assert clip_to_range(0.95, 1.012, metric="accuracy")[1:] == (1.0, True)


def test_lower_is_better_and_r2_ranges():
    assert metric_range("rmse") == (0.0, np.inf) and metric_range("r2") == (-np.inf, 1.0)
    # rmse 0.3 now: a gain (now - after) is at most 0.3
    assert clip_to_range(-0.1, 0.5, metric="rmse", now=0.3) == (-0.1, pytest.approx(0.3), True)
    # R² 0.9 now: a gain is at most 0.1
    assert clip_to_range(-0.2, 0.25, metric="r2", now=0.9)[1] == pytest.approx(0.1)
    low, high, clipped = clip_to_range(np.array([-0.1, 0.2]), np.array([1.2, 0.9]), metric="accuracy")
    assert low.tolist() == [0.0, 0.2] and high.tolist() == [1.0, 0.9] and clipped.tolist() == [True, False]
    assert clip_to_range(np.nan, np.nan, metric="accuracy")[2] is False


# ---------------------------------------------------------------- the points' per-row columns


def fixed_rows(name="fixed_rows", *, task="classification", modality="tabular", image_shape=None):
    """300 rows of two noisy classes; the last 90 are the official test set (one for every seed)."""
    from mvd import data

    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 150)
    X = np.column_stack([y + rng.normal(0, 1.0, size=300), rng.normal(size=300)])
    return data.Dataset(name=name, task="classification", modality="tabular", X=X, y=y, classes=["a", "b"],
                        test_index=np.arange(210, 300))


@pytest.fixture
def fixed_dataset():
    from mvd import data

    yield ["dataset._target_=tests.test_intervals.fixed_rows", "dataset.name=fixed_rows"]
    data._MEMO.clear()


def test_points_store_their_test_rows_correctness_and_whether_the_test_set_is_fixed(make_cfg, fixed_dataset):
    from mvd import curve, store

    cfg = make_cfg(*fixed_dataset, "model=logreg", "curve.sizes=[20,60]", "curve.seeds=[0,1]")
    frame = curve.run_curve(cfg)
    assert frame["fixed_test_set"].tolist() == [True] * 4 and frame["per_row_count"].tolist() == [90] * 4
    for point in frame.to_dict("records"):
        bits = point["per_row_correct"]
        assert isinstance(bits, bytes) and len(bits) == 90 // 8 + 1          # 12 bytes for 90 rows
        correct = np.unpackbits(np.frombuffer(bits, np.uint8), count=90)
        assert correct.mean() == pytest.approx(point["test_accuracy"])
    # read back by the report's loader, beside nothing else changed
    from mvd.report.study import load_points

    back = load_points(store.points_dir(cfg.results_dir + "/" + cfg.study).parent)
    assert back["per_row_correct"].map(type).eq(bytes).all() and back["fixed_test_set"].all()


def test_per_row_scores_of_a_regression_are_float32_residuals():
    from mvd.curve import per_row

    got = per_row("regression", np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]))
    assert got["per_row_count"] == 3
    assert np.frombuffer(got["per_row_residual"], "<f4").tolist() == [0.5, 0.0, -1.0]


def test_a_study_mixing_points_files_with_and_without_the_binary_column_loads(tmp_path):
    """Schema evolution: an old file without the per-row columns beside a new one with them, read by both
    loaders, and a new point appended to an old curve file."""
    from mvd import store
    from mvd.report.study import load_points

    base = {"study": "s", "dataset": "d", "task": "classification", "model": "m", "sophistication": 1,
            "primary_metric": "accuracy", "status": "ok", "error": "", "test_accuracy": 0.5}
    old = store.CurveFile(tmp_path, "old")
    old.append({**base, "run_id": "old", "seed": 0, "train_size": 16})
    new = store.CurveFile(tmp_path, "new")
    new.append({**base, "run_id": "new", "seed": 0, "train_size": 16, "fixed_test_set": True, "per_row_count": 10,
                "per_row_correct": np.packbits(np.arange(10) % 2 == 0).tobytes()})
    old.append({**base, "run_id": "old", "seed": 1, "train_size": 16, "fixed_test_set": False, "per_row_count": 10,
                "per_row_correct": b"\xff\xc0"})
    for frame in (store.load(tmp_path), load_points(tmp_path)):
        values = frame["per_row_correct"].tolist()
        assert sorted(v for v in values if isinstance(v, bytes)) == [b"\xaa\x80", b"\xff\xc0"]
        assert sum(not isinstance(v, bytes) and pd.isna(v) for v in values) == 1   # the old point: missing
    assert [r.get("per_row_correct") for r in store.CurveFile(tmp_path, "old").records] == [None, b"\xff\xc0"]


# ---------------------------------------------------------------- the decision reads them


def _study_points(*, per_row: bool, base_acc=0.7, strong_acc=0.75, rows=300, sizes=(64, 128), flips=4):
    """Two models on one fixed test set, 5 seeds; each seed's predictions differ on a few rows only."""
    rng = np.random.default_rng(0)
    order = rng.permutation(rows)   # the strong model is right wherever the base model is, and on more rows
    truth = {m: order < round(acc * rows) for m, acc in (("base", base_acc), ("strong", strong_acc))}
    points = []
    for (model, soph), n, s in ((ms, n, s) for ms in (("base", 1), ("strong", 2)) for n in sizes for s in SEEDS):
        correct = truth[model].copy()
        correct[rng.integers(0, rows, size=flips)] ^= True
        point = {"study": "s", "dataset": "d", "task": "classification", "model": model, "sophistication": soph,
                 "quality": "clean", "quality_rate": 0.0, "cleaning": "none", "train_size": n, "seed": int(s),
                 "primary_metric": "accuracy", "status": "ok", "test_accuracy": float(correct.mean()),
                 "fit_seconds": 0.01, "tuned": False, "fixed_test_set": True}
        if per_row:
            point.update(per_row_count=rows, per_row_correct=np.packbits(correct).tobytes())
        points.append(point)
    return pd.DataFrame(points)


def test_the_decisions_lever_intervals_hold_the_fixed_test_sets_variance():
    from mvd.report.decision import decide

    wide = decide(_study_points(per_row=True), n_now=128)["d"]
    narrow = decide(_study_points(per_row=False), n_now=128)["d"]
    name = "switching base -> strong"
    a, b = wide.lever(name), narrow.lever(name)
    assert a.gain == pytest.approx(b.gain)
    # 15 of 300 shared rows separate the models: their test-sample standard error is 1.3 points
    assert (a.ci_high - a.ci_low) > 2.5 * (b.ci_high - b.ci_low)


def test_a_gain_from_near_perfect_accuracy_is_clipped_and_says_so():
    from mvd.report.decision import decide

    points = _study_points(per_row=True, base_acc=0.98, strong_acc=0.995, rows=200, flips=0)
    d = decide(points, n_now=128)["d"]
    lever = d.lever("switching base -> strong")
    assert lever.gain > 0 and lever.clipped and lever.to_dict()["clipped"] is True
    assert lever.ci_high == pytest.approx((1 - d.score_now) * 100)     # no score above 100%
    unclipped = decide(_study_points(per_row=True), n_now=128)["d"].lever("switching base -> strong")
    assert not unclipped.clipped


def test_the_report_says_what_its_intervals_cover_and_which_were_clipped(tmp_path):
    from mvd.report.render import blocks
    from mvd.report.study import read_study
    from mvd.report.summary import analyse
    from tests.synthetic_study import write_study

    # 97% accuracy with noisy seeds: the extrapolated gain of more labels would pass 100%
    study = write_study(tmp_path / "s", models={"base": (1, 0.2, 0.5, 0.01), "strong": (2, 0.01, 0.5, 0.0)},
                        sizes=(16, 32, 64, 128), seeds=tuple(range(5)), noise=0.05)
    summary = analyse(read_study(study, bootstrap=50), workers=1).summary
    ds = summary["datasets"]["synth"]
    assert ds["interval_covers"]["covers"] == ["training sample", "model seed"]
    lever = next(lv for lv in ds["decision"]["levers"] if lv["lever"] == "the next 128 labels")
    assert lever["clipped"] and lever["ci_high"] == pytest.approx(100 * (1 - ds["decision"]["score_now"]), abs=1e-3)
    assert not next(lv for lv in ds["decision"]["levers"] if lv["kind"] == "model")["clipped"]
    text = " ".join(str(b[1]) for b in blocks(summary, {}))
    assert "Sources of variance: synth: intervals cover training sample and model seed, not the test sample" in text
    assert "so these intervals are clipped: synth: the next 128 labels" in text
    assert ds["interval_covers"]["cells_clipped"] >= 0


def _regression_points(residuals: dict) -> pd.DataFrame:
    rows = []
    for (model, seed), r in residuals.items():
        r = np.asarray(r, dtype="<f4")
        rmse = float(np.sqrt(np.mean(r.astype(float) ** 2)))
        rows.append({"dataset": "d", "model": model, "quality": "clean", "quality_rate": 0.0, "cleaning": "none",
                     "train_size": 64, "seed": seed, "primary_metric": "rmse", "score": rmse, "error": rmse,
                     "fixed_test_set": True, "per_row_count": len(r), "per_row_residual": r.tobytes()})
    return pd.DataFrame(rows)


def test_a_regressions_residuals_are_rescored_as_its_rmse_on_each_row_draw():
    r = np.random.default_rng(0).normal(0, 2.0, size=500)
    table = cells(_regression_points({("m", 0): r, ("m", 1): r * 1.1}), per_row=True)
    got = table.perturbed["error"][0]                       # (seeds, draws)
    w = row_draws(500)
    assert got[0] == pytest.approx(np.sqrt(w @ (r ** 2) / 500), rel=1e-5)
    assert got[1] == pytest.approx(1.1 * got[0], rel=1e-5)   # the same draws for every point
    assert np.std(got[0]) == pytest.approx(np.std(r ** 2) / np.sqrt(500) / (2 * np.sqrt(np.mean(r ** 2))), rel=0.2)


def test_points_scored_on_test_sets_of_different_lengths_are_not_paired_over_rows():
    r = np.zeros(100)
    table = cells(_regression_points({("m", 0): r, ("m", 1): np.zeros(90)}), per_row=True)
    assert table.rescored("error") is None


def test_a_cells_interval_is_held_inside_the_metrics_range_and_says_so():
    from mvd.report.aggregate import aggregate

    acc = [0.98, 1.0, 1.0, 0.99, 1.0]      # mean 0.994: the t-interval's upper end is 1.005
    points = pd.DataFrame([{"dataset": "d", "model": "m", "quality": "clean", "quality_rate": 0.0, "cleaning": "none",
                            "train_size": 64, "seed": s, "score": a, "error": 1 - a} for s, a in zip(SEEDS, acc)])
    rs = {"d": SeedResamples(SEEDS, n=100, seed=0)}
    raw = aggregate(cells(points), rs).iloc[0]
    held = aggregate(cells(points), rs, metric={"d": "accuracy"}).iloc[0]
    assert raw["ci_high"] > 1.0 and not raw["ci_clipped"]
    assert held["ci_high"] == 1.0 and held["ci_clipped"] and held["ci_low"] == raw["ci_low"]


def test_a_small_test_row_term_never_narrows_the_seeds_interval():
    rs = SeedResamples(SEEDS, n=50, seed=0, test_draws=TEST_DRAWS)
    values = np.zeros((len(rs.counts), 1))
    values[rs.jackknife, 0] = [0.01, -0.01, 0.02, 0.0, -0.02]
    values[rs.tests, 0] = np.random.default_rng(0).normal(0, 0.008, TEST_DRAWS)   # row term ~ 10% of the seeds'
    values[rs.tests_apart, 0] = 0.0
    plain = values.copy()
    plain[rs.tests, 0] = 0.0
    low, high = rs.interval(values)
    p_low, p_high = rs.interval(plain)
    assert high[0] - low[0] >= p_high[0] - p_low[0]
