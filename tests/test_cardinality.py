"""High cardinality: long-tailed data splits, is scored and runs, with singletons and unseen classes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

from mvd import metrics, splits
from mvd.data import Dataset
from mvd.errors import ConfigError
from mvd.hierarchical import HierarchicalClassifier, parents_of
from mvd.sources import geonames, synthetic
from mvd.sources.top_classes import keep_top

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MVD_DATA") or REPO.parent / "shared" / "data")
PLACES = DATA / geonames.FOLDER / geonames.FILE.name
needs_places = pytest.mark.skipif(not PLACES.is_file(), reason=f"needs the GeoNames places file {PLACES} "
                                  "(set MVD_DATA to a folder holding geonames_places/)")


def _long_tail(n_singletons=5):
    """Three frequent classes and ``n_singletons`` classes of one row each."""
    return np.array([0] * 40 + [1] * 20 + [2] * 10 + list(range(3, 3 + n_singletons)))


# --- splits ----------------------------------------------------------------------------------------


def test_singleton_classes_share_one_stratum_and_the_split_is_seeded_and_stratified():
    y = _long_tail()
    assert set(splits.strata(y)) == {0, 1, 2, -1}
    splits.check_split(y, test_fraction=0.25, task="classification")  # accepted: the old rule refused
    pool, test = splits.split(y, seed=3, test_fraction=0.25, task="classification")
    again = splits.split(y, seed=3, test_fraction=0.25, task="classification")
    assert np.array_equal(pool, again[0]) and np.array_equal(test, again[1])
    assert sorted(np.concatenate([pool, test]).tolist()) == list(range(len(y)))
    # each frequent class is split in proportion (scikit-learn's stratification): 10, 5, 2-3 test rows
    assert np.bincount(y[test], minlength=3)[:3].tolist() in ([10, 5, 2], [10, 5, 3])
    # the singletons: 1 or 2 of the 5 in the test set (their pooled stratum is split 25/75 too)
    assert 1 <= int((y[test] >= 3).sum()) <= 2


def test_data_whose_classes_all_have_two_rows_split_exactly_as_before():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(30), rng.integers(2, 9, 30))
    assert splits.strata(y) is y
    pool, test = splits.split(y, seed=7, test_fraction=0.25, task="classification")
    old_pool, old_test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=7, stratify=y)
    assert np.array_equal(pool, np.sort(old_pool)) and np.array_equal(test, np.sort(old_test))


def test_a_lone_singleton_or_too_many_strata_is_still_refused_in_one_sentence():
    with pytest.raises(ConfigError, match=r"the rarest, '1', has 1"):
        splits.check_split(np.array([0, 0, 0, 0, 1]), test_fraction=0.5, task="classification")
    y = np.array([0, 0, 1, 1, 2, 2, 3, 4])  # 4 strata; a test_fraction of 0.25 gives 2 test rows
    with pytest.raises(ConfigError) as refused:
        splits.check_split(y, test_fraction=0.25, task="classification")
    assert str(refused.value) == (
        "the dataset has 8 rows in 5 classes, 2 of them with a single row (split as one stratum), so the stratified "
        "split has 4 strata and needs at least 4 rows on each side, and curve.test_fraction=0.25 gives 6 to train "
        "on and 2 to test: give more rows, or a test_fraction that leaves 4 on each side.")
    splits.check_split(y, test_fraction=0.5, task="classification")
    splits.split(y, seed=0, test_fraction=0.5, task="classification")  # what the check allows, the splitter does


def test_nested_prefixes_of_a_pool_with_singletons_are_nested_and_hold_every_row_once():
    y = _long_tail(8)
    order = splits.nested_order(y, seed=1, task="classification")
    assert sorted(order.tolist()) == list(range(len(y)))
    assert np.array_equal(order, splits.nested_order(y, seed=1, task="classification"))
    small = y[order[:8]]
    assert set(small) <= {0, 1, 2}  # a singleton enters at about half the pool, not in a small prefix
    assert (y[order[:40]] >= 3).sum() >= 1


# --- metrics ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_top_k_equals_scikit_learn_with_columns_of_the_subsets_classes_widened(ties):
    rng = np.random.default_rng(4)
    n_classes, seen = 12, np.array([0, 2, 3, 5, 6, 8, 9, 11])  # the model saw 8 of the 12 classes
    y = rng.integers(0, n_classes, 300)
    proba = rng.dirichlet(np.ones(len(seen)), 300)
    if ties:
        proba = np.round(proba, 1)
    wide = metrics.full_proba(proba, seen, n_classes)
    for k in (1, 5):
        want = skm.top_k_accuracy_score(y, wide, k=k, labels=np.arange(n_classes))
        assert metrics.top_k_accuracy(y, wide, k, chunk=64) == pytest.approx(want, abs=1e-12)
    # the subset's own columns are not the classes' codes: scored unwidened, the answer would differ
    assert metrics.top_k_accuracy(y, wide, 5) != pytest.approx(
        skm.top_k_accuracy_score(np.searchsorted(seen, y).clip(0, len(seen) - 1), proba, k=5,
                                 labels=np.arange(len(seen))))


def test_head_torso_tail_cut_points_on_a_known_frequency_table():
    # shares 40, 20, 15, 10, 8, 4, 2, 1, 0 %: the classes before each hold 0, 40, 60, 75, 85, 93, 97, 99, 100 %
    counts = np.array([8, 40, 1, 15, 20, 4, 10, 2, 0])  # class codes in no particular order
    group = metrics.frequency_groups(counts)
    by_rank = group[np.argsort(-counts, kind="stable")].tolist()
    assert by_rank == [0, 0, 1, 1, 1, 2, 2, 2, 2]  # head < 50 % before, torso < 90 %, tail the rest
    assert metrics.frequency_groups(np.array([5, 5, 5, 5])).tolist() == [0, 0, 1, 1]  # ties: smaller code first
    assert metrics.GROUP_CUTS == (0.5, 0.9)


def test_long_tail_columns_count_unseen_classes_and_coverage():
    y_test = np.array([0, 0, 1, 1, 2, 3, 3])
    pred = np.array([0, 0, 1, 0, 0, 0, 0])
    train = np.array([0, 0, 0, 1, 1, 2])  # class 3 never seen
    pool_counts = np.array([60, 30, 8, 2])  # head: 0; torso: 1; tail: 2, 3
    out = metrics.long_tail(y_test, pred, None, train_labels=train, pool_counts=pool_counts, n_classes=4)
    assert out["n_test_unseen"] == 2
    assert out["test_head_accuracy"] == 1.0 and out["test_torso_accuracy"] == 0.5
    assert out["test_tail_accuracy"] == 0.0
    assert out["test_class_coverage"] == 0.5  # classes 0 and 1 of the 4 tested
    assert np.isnan(out["test_top5_accuracy"])  # no probabilities
    # macro-F1 and accuracy over all 4 classes, unseen ones included, as scikit-learn
    got = metrics.score("classification", y_test, pred, None, 4)
    assert got["macro_f1"] == pytest.approx(skm.f1_score(y_test, pred, labels=range(4), average="macro",
                                                         zero_division=0))
    assert got["accuracy"] == pytest.approx(3 / 7)


# --- a class absent from a small subset but in the test set, through the engine ----------------------


def test_a_class_absent_from_a_small_subset_is_scored_not_a_crash():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from mvd.curve import fit_and_score

    rng = np.random.default_rng(0)
    y = _long_tail(6)
    X = rng.normal(size=(len(y), 2)) + y[:, None]
    pool, test = splits.split(y, seed=0, test_fraction=0.25, task="classification")
    order = splits.nested_order(y[pool], seed=0, task="classification")
    fit = pool[order[:16]]
    assert set(y[test]) - set(y[fit])  # a class in the test set the subset never saw
    out = fit_and_score(make_pipeline(KNeighborsClassifier(3)), X[fit], y[fit], X[test], y[test], task="classification",
                        n_classes=int(y.max()) + 1, primary="accuracy",
                        pool_counts=np.bincount(y[pool], minlength=int(y.max()) + 1))
    assert out["status"] == "ok", out["error"]
    assert out["n_test_unseen"] == int((~np.isin(y[test], y[fit])).sum()) > 0
    for column in ("test_top5_accuracy", "test_macro_f1", "test_head_accuracy", "test_class_coverage"):
        assert 0 <= out[column] <= 1
    assert "confusion" in out


# --- datasets and the hierarchical rung ------------------------------------------------------------


def test_top_classes_keeps_the_most_frequent_and_recodes_them():
    ds = Dataset(name="d", task="classification", modality="tabular", X=np.arange(10.0)[:, None],
                 y=np.array([2, 2, 2, 0, 0, 1, 3, 3, 3, 3]), classes=["a", "b", "c", "d"])
    kept = keep_top(ds, 2)
    assert kept.classes == ["c", "d"] and kept.y.tolist() == [0, 0, 0, 1, 1, 1, 1] and kept.name == "d_top2"
    assert kept.X[:, 0].tolist() == [0, 1, 2, 6, 7, 8, 9] and kept.rows_dropped == 3
    assert keep_top(ds, None) is ds and keep_top(ds, 9) is ds
    with pytest.raises(ConfigError, match=r"^dataset.params.top_classes=1 must be a whole number of classes >= 2"):
        keep_top(ds, 1)


def test_the_zipf_generator_has_a_long_tail_set_by_its_exponent():
    steep = synthetic.load_zipf(params={"n_samples": 5000, "n_classes": 200, "exponent": 1.2})
    flat = synthetic.load_zipf(params={"n_samples": 5000, "n_classes": 200, "exponent": 0.0})
    top = np.sort(np.bincount(steep.y))[::-1]
    assert top[0] > 10 * np.median(top) and (top == 1).any()
    assert np.bincount(flat.y).max() < 3 * np.median(np.bincount(flat.y))
    again = synthetic.load_zipf(params={"n_samples": 5000, "n_classes": 200, "exponent": 1.2})
    assert np.array_equal(steep.X, again.X) and np.array_equal(steep.y, again.y)
    assert synthetic.load_zipf(params={"n_samples": 5000, "n_classes": 200, "top_classes": 8}).n_classes == 8
    with pytest.raises(ConfigError, match=r"^dataset.params.n_class is not an option"):
        synthetic.load_zipf(params={"n_class": 3})


def test_the_hierarchical_rung_reads_parents_off_the_labels_and_gives_a_distribution():
    codes, names = parents_of(["DE/Bayern", "DE/Berlin", "FR/", "FR/Bretagne", "US"])
    assert codes.tolist() == [0, 0, 1, 1, 2] and names == ["DE", "FR", "US"]
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [0, 3], [10, 0], [10, 3], [20, 20]], dtype=float)
    y = rng.integers(0, 5, 400)
    X = centres[y] + rng.normal(scale=0.5, size=(400, 2))
    model = HierarchicalClassifier(class_names=["DE/Bayern", "DE/Berlin", "FR/", "FR/Bretagne", "US"],
                                   n_estimators=20, random_state=0).fit(X[:300], y[:300])
    proba = model.predict_proba(X[300:])
    assert np.allclose(proba.sum(axis=1), 1) and model.classes_.tolist() == [0, 1, 2, 3, 4]
    assert (model.predict(X[300:]) == y[300:]).mean() > 0.9 and model.n_params_ > 0
    only = np.flatnonzero(y[:300] != 1)  # a subset without "DE/Berlin": its parent has one child left
    sub = HierarchicalClassifier(class_names=model.class_names, n_estimators=5).fit(X[only], y[only])
    assert sub.classes_.tolist() == [0, 2, 3, 4] and sub.predict_proba(X[:5]).shape == (5, 4)


def test_a_rung_over_its_class_budget_is_refused_before_any_work(make_cfg):
    from mvd import models
    from mvd.sources.synthetic import load_zipf

    cfg = make_cfg("model=gbm")
    cfg.model.max_classes = 50
    ds = load_zipf(params={"n_samples": 2000, "n_classes": 100})
    with pytest.raises(ConfigError, match=r"^model='gbm' is skipped on dataset='synthetic_zipf': its cost grows"):
        models.check(cfg.model, ds)
    models.check(cfg.model, keep_top(ds, 50))


@needs_places
def test_the_places_datasets_load_with_their_documented_shapes(monkeypatch, tmp_path):
    monkeypatch.setenv("MVD_DATA", str(DATA))
    monkeypatch.setenv("MVD_CACHE", str(tmp_path / "cache"))
    country = geonames.load("places_country", target="country")
    region = geonames.load("places_region", target="region")
    names = geonames.load("places_name_country", modality="text", target="country", features="name")
    assert (len(country), country.n_classes, region.n_classes, names.n_classes) == (144563, 246, 3789, 246)
    assert (np.bincount(region.y) == 1).sum() == 1088 and "NA" in country.classes  # Namibia, not missing
    assert country.X.shape == (144563, 2) and names.X.dtype == object
    assert geonames.load("places_region", target="region", params={"top_classes": 32}).n_classes == 32


@needs_places
@pytest.mark.slow
def test_mvd_places_country_knn_stores_the_long_tail_columns(tmp_path):
    env = dict(os.environ, MVD_DATA=str(DATA), MVD_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    cmd = [sys.executable, "-m", "mvd.cli", "dataset=places_country", "model=knn", "curve=tiny",
           f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={tmp_path / 'out'}", "progress=false"]
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    points = pd.concat(pd.read_parquet(p) for p in (tmp_path / "results").rglob("*.parquet"))
    assert len(points) == 2 and (points["status"] == "ok").all()
    for column in ("test_top5_accuracy", "test_macro_f1", "test_head_accuracy", "test_torso_accuracy",
                   "test_tail_accuracy", "test_class_coverage", "n_test_unseen"):
        assert points[column].notna().all(), column
    assert (points["n_test_unseen"] > 0).all()  # 16 rows cannot hold 246 countries
    assert "confusion" not in points or points["confusion"].isna().all()  # 246 classes: no 60,516 counts


def test_a_class_budget_is_not_part_of_a_curves_identity(make_cfg):
    from mvd.identity import config_hash, run_id_of

    budgeted = make_cfg("model=svm")
    assert budgeted.model.max_classes == 246
    unbudgeted = make_cfg("model=svm")
    unbudgeted.model.max_classes = None
    assert config_hash(budgeted) == config_hash(unbudgeted) and run_id_of(budgeted) == run_id_of(unbudgeted)


def test_sizes_over_a_rows_times_classes_budget_are_left_out_in_one_sentence(make_cfg):
    from mvd import curve
    from mvd.errors import ConfigError
    from mvd.identity import config_hash, run_id_of

    args = ("dataset=synthetic_zipf", "dataset.params.n_classes=50", "dataset.params.n_samples=2000", "model=forest",
            "curve.sizes=[64,128,256,512]", "curve.seeds=[0]")
    p = curve.plan(make_cfg(*args))
    classes = p.dataset.n_classes
    assert p.sizes == [64, 128, 256, 512] and not any("max_rows_classes" in n for n in p.notes)  # no budget set
    budgeted = make_cfg(*args, f"model.max_rows_classes={256 * classes}")
    p = curve.plan(budgeted)
    assert p.sizes == [64, 128, 256]
    note = next(n for n in p.notes if "max_rows_classes" in n)
    assert note == (f"model='forest' stops at 256 rows on dataset='synthetic_zipf': its cost grows with training rows "
                    f"x classes and its budget model.max_rows_classes={256 * classes:,} is below 512 rows x "
                    f"{classes:,} classes; 1 larger size(s) left out (raise model.max_rows_classes to run them).")
    # the budget decides which sizes run, never a point's numbers: the same curve, the same hashes
    assert (run_id_of(budgeted), config_hash(budgeted)) == (run_id_of(make_cfg(*args)), config_hash(make_cfg(*args)))
    with pytest.raises(ConfigError, match=r"model='forest' is skipped on dataset='synthetic_zipf'.*"
                                          r"model\.max_rows_classes=100 is below 64 rows"):
        curve.plan(make_cfg(*args, "model.max_rows_classes=100"))
