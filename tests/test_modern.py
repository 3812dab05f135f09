"""The modern rungs (the ``modern`` extra): CatBoost, XGBoost, RealMLP, TabM and WordLlama.

Their configs, scikit-learn compliance, offline loading, end-to-end curves, and the
refusal of a rung whose extra is missing.  Tests of a rung skip when its library is not
installed (``pip install 'mvd[modern]'``).
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from mvd import curve, models
from mvd.config import CONF_DIR, ModelConfig
from mvd.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
# rung -> the library its estimators import
RUNGS = {"catboost": "catboost", "xgboost": "xgboost", "realmlp": "pytabkit", "tabm": "pytabkit",
         "wordllama": "wordllama"}


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _need(rung: str):
    return pytest.mark.skipif(not _have(RUNGS[rung]), reason=f"model={rung} needs pip install 'mvd[modern]'")


def _spec(name: str):
    return models.spec(OmegaConf.merge(OmegaConf.structured(ModelConfig),
                                       OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")))


# --- configs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rung", [pytest.param(r, marks=_need(r)) for r in RUNGS])
def test_config_places_the_rung_and_searches_real_parameters(rung):
    spec = _spec(rung)
    assert spec.name == rung and spec.sophistication in (4, 5, 6)
    assert spec.search, "every modern rung is tunable"
    for task in ("classification", "regression"):
        node = getattr(spec, task)
        if node is None:
            continue
        est = models.estimator(spec, task, seed=7)
        params = est.get_params()
        assert set(spec.search) <= set(params), f"{rung}: search keys that are not parameters"
        assert params["random_state"] == 7  # seeded per point like every other rung


def test_modern_is_an_extra_of_mvd_and_in_all():
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {req.split(">")[0].split("=")[0] for req in extras["modern"]}
    assert set(RUNGS.values()) <= names
    assert "modern" in extras["all"][0]


# --- CatBoost and XGBoost: every scikit-learn check ----------------------------------------------------
def _boosters():
    if not (_have("catboost") and _have("xgboost")):
        return []
    from mvd.modern import CatBoostClassifier, CatBoostRegressor, XGBoostClassifier, XGBoostRegressor

    return [CatBoostClassifier(iterations=100, random_state=0), CatBoostRegressor(iterations=100, random_state=0),
            XGBoostClassifier(n_estimators=20, random_state=0), XGBoostRegressor(n_estimators=20, random_state=0)]


@parametrize_with_checks(_boosters())
def test_boosters_are_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.skipif(not (_have("catboost") and _have("xgboost")), reason="needs pip install 'mvd[modern]'")
@pytest.mark.parametrize("name", ["CatBoostClassifier", "XGBoostClassifier"])
def test_boosters_split_categories_natively_and_read_unseen_codes_as_missing(name):
    import mvd.modern

    rng = np.random.default_rng(0)
    code = rng.integers(0, 4, 300).astype(float)  # ordinal codes, as mvd's OrdinalEncoder writes them
    noise = rng.normal(size=300)
    y = np.where(code % 2 == 0, "even", "odd")  # string labels: classes_ maps back
    X = np.column_stack([noise, code])
    est = getattr(mvd.modern, name)(categorical_features=[False, True], random_state=0).fit(X, y)
    assert list(est.classes_) == ["even", "odd"]
    assert (est.predict(X) == y).mean() > 0.95
    unseen = np.array([[0.0, 9.0], [0.0, np.nan]])  # a category unseen in training, and a missing one
    assert est.predict_proba(unseen).shape == (2, 2)
    with pytest.raises(ValueError, match="categorical_features has 1 entries for 2 columns"):
        clone(est).set_params(categorical_features=[True]).fit(X, y)


@pytest.mark.skipif(not _have("xgboost"), reason="needs pip install 'mvd[modern]'")
def test_xgboost_takes_labels_that_are_not_contiguous():
    from mvd.modern import XGBoostClassifier

    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = np.repeat([0, 2, 7, 9], 10)  # a small subset of a 10-class task lacks most classes
    est = XGBoostClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert list(est.classes_) == [0, 2, 7, 9] and set(est.predict(X)) <= {0, 2, 7, 9}
    assert est.n_params_ > 0


# --- RealMLP and TabM: the API subset (pytabkit's own classes are scikit-learn estimators) --------------
def _nets():
    if not _have("pytabkit"):
        return []
    from mvd.modern_nets import RealMLPClassifier, TabMClassifier

    return [pytest.param(RealMLPClassifier(n_epochs=4, random_state=0, device="auto"), id="realmlp"),
            pytest.param(TabMClassifier(n_epochs=4, tabm_k=4, d_block=32, random_state=0, device="auto"), id="tabm")]


@pytest.mark.parametrize("est", _nets())
@pytest.mark.slow
def test_nets_api_subset(est):
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:120], np.array(["benign", "malignant"])[y[:120]]
    with pytest.raises(NotFittedError):
        est.predict(X)
    fitted = clone(est).fit(X, y)
    twin = clone(fitted)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "classes_")
    assert list(fitted.classes_) == ["benign", "malignant"]
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    assert fitted.device_ == "cpu" or fitted.device_.startswith("cuda:")
    assert fitted.n_params_ > 100  # the network's weights, counted
    assert (fitted.predict(X) == y).mean() > 0.7
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(again.predict_proba(X), proba, rtol=1e-5)
    np.testing.assert_allclose(clone(est).fit(X, y).predict_proba(X), proba, rtol=1e-5)  # seeded: reruns equal


@pytest.mark.skipif(not _have("pytabkit"), reason="needs pip install 'mvd[modern]'")
def test_nets_take_mvds_device_and_thread_rules(monkeypatch):
    import torch

    from mvd.modern_nets import RealMLPClassifier, TabMRegressor

    config = RealMLPClassifier(device="auto").get_config()
    assert config["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")
    assert config["n_threads"] == torch.get_num_threads()  # the job's limit, not every physical core
    assert TabMRegressor(device="cpu", n_threads=3).get_config()["n_threads"] == 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device='cuda' needs a CUDA GPU"):
        RealMLPClassifier(device="cuda").get_config()
    with pytest.raises(ConfigError, match="device='tpu' is not allowed; allowed: auto, cpu, cuda"):
        RealMLPClassifier(device="tpu").get_config()


@pytest.mark.skipif(not _have("pytabkit"), reason="needs pip install 'mvd[modern]'")
def test_a_net_on_a_gpu_this_machine_lacks_is_refused_before_any_work(make_cfg, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^model.classification.device='cuda' needs a CUDA GPU"):
        curve.plan(make_cfg("dataset=breast_cancer", "model=tabm", "model.classification.device=cuda"))
    with pytest.raises(ConfigError, match=r"^model.classification.n_threads=0 is not allowed"):
        curve.plan(make_cfg("dataset=breast_cancer", "model=realmlp", "model.classification.n_threads=0"))


# --- WordLlama --------------------------------------------------------------------------------------------
def _texts(n=60, seed=0):
    rng = np.random.default_rng(seed)
    spam = ["win a free prize now", "claim your cash reward", "urgent: call to win money", "free ringtone offer"]
    ham = ["see you at lunch", "are we still on for dinner", "thanks for the lift home", "running late, sorry"]
    y = np.arange(n) % 2
    X = np.array([(spam if c else ham)[rng.integers(4)] + rng.choice(["", " ok", " today", "!"]) for c in y],
                 dtype=object)
    return X, np.array(["ham", "spam"])[y]


@_need("wordllama")
def test_wordllama_loads_from_the_installed_package_without_the_network(monkeypatch):
    from mvd import embeddings

    def refuse(*args, **kwargs):
        raise AssertionError("WordLlama tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    embeddings.load_wordllama.cache_clear()
    Z = embeddings.WordLlamaEmbedding(dim=64).fit_transform(np.array(["free prize", "see you"], dtype=object))
    assert Z.shape == (2, 64) and Z.dtype == np.float32 and np.isfinite(Z).all()
    with pytest.raises(ValueError, match="dim=100 is not allowed; allowed: 64, 128, 256"):
        embeddings.WordLlamaEmbedding(dim=100).fit(["x"])


@_need("wordllama")
def test_wordllama_classifier_api_subset():
    from mvd.embeddings import WordLlamaClassifier

    X, y = _texts()
    est = WordLlamaClassifier(random_state=0)
    with pytest.raises(NotFittedError):
        est.predict(X)
    fitted = clone(est).fit(X, y)
    assert list(fitted.classes_) == ["ham", "spam"] and (fitted.predict(X) == y).all()
    assert fitted.n_params_ == 256 + 1  # only the head is learned: one row of weights and a bias
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    blob = pickle.dumps(fitted)
    assert len(blob) < 100_000  # the 16 MB of embeddings stay out of every pickle
    np.testing.assert_array_equal(pickle.loads(blob).predict_proba(X), proba)
    assert clone(fitted).get_params() == est.get_params()


# --- end to end, through the engine ------------------------------------------------------------------
@pytest.mark.parametrize("rung", [pytest.param(r, marks=_need(r)) for r in ("catboost", "xgboost", "realmlp", "tabm")])
@pytest.mark.slow
def test_tabular_rungs_run_a_tiny_curve(make_cfg, rung):
    frame = curve.run_curve(make_cfg("dataset=breast_cancer", f"model={rung}", "curve=tiny", "threads=1"))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    assert (frame["test_accuracy"] > 0.6).all() and (frame["sophistication"] == _spec(rung).sophistication).all()


@pytest.mark.needs_data("adult")
@pytest.mark.parametrize("rung", [pytest.param(r, marks=_need(r)) for r in ("catboost", "xgboost")])
@pytest.mark.slow
def test_boosters_run_on_adults_categorical_columns(make_cfg, rung):
    frame = curve.run_curve(make_cfg("dataset=adult", f"model={rung}", "curve=tiny", "threads=1"))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()


@pytest.mark.needs_data("sms_spam")
@_need("wordllama")
@pytest.mark.slow
def test_wordllama_runs_a_tiny_curve_on_sms_spam(make_cfg):
    frame = curve.run_curve(make_cfg("dataset=sms_spam", "model=wordllama", "curve=tiny"))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    assert (frame["n_params"] == 257).all() and (frame["test_accuracy"] > 0.8).all()


# --- a missing extra is refused before any job starts -------------------------------------------------------
@pytest.mark.parametrize("rung", ["catboost", "wordllama"])
@pytest.mark.slow
def test_a_rung_without_its_extra_is_refused_in_one_sentence(rung, tmp_path):
    pytest.importorskip("mvd.extras", reason="the plan-time extras check (mvd.extras) is not in this tree yet")
    dataset = "breast_cancer" if rung == "catboost" else "sms_spam"
    if rung == "wordllama" and not (Path(os.environ.get("MVD_DATA", REPO.parent / "shared" / "data"))
                                    / "sms_spam_collection").is_dir():
        pytest.skip("needs the real sms_spam files (set MVD_DATA)")
    hide = f"import runpy, sys; sys.modules[{RUNGS[rung]!r}] = None; sys.argv = ['mvd', *sys.argv[1:]]; " \
           "runpy.run_module('mvd.cli', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", hide, f"dataset={dataset}", f"model={rung}",
                             f"results_dir={tmp_path / 'results'}", "progress=false",
                             f"hydra.run.dir={tmp_path / 'out'}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, WANDB_MODE="disabled"))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "modern" in lines[0] and RUNGS[rung] in lines[0], lines[0]
    assert not (tmp_path / "results").exists()
