"""Cleaning: what each method drops, what it may see, and what it refuses."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import sklearn.model_selection
from omegaconf import OmegaConf

from mvd import cleaning, curve, data, models, splits
from mvd.config import CONF_DIR, ModelConfig
from mvd.data import Dataset
from mvd.errors import ConfigError

METHODS = sorted(p.stem for p in (CONF_DIR / "cleaning").glob("*.yaml"))


def _c(name="none", folds=5, params=None) -> cleaning.Cleaning:
    node = {"_target_": cleaning.BUILTIN[name], "name": name}
    if name == "confident_learning":
        node.update(folds=folds, params=params or {})
    return cleaning.build(node)


def _apply(X, y, bad, method: cleaning.Cleaning, *, model_cfg=None, dataset=None, seed=0):
    """``method.clean`` with a fresh pipeline of ``model_cfg`` when the method fits one (as the job does)."""
    model = models.build(model_cfg, dataset, seed=seed) if method.needs_model else None
    return method.clean(X, y, bad, seed=seed, model=model)


def _run(make_cfg, *overrides):
    frame = curve.run_curve(make_cfg("curve=tiny", *overrides))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return frame.sort_values(["seed", "train_size"]).reset_index(drop=True)


def _rows(X) -> set:
    return {np.ascontiguousarray(r).tobytes() for r in X}


# --- what each method drops ---------------------------------------------------------------


def test_none_keeps_everything_and_reports_recall_zero():
    bad = np.array([True, False, False, True])
    keep, info = _apply(np.zeros((4, 2)), np.zeros(4), bad, _c(), model_cfg=None, dataset=None, seed=0)
    assert keep.all() and info["n_dropped"] == 0
    assert np.isnan(info["clean_precision"]) and info["clean_recall"] == 0.0


def test_oracle_drops_exactly_the_corrupted_rows():
    bad = np.random.default_rng(0).random(50) < 0.3
    keep, info = _apply(np.zeros((50, 2)), np.zeros(50), bad, _c("oracle"), model_cfg=None,
                                dataset=None, seed=0)
    assert np.array_equal(keep, ~bad)
    assert info["clean_precision"] == info["clean_recall"] == 1.0


def test_oracle_on_clean_data_drops_nothing_and_records_nan():
    keep, info = _apply(np.zeros((5, 2)), np.zeros(5), np.zeros(5, bool), _c("oracle"),
                                model_cfg=None, dataset=None, seed=0)
    assert keep.all() and np.isnan(info["clean_precision"]) and np.isnan(info["clean_recall"])


def test_oracle_end_to_end_fits_only_the_clean_rows(make_cfg):
    frame = _run(make_cfg, "quality=label_noise", "quality.rate=0.3", "cleaning=oracle")
    assert (frame["n_corrupted"] > 0).all()
    assert np.array_equal(frame["n_fit"], frame["train_size"] - frame["n_corrupted"])


@pytest.mark.parametrize("X", [
    np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.5], [np.nan, 1.0], [np.nan, 1.0], [1.0, 2.0]]),
    pd.DataFrame({"a": [1.0, 1.0, 1.0, np.nan, np.nan, 1.0], "b": ["x", "x", "y", "z", "z", "x"]}),
    np.array(["a b", "a b", "a c", "d", "d", "a b"], dtype=object),
])
def test_dedup_drops_exact_repeats_of_features_and_label(X):
    y = np.array([0, 0, 0, 1, 0, 1])  # row 5 repeats row 0's features with another label: kept
    keep, _ = _apply(X, y, np.zeros(6, bool), _c("dedup"), model_cfg=None, dataset=None, seed=0)
    assert keep.tolist() == [True, False, True, True, True, True]


def test_dedup_after_duplicates_finds_every_copy(make_cfg):
    frame = _run(make_cfg, "dataset=breast_cancer", "quality=duplicates", "quality.rate=0.4", "cleaning=dedup")
    assert (frame["n_corrupted"] > 0).all()
    assert (frame["clean_precision"] == 1).all() and (frame["clean_recall"] == 1).all()
    assert np.array_equal(frame["n_fit"], frame["train_size"] - frame["n_corrupted"])


def _blobs(n=400, noise=0.2, seed=0):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=1.0, random_state=seed)
    ds = Dataset(name="blobs", task="classification", modality="tabular", X=X, y=y, classes=["0", "1", "2"])
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < noise
    y_noisy = np.where(bad, (y + rng.integers(1, 3, n)) % 3, y)
    return ds, X, y_noisy, bad


def _model(name="logreg"):
    return OmegaConf.merge(OmegaConf.structured(ModelConfig), OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml"))


@pytest.mark.slow
def test_confident_learning_finds_flipped_labels_on_separable_data():
    ds, X, y, bad = _blobs()
    keep, info = _apply(X, y, bad, _c("confident_learning"), model_cfg=_model(), dataset=ds, seed=0)
    assert info["clean_folds"] == 5
    assert info["clean_precision"] > 0.8 and info["clean_recall"] > 0.8


@pytest.mark.slow
def test_confident_learning_is_deterministic_per_seed():
    ds, X, y, bad = _blobs(noise=0.3)
    one = _apply(X, y, bad, _c("confident_learning"), model_cfg=_model("forest"), dataset=ds, seed=4)
    two = _apply(X, y, bad, _c("confident_learning"), model_cfg=_model("forest"), dataset=ds, seed=4)
    assert np.array_equal(one[0], two[0])


@pytest.mark.parametrize(("counts", "folds"), [((30, 30, 3), 3), ((30, 30, 1), 2), ((1, 1, 1), 0), ((40,), 0)])
def test_confident_learning_folds_capped_by_the_smallest_class(counts, folds):
    ds, X, _, _ = _blobs(n=sum(counts))
    y = np.repeat(np.arange(len(counts)), counts)
    keep, info = _apply(X, y, np.zeros(len(y), bool), _c("confident_learning"), model_cfg=_model(),
                                dataset=ds, seed=0)
    assert info["clean_folds"] == folds
    if folds == 0:
        assert keep.all()


def test_confident_learning_passes_params_to_cleanlab():
    ds, X, y, bad = _blobs(noise=0.3)
    full, _ = _apply(X, y, bad, _c("confident_learning"), model_cfg=_model(), dataset=ds, seed=0)
    half, _ = _apply(X, y, bad, _c("confident_learning", params={"frac_noise": 0.5}),
                             model_cfg=_model(), dataset=ds, seed=0)
    assert 0 < (~half).sum() < (~full).sum()


@pytest.mark.slow
def test_confident_learning_never_sees_test_rows_or_labels(make_cfg, monkeypatch):
    calls = []
    original = sklearn.model_selection.cross_val_predict

    def spy(estimator, X, y, **kwargs):
        calls.append((type(estimator[-1]).__name__, np.array(X), np.array(y)))
        return original(estimator, X, y, **kwargs)

    monkeypatch.setattr(sklearn.model_selection, "cross_val_predict", spy)
    cfg = make_cfg("dataset=breast_cancer", "model=forest", "quality=label_noise", "quality.rate=0.2",
                   "cleaning=confident_learning", "curve.sizes=[64,128]", "curve.seeds=[0,1]")
    frame = curve.run_curve(cfg)
    assert (frame["status"] == "ok").all() and (frame["clean_folds"] == 5).all()
    assert len(calls) == 4 and all(name == "RandomForestClassifier" for name, _, _ in calls)
    ds = data.load(cfg.dataset)
    for (_, X, y), seed in zip(calls, [0, 0, 1, 1]):
        pool, test = splits.split(ds.y, seed=seed, test_fraction=0.25, task="classification")
        assert _rows(X) <= _rows(ds.X[pool]) and not _rows(X) & _rows(ds.X[test])
        assert len(X) in (64, 128)
        # the labels it sees are the (noisy) training labels of those rows, re-coded 0..k-1
        assert set(np.unique(y)) <= {0, 1}


@pytest.mark.slow
def test_test_set_is_bit_identical_with_and_without_cleaning(make_cfg, test_set_digests):
    seen = test_set_digests
    for method in METHODS:
        _run(make_cfg, "dataset=breast_cancer", "quality=label_noise", "quality.rate=0.3", f"cleaning={method}",
             "curve.sizes=[32,64]")
    assert len(seen) == len(METHODS)
    assert all(digests == seen[("label_noise", "none")] for digests in seen.values())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["label_noise", "duplicates", "missing", "imbalance"])
@pytest.mark.slow
def test_every_cleaning_runs_end_to_end(make_cfg, method, kind):
    # missing at 0.02 leaves some complete rows of 30 features for the oracle (listwise deletion)
    rate = "quality.rate=0.02" if kind == "missing" else "quality.rate=0.3"
    frame = _run(make_cfg, "dataset=breast_cancer", f"quality={kind}", rate, f"cleaning={method}",
                 "curve.sizes=[32,64]")
    assert (frame["cleaning"] == method).all()
    assert np.array_equal(frame["n_fit"], frame["train_size"] - frame["n_dropped"])
    assert {"clean_precision", "clean_recall"} <= set(frame.columns)


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "match"), [
    (["model=ridge", "cleaning=confident_learning"], "model='ridge' .*has no predict_proba"),
    (["model=svm", "cleaning=confident_learning"], "model='svm' .*has no predict_proba"),
    (["dataset=diabetes", "model=ridge", "cleaning=confident_learning"], "needs a classification task"),
    (["cleaning=confident_learning", "cleaning.folds=1"], "cleaning.folds=1 must be an integer >= 2"),
    (["cleaning=confident_learning", "+cleaning.params.n_jobs=4"], r"cleaning.params has \['n_jobs'\]"),
    (["cleaning=confident_learning", "+cleaning.params.filter_by=magic"], "filter_by='magic' is not known"),
    (["cleaning=dedup", "+cleaning.params.x=1"], r"cleaning.params=\{'x': 1\} is not an option of mvd.cleaning.Dedup"),
    (["quality=feature_noise", "cleaning=oracle"], "cleaning='oracle' with quality='feature_noise'"),
    (["dataset=diabetes", "model=ridge", "quality=label_noise", "cleaning=oracle"],
     "cleaning='oracle' with quality='label_noise'"),
    (["cleaning.name=scrub"], "cleaning.name='scrub' is not the method NoCleaning implements"),
])
@pytest.mark.slow
def test_bad_cleaning_refused_before_any_work(make_cfg, tmp_path, overrides, match):
    with pytest.raises(ConfigError, match=match):
        curve.plan(make_cfg("curve=tiny", *overrides))
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_label_noise_study_is_the_full_grid_and_every_job_plans():
    from hydra import compose, initialize_config_dir

    from mvd.callbacks import sweep_overrides

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        root = compose(config_name="config", overrides=["experiment=label_noise"], return_hydra_config=True)
        jobs = sweep_overrides(root)
        cells = set()
        for overrides in jobs:
            cfg = compose(config_name="config", overrides=overrides)
            assert cfg.study == "label_noise" and cfg.quality.name == "label_noise"
            cells.add((cfg.dataset.name, cfg.model.name, cfg.quality.rate, cfg.cleaning.name))
            if cfg.quality.rate == 0.4:  # every refusal is independent of the rate: plan one rate
                p = curve.plan(cfg)
                assert cfg.quality.mode == "symmetric" and p.seeds == [0, 1, 2] and max(p.sizes) <= 512
    assert cells == {(d, m, r, c) for d in ("digits", "breast_cancer") for m in ("logreg", "forest", "gbm")
                     for r in (0, 0.1, 0.2, 0.4) for c in ("none", "oracle", "confident_learning")}
