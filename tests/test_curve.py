"""The curve engine end to end: leakage, nesting, exact scores, reproducibility, resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import open_dict
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mvd import curve, data, models, splits, store
from mvd.config import ModelConfig
from tests.score_is_size import expected_accuracy



def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return store.without_volatile(frame).sort_values(["seed", "train_size"]).reset_index(drop=True)


class Recorder(ClassifierMixin, BaseEstimator):
    """Remembers the rows it was fitted on and asked about (column 0 is a row id)."""

    seen: list = []

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        Recorder.seen.append(("fit", np.asarray(X)[:, 0].astype(int).copy()))
        return self

    def predict(self, X):
        Recorder.seen.append(("predict", np.asarray(X)[:, 0].astype(int).copy()))
        return np.full(len(X), self.classes_[0])


def row_ids(name="row_ids", *, task="classification", modality="tabular", image_shape=None):
    """A dataset whose first feature is the row id, 3 unbalanced classes."""
    n = 300
    y = np.repeat([0, 1, 2], [150, 100, 50])
    X = np.column_stack([np.arange(n), np.random.default_rng(0).normal(size=n)])
    return data.Dataset(name=name, task="classification", modality="tabular",
                        X=X.astype(float), y=y, classes=["a", "b", "c"])


@pytest.fixture
def id_dataset():
    """Overrides that make the job's dataset :func:`row_ids` (a loader of the test's own)."""
    yield ["dataset._target_=tests.test_curve.row_ids", "dataset.name=row_ids"]
    data._MEMO.clear()


def _mock_model(cfg, target: str):
    cfg.model = ModelConfig(name="mock", sophistication=1, modalities=["tabular"],
                            classification={"_target_": target})


def test_subsets_are_nested_stratified_and_never_touch_test_rows(make_cfg, id_dataset):
    cfg = make_cfg(*id_dataset, "curve.sizes=[12,30,60,120]", "curve.seeds=[0,1]")
    _mock_model(cfg, "tests.test_curve.Recorder")
    Recorder.seen = []
    curve.run_curve(cfg)
    y = np.repeat([0, 1, 2], [150, 100, 50])
    fits = [rows for kind, rows in Recorder.seen if kind == "fit"]
    tests_seen = [rows for kind, rows in Recorder.seen if kind == "predict"]
    for seed in (0, 1):
        _, test = splits.split(y, seed=seed, test_fraction=0.25, task="classification")
        seed_fits = fits[seed * 4:(seed + 1) * 4]
        for small, large in zip(seed_fits, seed_fits[1:]):
            assert np.array_equal(large[: len(small)], small)  # nested prefixes
        for rows in seed_fits:
            assert not set(rows) & set(test)  # no leakage
            assert len(set(rows)) == len(rows)  # no replacement
            shares = np.bincount(y[rows], minlength=3) / len(rows)
            assert np.allclose(shares, [0.5, 1 / 3, 1 / 6], atol=1.5 / len(rows))
    # every prediction on the test rows is on exactly the seed's test rows
    test_calls = [rows for rows in tests_seen if len(rows) == 75]
    assert len(test_calls) == 8
    for i, rows in enumerate(test_calls):
        _, test = splits.split(y, seed=i // 4, test_fraction=0.25, task="classification")
        assert np.array_equal(np.sort(rows), test)


def test_score_is_size_estimator_is_exact_through_the_pipeline(make_cfg):
    cfg = make_cfg("dataset._target_=tests.score_is_size.score_is_size_dataset", "dataset.name=score_is_size",
                   "~dataset.image_shape", "curve.seeds=[0,3]")
    _mock_model(cfg, "tests.score_is_size.ScoreIsSizeEstimator")
    frame = curve.run_curve(cfg)
    ds = data.load(cfg.dataset)
    assert (frame["status"] == "ok").all()
    assert frame["train_size"].max() == 600  # pool = 75% of 800
    for row in frame.itertuples():
        _, test = splits.split(ds.y, seed=row.seed, test_fraction=0.25, task="classification")
        assert row.test_accuracy == expected_accuracy(ds.X[test, 1], row.train_size)
        assert row.n_fit == row.train_size


@pytest.mark.slow
def test_same_seed_gives_identical_numbers(make_cfg, tmp_path):
    cfg = make_cfg("dataset=breast_cancer", "model=forest", "curve.sizes=[20,60]", "curve.seeds=[0,1]")
    first = curve.run_curve(cfg)
    with open_dict(cfg):
        cfg.results_dir = str(tmp_path / "again")
    second = curve.run_curve(cfg)
    pd.testing.assert_frame_equal(_numbers(first), _numbers(second))
    assert first["test_accuracy"].nunique() > 1


def test_resume_after_a_kill_loses_and_duplicates_nothing(make_cfg, tmp_path):
    cfg = make_cfg("dataset=wine", "model=logreg", "curve.sizes=[16,32,64]", "curve.seeds=[0,1]")
    count = {"n": 0}

    def die_after_four(point, skipped):
        count["n"] += 1
        if count["n"] == 4:
            raise KeyboardInterrupt  # as if the job were killed here

    with pytest.raises(KeyboardInterrupt):
        curve.run_curve(cfg, on_point=die_after_four)
    stored = store.load(tmp_path / "results" / "default")
    assert len(stored) == 4
    skipped = []
    resumed = curve.run_curve(cfg, on_point=lambda p, s: skipped.append(s))
    assert skipped == [True] * 4 + [False] * 2
    with open_dict(cfg):
        cfg.results_dir = str(tmp_path / "uninterrupted")
    whole = curve.run_curve(cfg)
    pd.testing.assert_frame_equal(_numbers(resumed), _numbers(whole))
    assert len(store.load(tmp_path / "results" / "default")) == 6


def test_failed_fit_is_stored_and_the_curve_goes_on(make_cfg):
    # 16 rows of wine cannot feed 20 neighbours: that point fails, larger ones succeed
    cfg = make_cfg("dataset=wine", "model=knn", "+model.classification.n_neighbors=20",
                   "curve.sizes=[16,64]", "curve.seeds=[0]")
    frame = curve.run_curve(cfg)
    assert frame["status"].tolist() == ["failed", "ok"]
    assert "n_neighbors" in frame["error"].iloc[0] or "n_samples" in frame["error"].iloc[0]
    assert np.isnan(frame["test_accuracy"].iloc[0]) and frame["test_accuracy"].iloc[1] > 0.5


def test_agrees_with_sklearn_learning_curve(make_cfg):
    cfg = make_cfg("dataset=digits", "model=logreg", "curve.sizes=[32,128,512]", "curve.seeds=[2]")
    frame = curve.run_curve(cfg)
    ds = data.load(cfg.dataset)
    pool, test = splits.split(ds.y, seed=2, test_fraction=0.25, task="classification")
    order = splits.nested_order(ds.y[pool], seed=2, task="classification")
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=2))
    sizes, _, scores = learning_curve(est, ds.X, ds.y, train_sizes=[32, 128, 512],
                                      cv=[(pool[order], test)], shuffle=False)
    assert sizes.tolist() == frame["train_size"].tolist()
    np.testing.assert_allclose(frame["test_accuracy"].to_numpy(), scores[:, 0], rtol=0, atol=1e-12)


def test_scaler_is_fitted_on_the_training_subset_only(make_cfg, monkeypatch):
    built = []
    real_build = models.build

    def spy(*args, **kwargs):
        pipe = real_build(*args, **kwargs)
        built.append(pipe)
        return pipe

    monkeypatch.setattr(models, "build", spy)
    cfg = make_cfg("dataset=wine", "model=logreg", "curve.sizes=[20]", "curve.seeds=[1]")
    curve.run_curve(cfg)
    ds = data.load(cfg.dataset)
    pool, _ = splits.split(ds.y, seed=1, test_fraction=0.25, task="classification")
    rows = pool[splits.nested_order(ds.y[pool], seed=1, task="classification")[:20]]
    np.testing.assert_allclose(built[0][0].mean_, ds.X[rows].mean(axis=0))


def test_regression_curve_records_regression_metrics(make_cfg):
    frame = curve.run_curve(make_cfg("dataset=diabetes", "model=ridge", "curve.sizes=[32,128]", "curve.seeds=[0]"))
    assert frame["primary_metric"].eq("rmse").all()
    assert (frame["test_rmse"] > 0).all() and frame["test_accuracy"].isna().all()
    assert frame["test_r2"].iloc[1] > frame["test_r2"].iloc[0]


def test_points_carry_the_contract_columns(make_cfg, tmp_path):
    cfg = make_cfg("dataset=iris", "model=tree", "curve.sizes=[16]", "curve.seeds=[0]", "study=contract")
    curve.run_curve(cfg)
    frame = store.load(tmp_path / "results" / "contract")
    assert list(frame.columns[: len(store.COLUMNS)]) == store.COLUMNS
    row = frame.iloc[0]
    assert row["study"] == "contract" and row["model"] == "tree" and row["sophistication"] == 2
    assert row["quality"] == "clean" and row["quality_rate"] == 0 and row["cleaning"] == "none"
    assert row["status"] == "ok" and row["n_params"] > 0 and row["device"] == "cpu"
    assert row["run_id"].startswith("iris-tree-clean0-none-")
    assert (tmp_path / "results" / "contract" / "configs" / f"{row['run_id']}.yaml").exists()


def test_a_plan_holds_plain_values_and_runs_without_the_config(make_cfg):
    """The config is unpacked in ``plan``: no field of the plan is a config node, ``run_curve`` needs only
    the plan, and the config saved beside the points is the job's resolved config."""
    import dataclasses

    from omegaconf import OmegaConf

    from mvd import console

    cfg = make_cfg("dataset=iris", "model=tree", "curve.sizes=[16]", "curve.seeds=[0]")
    p = curve.plan(cfg)
    assert not [f.name for f in dataclasses.fields(p) if OmegaConf.is_config(getattr(p, f.name))]
    assert p.label == console.label(cfg) and p.model.name == "tree"
    frame = curve.run_curve(prepared=p)
    assert (frame["status"] == "ok").all() and len(frame) == 1
    saved = (p.study_dir / "configs" / f"{p.run_id}.yaml").read_text()
    assert saved == OmegaConf.to_yaml(cfg, resolve=True)
