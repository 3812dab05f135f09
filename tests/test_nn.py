"""mvd.nn as scikit-learn estimators: API compliance, determinism, early stopping, budgets, bad input."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from mvd.errors import ConfigError
from mvd.nn import (CNNClassifier, EmbeddingBagClassifier, MLPClassifier, MLPRegressor,
                    TransformerClassifier)
from mvd.nn.base import TorchEstimator

# float32 networks: a row's output can move by ~1e-7 with the number of rows
# sharing its matrix multiply, at the 1e-7 tolerance of this one check (the classifier's
# probabilities cross it with torch's portable CPU kernels, which mvd runs: 1.5e-7)
EXPECTED_FAILURES = {
    "check_methods_subset_invariance": "float32 GEMM: ~1e-7 differences between batch sizes",
}


@parametrize_with_checks(
    [MLPClassifier(n_threads=1, random_state=0), MLPRegressor(n_threads=1, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
    xfail_strict=False,
)
@pytest.mark.slow
def test_sklearn_compatible(estimator, check):
    """All of check_estimator for the numeric nets (CNN and text nets: the subset below)."""
    check(estimator)


# --- the CNN and text nets cannot take check_estimator's arbitrary tables: a documented subset --------
def _digits(n=120):
    X, y = load_digits(return_X_y=True)
    return X[:n], np.array(list("abcdefghij"))[y[:n]]  # string labels: classes_ must map back


def _texts(n=80, seed=0):
    """Two classes told apart by their words, with shared filler words."""
    rng = np.random.default_rng(seed)
    words = [["great", "good", "love", "nice"], ["bad", "awful", "hate", "poor"]]
    filler = ["the", "a", "movie", "was", "it", "plot", "!"]
    y = np.arange(n) % 2
    X = np.array([" ".join(rng.choice(words[c] + filler, size=rng.integers(3, 12))) + " " + words[c][i % 4]
                  for i, c in enumerate(y)], dtype=object)
    return X, np.array(["neg", "pos"])[y]


TINY = dict(max_epochs=3, min_steps=0, n_threads=1, random_state=0)
SUBSET = [
    (CNNClassifier(image_shape=(1, 8, 8), widths=(8, 16), **TINY), _digits),
    (EmbeddingBagClassifier(embed_dim=8, **TINY), _texts),
    (TransformerClassifier(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, **TINY), _texts),
    (MLPClassifier(**TINY), _digits),
]
IDS = ["cnn", "embedbag", "transformer", "mlp"]


@pytest.mark.parametrize("est, make", SUBSET, ids=IDS)
def test_api_subset(est, make):
    X, y = make()
    with pytest.raises(NotFittedError):
        est.predict(X)
    fitted = clone(est).fit(X, y)
    twin = clone(fitted)
    assert not hasattr(twin, "module_") and not hasattr(twin, "classes_")  # clone: an unfitted twin
    assert twin.get_params() == est.get_params()
    assert list(fitted.classes_) == sorted(set(y))
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    assert 0.0 <= fitted.score(X, y) <= 1.0
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    assert fitted.set_params(max_epochs=5) is fitted and fitted.max_epochs == 5
    assert fitted.n_params_ == sum(p.numel() for p in fitted.module_.parameters()) > 0
    assert fitted.device_ == "cpu" and fitted.n_epochs_ == 3
    assert est.get_params() == clone(est).get_params()  # fit did not touch the parameters


@pytest.mark.parametrize("est, make", SUBSET, ids=IDS)
def test_same_seed_same_bits_other_seed_other_bits(est, make):
    X, y = make()
    first = clone(est).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clone(est).fit(X, y).predict_proba(X), first)
    other = clone(est).set_params(random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(other, first)


def test_fit_leaves_global_torch_rng_and_threads_alone():
    X, y = _digits()
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(**TINY).fit(X, y)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_fit_uses_the_jobs_thread_limit(monkeypatch):
    seen = []
    train = TorchEstimator._train

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return train(self, *args)

    monkeypatch.setattr(TorchEstimator, "_train", spy)
    X, y = _digits()
    with threadpool_limits(limits=1):
        MLPClassifier(max_epochs=1, min_steps=0, random_state=0).fit(X, y)
    MLPClassifier(max_epochs=1, min_steps=0, random_state=0, n_threads=2).fit(X, y)
    assert seen == [1, 2]


@pytest.mark.slow
def test_early_stopping_restores_the_best_epoch():
    X, y = load_digits(return_X_y=True)
    y = np.random.default_rng(0).permutation(y[:400])  # pure noise: validation loss rises soon
    est = MLPClassifier(max_epochs=200, patience=3, lr=1e-2, **{k: TINY[k] for k in ("n_threads", "random_state")})
    est.fit(StandardScaler().fit_transform(X[:400]), y)
    assert est.stopped_by_ == "early_stopping" and est.n_epochs_ < 200
    assert est.n_epochs_ == est.best_epoch_ + 3
    assert len(est.validation_loss_curve_) == est.n_epochs_
    assert int(np.argmin(est.validation_loss_curve_)) + 1 == est.best_epoch_


@pytest.mark.slow
def test_early_stopping_keeps_the_weights_of_the_best_epoch_not_the_last():
    """The fitted net scores the held-out rows at the best epoch's loss, not the last (worse) epoch's."""
    X, y = load_digits(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:400]), np.random.default_rng(0).permutation(y[:400])
    est = MLPClassifier(max_epochs=200, patience=3, lr=1e-2, n_threads=1, random_state=0).fit(X, y)
    curve = est.validation_loss_curve_
    assert est.stopped_by_ == "early_stopping" and curve[-1] > min(curve) + 1e-3  # the last epoch was worse
    codes = np.searchsorted(est.classes_, y)
    _, val = est._split(codes, seed=0)  # the rows fit held out (random_state=0 seeds the split)
    proba = est.predict_proba(X[val])
    loss = -np.mean(np.log(proba[np.arange(len(val)), codes[val]]))
    assert loss == pytest.approx(min(curve), rel=1e-4)
    assert loss == pytest.approx(curve[est.best_epoch_ - 1], rel=1e-4)


def test_small_subsets_train_without_a_validation_split():
    X, y = _digits(60)  # 10% would be 6 rows: below the minimum, all rows train
    est = MLPClassifier(**TINY).fit(X, y)
    assert est.validation_loss_curve_ == [] and est.stopped_by_ == "max_epochs"


def test_small_subsets_get_epochs_until_min_steps():
    X, y = _digits(120)  # two batches of 60 per epoch: 3 epochs would be 6 steps
    est = MLPClassifier(**dict(TINY, min_steps=20)).fit(X, y)
    assert est.n_epochs_ == 10 and len(est.loss_curve_) == 10


def test_time_limit_stops_after_the_epoch_that_crossed_it():
    X, y = _digits()
    est = MLPClassifier(max_epochs=50, time_limit=1e-9, n_threads=1, random_state=0).fit(X, y)
    assert est.n_epochs_ == 1 and est.stopped_by_ == "time_limit"


def test_regressor_predicts_in_target_units():
    X, _ = load_digits(return_X_y=True)
    y = 1000.0 + 50.0 * X[:300, 20]  # a linear target far from zero mean, unit variance
    est = make_pipeline(StandardScaler(), MLPRegressor(**TINY, lr=1e-2)).fit(X[:300], y)
    assert est.score(X[:300], y) > 0.8


def test_cnn_augmentation_shifts_images_without_flipping():
    from mvd.nn.cnn import translate

    x = torch.zeros(64, 1, 8, 8)
    x[:, 0, 3, 2] = 1.0  # one lit pixel per image
    out = translate(x, 1, torch.Generator().manual_seed(0))
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 8, where % 8
    assert out.sum() == 64  # a 1-pixel shift of a centred pixel never leaves the image
    assert set(rows.tolist()) == {2, 3, 4} and set(cols.tolist()) == {1, 2, 3}


def test_cnn_refuses_rows_that_are_not_its_images():
    X, y = _digits()
    with pytest.raises(ValueError, match="image_shape=\\[1, 7, 7\\] holds 49 pixels"):
        CNNClassifier(image_shape=(1, 7, 7), **TINY).fit(X, y)


def test_text_vocabulary_comes_from_the_training_rows_only():
    X, y = _texts()
    est = EmbeddingBagClassifier(**TINY).fit(X, y)
    assert "zebra" not in est.vectorizer_.vocabulary_
    # unseen words are dropped: a document of them alone predicts like an empty one
    np.testing.assert_array_equal(est.predict_proba(["zebra crossing"]), est.predict_proba([""]))
    # every known term keeps its own id, the first of the vocabulary ("!", index 0) included
    first = min(est.vectorizer_.vocabulary_, key=est.vectorizer_.vocabulary_.get)
    assert first == "!" and est._encode(["!"]).tolist() == [[1]]  # id 0 is padding
    tr = TransformerClassifier(**TINY).fit(X, y)
    first = min(tr.vectorizer_.vocabulary_, key=tr.vectorizer_.vocabulary_.get)
    np.testing.assert_array_equal(tr._encode([f"{first} zebra"]), [[2, 3, 1]])  # CLS, first term, unknown


@pytest.mark.parametrize("params, key", [
    ({"device": "tpu"}, "device='tpu'"),
    ({"lr": -1.0}, "lr=-1.0"),
    ({"max_epochs": 0}, "max_epochs=0"),
    ({"validation_fraction": 1.5}, "validation_fraction=1.5"),
    ({"hidden_layer_sizes": [0]}, "hidden_layer_sizes=[0]"),
])
def test_bad_parameters_are_one_sentence_naming_the_key(params, key):
    with pytest.raises(ConfigError, match="^" + key.replace("[", "\\[").replace("]", "\\]")):
        MLPClassifier(**params).fit(*_digits())


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_refused():
    with pytest.raises(ConfigError, match="device='cuda' needs a CUDA GPU"):
        MLPClassifier(device="cuda").check_params()


def test_device_choice_and_cuda_only_speedups(monkeypatch):
    from mvd.nn import base

    assert base.resolve_device("cpu").type == "cpu"
    assert base._amp_dtype(torch.device("cpu")) is None  # no autocast on CPU
    assert isinstance(base._autocast(torch.device("cpu"), None), type(base.contextlib.nullcontext()))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert base.resolve_device("auto").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert base.resolve_device("auto").type == "cuda"
    with pytest.raises(ConfigError, match="device='cuda:1' does not exist"):
        base.resolve_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    assert base.describe_device(torch.device("cuda")) == "cuda:NVIDIA H100 80GB HBM3"


def test_torch_runs_its_portable_cpu_kernels_under_mvd_unless_the_user_chose():
    """The same seed gives the same point on hosts with different SIMD levels (a committed MLP point refits exactly
    only with the portable kernels)."""
    import subprocess
    import sys

    code = "import mvd, torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "DEFAULT"
    chosen = subprocess.run([sys.executable, "-c", code], env={**env, "ATEN_CPU_CAPABILITY": "avx2"},
                            capture_output=True, text=True, check=True)
    cpuinfo = Path("/proc/cpuinfo")
    host_has_avx2 = cpuinfo.exists() and " avx2" in cpuinfo.read_text()
    assert chosen.stdout.strip() == ("AVX2" if host_has_avx2 else "DEFAULT")  # the user's value wins where it can
