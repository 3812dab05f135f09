"""The torch nets through the engine: tiny curves, recorded cost, leakage, bad input, no stray files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict

from mvd import curve, data, splits
from mvd.errors import ConfigError
from mvd.nn.base import TorchEstimator

REPO = Path(__file__).resolve().parents[1]
FAST = ["curve.seeds=[0]", "threads=1"]


def tiny_text(name="tiny_text", *, task="classification", modality="text", image_shape=None):
    """A tiny two-class text dataset (a dataset ``_target_``: no files, no downloads)."""
    rng = np.random.default_rng(0)
    words = [["free", "win", "prize", "cash", "claim"], ["lunch", "meeting", "home", "later", "ok"]]
    filler = ["you", "the", "now", "to", "call", "today"]
    y = np.arange(200) % 2
    X = np.array([" ".join(rng.choice(words[c] + filler, size=rng.integers(4, 14))) for c in y], dtype=object)
    return data.Dataset(name=name, task="classification", modality="text", X=X, y=y, classes=["ham", "spam"])


def row_ids_nn(name="ids", *, task="classification", modality="tabular", params=None):
    """Column 0 is the row id; 600 rows, 3 classes."""
    n = 600
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    X = np.column_stack([np.arange(n), rng.normal(size=(n, 3)) + y[:, None]])
    return data.Dataset(name=name, task="classification", modality="tabular",
                        X=X.astype(float), y=y, classes=["a", "b", "c"])


@pytest.fixture
def text_source():
    yield ["dataset._target_=tests.test_nn_engine.tiny_text", "dataset.name=tiny_text", "dataset.modality=text",
           "dataset.image_shape=null"]
    data._MEMO.clear()


def _tiny(model: str, epochs: int = 3) -> list:
    return [f"model={model}", f"model.classification.max_epochs={epochs}", "model.classification.min_steps=0"]


def _check_points(frame, n_points: int, chance: float):
    assert len(frame) == n_points
    assert (frame.status == "ok").all(), frame.error.tolist()
    assert (frame.n_params > 0).all() and (frame.device == "cpu").all()
    assert (frame.epochs >= 1).all()
    assert frame.test_accuracy.iloc[-1] > chance


@pytest.mark.slow
def test_tiny_cnn_trains_through_the_engine(make_cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written relative to the working directory lands here
    before = {p.name for p in REPO.iterdir()}
    cfg = make_cfg("dataset=digits", *_tiny("cnn", epochs=15), "model.classification.widths=[8,16]",
                   "curve.sizes=[32,64]", *FAST)
    frame = curve.run_curve(cfg)
    _check_points(frame, 2, chance=0.2)
    assert frame.n_params.iloc[0] == sum(p.numel() for p in _cnn_params(8, 16))
    assert {p.name for p in tmp_path.iterdir()} <= {"results"}
    assert {p.name for p in REPO.iterdir()} <= before  # nothing new in the repository


def _cnn_params(w1, w2):
    from mvd.nn.cnn import _ResNet

    return _ResNet(1, [w1, w2], 10, 0.0, 1.0).parameters()


@pytest.mark.parametrize("model", ["transformer", "embedbag"])
@pytest.mark.slow
def test_tiny_text_nets_train_through_the_engine(make_cfg, text_source, model):
    cfg = make_cfg(*text_source, *_tiny(model, epochs=5), "curve.sizes=[32,64]", *FAST)
    if model == "transformer":
        with open_dict(cfg):
            cfg.model.classification.update(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32)
    _check_points(curve.run_curve(cfg), 2, chance=0.6)


def test_mlp_curves_repeat_to_the_bit(make_cfg, tmp_path):
    def run(where):
        cfg = make_cfg("dataset=digits", *_tiny("mlp", epochs=5), "curve.sizes=[64,128]", *FAST)
        with open_dict(cfg):
            cfg.results_dir = str(tmp_path / where)
        return curve.run_curve(cfg).sort_values("train_size")

    a, b = run("a"), run("b")
    for column in ("test_accuracy", "test_log_loss", "train_score", "n_params", "epochs"):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy())


def test_early_stopping_never_sees_test_rows(make_cfg, monkeypatch):
    """Column 0 is the row id; every validation row must be a fitted row, never a test row."""
    seen = []
    train = TorchEstimator._train

    def spy(self, module, X, y, held, device, seed):
        seen.append((X[:, 0].numpy().astype(int), None if held is None else held[0][:, 0].numpy().astype(int)))
        return train(self, module, X, y, held, device, seed)

    monkeypatch.setattr(TorchEstimator, "_train", spy)
    try:
        cfg = make_cfg("dataset=synthetic", "dataset.name=ids", "dataset._target_=tests.test_nn_engine.row_ids_nn",
                       *_tiny("mlp", epochs=2), "model.scale=false", "curve.sizes=[200,400]", *FAST)
        frame = curve.run_curve(cfg)
        _, test = splits.split(data.load(cfg.dataset).y, seed=0, test_fraction=cfg.curve.test_fraction,
                               task="classification")
    finally:
        data._MEMO.clear()
    assert (frame.status == "ok").all()
    assert len(seen) == 2 and all(val is not None for _, val in seen)  # the split was really used
    for fitted, val in seen:
        assert len(np.intersect1d(val, test)) == 0
        assert len(np.intersect1d(val, fitted)) == 0  # held out from the gradient steps too
    assert len(seen[1][0]) + len(seen[1][1]) == 400


def test_cnn_on_a_table_is_refused_before_any_work(make_cfg, tmp_path):
    cfg = make_cfg("dataset=breast_cancer", "model=cnn")
    with pytest.raises(ConfigError, match="model='cnn' supports modalities \\['image'\\]"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_text_net_on_a_table_is_refused(make_cfg):
    with pytest.raises(ConfigError, match="model='transformer' supports modalities \\['text'\\]"):
        curve.plan(make_cfg("dataset=digits", "model=transformer"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_refused_before_any_work(make_cfg, tmp_path):
    cfg = make_cfg("dataset=digits", "model=mlp", "model.classification.device=cuda")
    with pytest.raises(ConfigError, match="^model.classification.device='cuda' needs a CUDA GPU"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_bad_hyperparameter_is_refused_before_any_work(make_cfg, tmp_path):
    cfg = make_cfg("dataset=digits", "model=cnn", "model.classification.widths=[]")
    with pytest.raises(ConfigError, match="^model.classification.widths=\\[\\] is not allowed"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()
