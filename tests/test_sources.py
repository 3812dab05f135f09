"""Named public datasets from the real local copies (MVD_DATA, default ../shared/data).

Shapes and class counts are the ones documented in each dataset's SOURCE.txt;
official splits are checked against the files they come from.  The last test
runs every named dataset through the ``mvd`` command in a tiny curve.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mvd import data, models
from mvd.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MVD_DATA") or REPO.parent / "shared" / "data")
NAMED = ["adult", "letter", "magic", "optdigits", "spambase", "sms_spam", "mnist"]

pytestmark = pytest.mark.needs_data(*NAMED)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Shared data read-only; caches in tmp_path; no dataset memoised across tests."""
    monkeypatch.setenv("MVD_DATA", str(SHARED))
    monkeypatch.setenv("MVD_CACHE", str(tmp_path / "cache"))
    data._MEMO.clear()
    yield
    data._MEMO.clear()


def _load(make_cfg, name, *overrides):
    return data.load(make_cfg(f"dataset={name}", *overrides).dataset)


# name: (rows, features, classes, class counts or None, official test rows or None)
EXPECTED = {
    "adult": (48842, 14, ["<=50K", ">50K"], None, 16281),
    "letter": (20000, 16, [chr(c) for c in range(65, 91)], None, None),
    "magic": (19020, 10, ["g", "h"], [12332, 6688], None),
    "optdigits": (5620, 64, [str(d) for d in range(10)], None, 1797),
    "spambase": (4601, 57, ["0", "1"], [2788, 1813], None),
    "sms_spam": (5574, None, ["ham", "spam"], [4827, 747], None),
    "mnist": (10000, 784, [str(d) for d in range(10)], None, None),
}


@pytest.mark.parametrize("name", NAMED)
@pytest.mark.slow
def test_named_dataset_shape_classes_and_split(make_cfg, name):
    rows, width, classes, counts, n_test = EXPECTED[name]
    ds = _load(make_cfg, name)
    assert len(ds) == rows and ds.classes == classes
    assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(len(classes)))
    if width is not None:
        assert ds.X.shape == (rows, width)
    if counts is not None:
        assert np.bincount(ds.y).tolist() == counts
    if n_test is None:
        assert ds.test_index is None
    else:  # the official test file's rows, after the training file's
        assert ds.test_index.tolist() == list(range(rows - n_test, rows))


def test_adult_mixed_types_missing_and_official_test(make_cfg):
    ds = _load(make_cfg, "adult")
    assert isinstance(ds.X, pd.DataFrame) and len(ds.categorical) == 8
    assert all(isinstance(ds.X[c].dtype, pd.CategoricalDtype) for c in ds.categorical)
    numeric = [c for c in ds.X.columns if c not in ds.categorical]
    assert numeric == ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    # "?" is missing (never a category), in workclass, occupation and native-country only
    assert "?" not in ds.X["workclass"].cat.categories
    missing = ds.X.isna().sum()
    assert missing[missing > 0].index.tolist() == ["workclass", "occupation", "native-country"]
    assert int(missing["workclass"]) == 2799
    # test labels lose the trailing "." of adult.test; the first test row is the file's first record
    first = ds.X.iloc[ds.test_index[0]]
    assert (first["age"], first["education"], ds.y[ds.test_index[0]]) == (25.0, "11th", 0)
    # the two splits keep their documented class balance (24,720 / 12,435 with income <=50K)
    assert int((ds.y[: ds.test_index[0]] == 0).sum()) == 24720
    assert int((ds.y[ds.test_index] == 0).sum()) == 12435


def test_optdigits_is_an_image_of_counts(make_cfg):
    ds = _load(make_cfg, "optdigits")
    assert ds.image_shape == (1, 8, 8) and ds.value_range == (0.0, 16.0)
    assert ds.X.min() == 0 and ds.X.max() == 16


def test_mnist_with_only_the_test_files_is_the_whole_dataset(make_cfg):
    ds = _load(make_cfg, "mnist")
    assert ds.image_shape == (1, 28, 28) and ds.X.dtype == np.float32 and ds.test_index is None
    assert ds.X.min() == 0 and ds.X.max() == 255
    assert np.bincount(ds.y).tolist()[:3] == [980, 1135, 1032]  # the t10k label counts
    # the engine draws its own stratified split per seed when there is no official one
    cfg = make_cfg("dataset=mnist", "model=dummy", "curve=tiny")
    from mvd import curve

    assert curve.plan(cfg).sizes == [16, 32]


def test_mnist_with_training_files_uses_the_official_split(make_cfg, tmp_path):
    """A root holding all four IDX files gives 60,000 + 10,000 rows (here: a small fake training pair)."""
    import gzip

    from mvd.sources import idx

    root = tmp_path / "root" / "mnist"
    root.mkdir(parents=True)
    for f in idx.TEST:
        (root / f.name).symlink_to(SHARED / "mnist" / f.name)
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    header = lambda magic, *dims: np.array([magic, *dims], dtype=">i4").tobytes()  # noqa: E731
    (root / idx.TRAIN[0].name).write_bytes(gzip.compress(header(2051, 3, 28, 28) + images.tobytes(), mtime=0))
    (root / idx.TRAIN[1].name).write_bytes(gzip.compress(header(2049, 3) + bytes([7, 1, 4]), mtime=0))
    # the fakes fail the published checksums: refused, in one sentence
    with pytest.raises(ConfigError, match=r"train-images-idx3-ubyte.gz has MD5 .* expected f68b3c2d"):
        _load(make_cfg, "mnist", f"dataset.root={tmp_path / 'root'}")
    # with their own checksums pinned, the loader joins train and test with the official split
    from mvd.sources.download import RemoteFile, md5sum

    pinned = tuple(RemoteFile(f.name, f.urls, md5sum(root / f.name)) for f in idx.TRAIN)
    spec = idx.Named(idx.MNIST.folder, pinned + idx.TEST, "classification", "image", idx.MNIST.parse)
    from mvd.sources.uci import load_named

    from mvd.data import Meta

    ds = load_named(Meta("mnist", "classification", "image"), spec, root=str(tmp_path / "root"))
    assert len(ds) == 10003 and ds.test_index.tolist() == list(range(3, 10003))
    assert ds.y[:3].tolist() == [7, 1, 4] and ds.X[1, 0] == (28 * 28) % 256


def test_missing_files_with_download_off_name_the_files_and_write_nothing(make_cfg, tmp_path):
    empty = tmp_path / "empty"
    with pytest.raises(ConfigError, match=r"needs adult.data, adult.test in .*empty/adult, which are missing.*dataset.download=true"):
        _load(make_cfg, "adult", f"dataset.root={empty}")
    assert not empty.exists() and not (tmp_path / "cache").exists()


def test_named_config_must_match_its_task_and_modality(make_cfg):
    with pytest.raises(ConfigError, match=r"dataset 'sms_spam' is a classification dataset of modality 'text'"):
        _load(make_cfg, "sms_spam", "dataset.modality=tabular")
    with pytest.raises(ConfigError, match=r"dataset.name='nope' is not a named UCI dataset; allowed: adult"):
        _load(make_cfg, "adult", "dataset.name=nope")


@pytest.mark.parametrize("model", ["dummy", "logreg", "nb", "knn", "tree", "forest", "svm", "gbm"])
@pytest.mark.slow
def test_adult_runs_through_every_tabular_model(make_cfg, model):
    """Categoricals encoded and missing values imputed inside the pipeline, for every rung."""
    ds = _load(make_cfg, "adult")
    fast = ["+model.classification.max_iter=20"] if model == "gbm" else []
    cfg = make_cfg("dataset=adult", f"model={model}", *fast)
    pipe = models.build(cfg.model, ds, seed=0)
    train = np.flatnonzero(ds.X["workclass"].isna().to_numpy())[:40]  # rows with missing values
    train = np.concatenate([train, np.arange(200)])
    pipe.fit(ds.X.iloc[train], ds.y[train])
    assert pipe.score(ds.X.iloc[ds.test_index[:300]], ds.y[ds.test_index[:300]]) > 0.6


@pytest.mark.parametrize("model", ["dummy", "logreg", "nb"])
@pytest.mark.slow
def test_text_runs_through_tfidf_models(make_cfg, model):
    ds = _load(make_cfg, "sms_spam")
    pipe = models.build(make_cfg("dataset=sms_spam", f"model={model}").model, ds, seed=0)
    pipe.fit(ds.X[:1000], ds.y[:1000])
    assert pipe.score(ds.X[4000:], ds.y[4000:]) >= 0.86
    if model == "nb":
        assert type(pipe[-1]).__name__ == "MultinomialNB"


@pytest.mark.slow
def test_every_named_dataset_runs_a_tiny_curve_through_mvd(tmp_path):
    env = dict(os.environ, MVD_DATA=str(SHARED), MVD_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    cmd = [
        sys.executable, "-m", "mvd.cli", "-m", f"dataset={','.join(NAMED)}", "model=logreg", "curve=tiny",
        "study=named", f"results_dir={tmp_path / 'results'}", f"hydra.sweep.dir={tmp_path / 'multirun'}",
        "progress=false", "report.build=false",
    ]
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    from mvd import store

    points = store.load(tmp_path / "results" / "named")
    assert sorted(points["dataset"].unique()) == sorted(NAMED)
    assert (points["status"] == "ok").all() and len(points) == 2 * len(NAMED)


@pytest.mark.parametrize("study, n_jobs", [("tabular", 45), ("text_image", 12)])
@pytest.mark.slow
def test_studies_pair_every_dataset_with_models_that_fit_it(study, n_jobs):
    """Every job of the study plans (data loads, model fits the modality) with capped curves."""
    from hydra import compose, initialize_config_dir

    from mvd import curve
    from mvd.callbacks import sweep_overrides
    from mvd.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        root = compose(config_name="config", overrides=[f"experiment={study}"], return_hydra_config=True)
        jobs = sweep_overrides(root)
        assert len(jobs) == n_jobs
        pairs = set()
        for overrides in jobs:
            cfg = compose(config_name="config", overrides=overrides)
            p = curve.plan(cfg)
            assert cfg.study == study and max(p.sizes) == 1024
            pairs.add((cfg.dataset.name, cfg.model.name))
    assert len(pairs) == n_jobs
