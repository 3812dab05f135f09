"""Curve identity (run_id, config_hash) across config shapes, and how parts are built from config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mvd import cleaning, data, identity, loggers, parts, quality
from mvd.config import Config
from mvd.errors import ConfigError

RESULTS = Path(__file__).resolve().parents[1] / "results"
SAVED = sorted(RESULTS.glob("*/configs/*.yaml"))


def _saved(path: Path):
    """A config saved by an older mvd, read as today's schema reads it (as mvd.reproduce does)."""
    return OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(path))


@pytest.mark.slow
@pytest.mark.skipif(not SAVED, reason="no committed results/*/configs in this checkout")
def test_committed_curves_keep_their_run_id_and_config_hash():
    for path in SAVED:
        cfg = _saved(path)
        points = pd.read_parquet(path.parents[1] / "points" / f"{path.stem}.parquet")
        assert identity.run_id_of(cfg) == path.stem
        assert set(points["run_id"]) == {path.stem}  # the id its points carry
        assert identity.config_hash(cfg) == points["config_hash"].iloc[0]  # the job that saved the config


def test_a_fresh_config_has_the_id_its_committed_curve_has(make_cfg):
    path = RESULTS / "quickstart" / "configs" / "digits-logreg-clean0-none-59cab205f0.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    cfg = make_cfg("experiment=quickstart", "dataset=digits", "model=logreg")
    assert identity.run_id_of(cfg) == path.stem
    assert identity.config_hash(cfg) == identity.config_hash(_saved(path))
    # quality.rate=0 (an int on the command line) is the 0.0 the typed schema stored
    noisy = make_cfg("experiment=label_noise", "dataset=digits", "model=logreg", "quality.rate=0")
    assert identity.run_id_of(noisy).startswith("digits-logreg-label_noise0-none-5aecbe7909")


def test_an_unset_new_option_leaves_the_ids_and_a_set_one_changes_them(make_cfg):
    cfg = OmegaConf.create(OmegaConf.to_container(make_cfg("dataset=iris"), resolve=True))  # untyped: room for new keys
    before = identity.run_id_of(cfg), identity.config_hash(cfg)
    cfg.curve.some_new_option = None
    cfg.quality.other_new_option = []
    cfg.model.another_one = {}
    assert (identity.run_id_of(cfg), identity.config_hash(cfg)) == before
    cfg.curve.some_new_option = 3
    assert identity.config_hash(cfg) != before[1] and identity.run_id_of(cfg) != before[0]
    # the label is the head of the id; a different dataset option is a different curve
    other = make_cfg("dataset=iris", "+dataset.image_shape=[1,2,2]")
    assert identity.run_id_of(other).startswith("iris-logreg-clean0-none-") and identity.run_id_of(other) != before[0]


_FLAT = {"name": "wine", "source": "sklearn", "task": "classification", "modality": "tabular",
         "image_shape": None, "params": {}, "root": None, "download": False, "path": None,
         "test_path": None, "target": None, "columns": {}, "categorical": None, "numeric": None,
         "train_split": None, "test_split": None, "openml_id": None, "official_split": True, "cache": True}


def test_an_old_flat_dataset_record_is_refused_in_one_sentence_before_any_work(make_cfg, tmp_path):
    from mvd import curve

    with pytest.raises(ConfigError, match=r"^dataset.source='sklearn' is the flat dataset record of configs saved "
                                          r"before datasets were _target_ nodes, .*; write the dataset as a "
                                          r"_target_ node \(dataset._target_=mvd.sources.bundled.load and its "
                                          r"options, as conf/dataset/\*.yaml do\)\.$"):
        data.load(_FLAT)
    cfg = make_cfg("dataset=wine")
    cfg.dataset = _FLAT
    with pytest.raises(ConfigError, match=r"^dataset.source='sklearn' is the flat dataset record"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_the_identity_view_keeps_the_old_flat_layout():
    """Ids are computed from the flat layout: a _target_ node maps back to it (the report reads saved configs,
    a flat one too, through the same view)."""
    assert identity.canonical(OmegaConf.create({"dataset": _FLAT, "model": {}, "quality": {"name": "clean"},
                                                "cleaning": {"name": "none"}, "curve": {}}))["dataset"] == _FLAT
    wine = {"_target_": "mvd.sources.bundled.load", "name": "wine", "task": "classification", "modality": "tabular"}
    assert identity._dataset_view(wine) == _FLAT
    # options that moved out of params go back to their old place in the view
    node = {"_target_": "mvd.sources.openml.load", "name": "higgs", "openml_id": None, "openml_name": "higgs",
            "openml_version": "active", "target": "class"}
    assert identity._dataset_view(node)["params"] == {"name": "higgs"}


def test_old_quality_cleaning_and_logger_nodes_are_refused_naming_the_target_to_add():
    with pytest.raises(ConfigError, match=r"^quality='label_noise' has no _target_ \(the layout of configs saved "
                                          r"before parts were _target_ nodes, which mvd no longer reads\); add "
                                          r"quality._target_=mvd.quality.LabelNoise\.$"):
        quality.build({"name": "label_noise", "rate": 0.2, "mode": "pairwise"})
    with pytest.raises(ConfigError, match=r"add cleaning._target_=mvd.cleaning.ConfidentLearning\.$"):
        cleaning.build({"name": "confident_learning", "folds": 3, "params": {}})
    with pytest.raises(ConfigError, match=r"add logger._target_=mvd.loggers.NullLogger\.$"):
        loggers.build({"name": "none", "project": "mvd", "mode": "offline"})
    # the same nodes with their target build as before
    assert quality.build({"_target_": "mvd.quality.LabelNoise", "name": "label_noise", "rate": 0.2,
                          "mode": "pairwise"}) == quality.LabelNoise(rate=0.2, mode="pairwise")


@pytest.mark.parametrize(("node", "match"), [
    ({"_target_": "mvd.sources.uci.load", "name": "adult", "rooot": "/x"},
     r"dataset.rooot='/x' is not an option of mvd.sources.uci.load; allowed: name, task, modality, image_shape, "
     r"root, download, cache\."),
    ({"_target_": "mvd.sources.nowhere.load", "name": "x"}, r"dataset._target_='mvd.sources.nowhere.load' cannot be"),
    ({"_target_": "", "name": "x"}, r"dataset has no _target_"),
    ({"_target_": "mvd.quality.Clean", "name": "clean"}, r"built a Clean, not a mvd.data.Dataset"),
])
def test_a_part_that_cannot_be_built_is_one_sentence(node, match):
    with pytest.raises(ConfigError, match=match):
        data.load(node) if "mvd.quality" not in str(node.get("_target_")) else parts.build(
            node, key="dataset", kind=data.Dataset)


def test_a_bad_dataset_option_is_refused_before_any_work(make_cfg, tmp_path):
    from mvd import curve

    cfg = make_cfg("dataset=iris", "+dataset.n_rows=10")
    with pytest.raises(ConfigError, match=r"dataset.n_rows=10 is not an option of mvd.sources.bundled.load"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def _csv(path: Path, flip: bool = False, rows: int = 60) -> Path:
    frame = pd.DataFrame({"x": np.arange(rows) % 7, "label": ["yes", "no"] * (rows // 2)})
    if flip:
        frame["label"] = frame["label"].map({"yes": "no", "no": "yes"})
    frame.to_csv(path, index=False)
    return path


def test_a_user_files_content_is_part_of_its_curves_identity(make_cfg, tmp_path):
    path = _csv(tmp_path / "churn.csv")
    args = ("dataset=file", f"dataset.path={path}", "dataset.target=label")
    before = make_cfg(*args)
    first = identity.run_id_of(before), identity.config_hash(before)
    assert first[0].startswith("churn-logreg-clean0-none-")  # named after the file
    assert identity.run_id_of(make_cfg(*args)) == first[0]  # the same file: the same curve
    _csv(path, flip=True, rows=40)
    after = make_cfg(*args)
    assert identity.run_id_of(after) != first[0] and identity.config_hash(after) != first[1]
    # a file node without a content key (a dataset YAML of one's own) gets it computed: the same ids
    bare = OmegaConf.create(OmegaConf.to_container(after, resolve=True))
    del bare.dataset["content"]
    assert (identity.run_id_of(bare), identity.config_hash(bare)) == (
        identity.run_id_of(after), identity.config_hash(after))
    assert "content" not in identity.canonical(bare, content=False)["dataset"]
    # dataset.name names the curves whatever the file
    assert identity.run_id_of(make_cfg(*args, "dataset.name=mine")).startswith("mine-logreg-")


def test_a_saved_config_whose_file_changed_is_refused_in_one_sentence(make_cfg, tmp_path):
    path = _csv(tmp_path / "churn.csv")
    saved = OmegaConf.to_container(make_cfg("dataset=file", f"dataset.path={path}", "dataset.target=label"),
                                   resolve=True)
    assert data.load(saved["dataset"]).name == "churn"
    _csv(path, flip=True)
    data._MEMO.clear()  # a new process, as when the config is read back to refit it
    with pytest.raises(ConfigError, match=r"^dataset.content='[0-9a-f]{16}' is not the fingerprint of "
                                          r"dataset.path='.*churn.csv' any more: the file changed"):
        data.load(saved["dataset"])


def test_the_dataset_name_of_a_file_tells_two_files_apart():
    from mvd.naming import dataset_name

    assert dataset_name("file", "data/churn.csv") == "churn"
    assert dataset_name("file", "/x/train.csv.gz") == "train"
    assert dataset_name("file", "my data-v2.parquet") == "my_data_v2"
    assert dataset_name("mine", "data/churn.csv") == "mine" and dataset_name("file", None) == "file"
