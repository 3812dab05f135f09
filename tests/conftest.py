"""Shared fixtures: composed configs shrunk to tiny sizes, written into tmp_path; and the
``needs_data`` marker / ``need_data`` fixture for tests that read the real dataset copies."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from mvd.config import CONF_DIR, register

os.environ.setdefault("WANDB_MODE", "disabled")
register()

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """Where the real dataset copies are: ``$MVD_DATA``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("MVD_DATA") or REPO.parent / "shared" / "data")


def file_datasets() -> dict:
    """Named datasets read from files: name -> (folder, file names); MNIST needs its test pair at least."""
    from mvd.sources import geonames, idx, uci

    out = {name: (spec.folder, [f.name for f in spec.files]) for name, spec in uci.DATASETS.items()}
    out["mnist"] = (idx.MNIST.folder, [f.name for f in idx.TEST])
    for name in ("places_country", "places_region", "places_name_country"):  # GeoNames' places
        out[name] = (geonames.FOLDER, [geonames.FILE.name])
    return out


def missing_data(*names: str) -> str:
    """One line naming the files of ``names`` not in :func:`shared_data` (empty when all are there)."""
    root, known = shared_data(), file_datasets()
    absent = list(dict.fromkeys(f"{folder}/{f}" for name in names if name in known
                                for folder, files in [known[name]] for f in files if not (root / folder / f).is_file()))
    if not absent:
        return ""
    return f"needs the real dataset files {', '.join(absent)} in {root} (set MVD_DATA to a folder holding them)"


def study_datasets(study: str) -> list:
    """The file-based datasets a study (and its sub-folder of arms) names."""
    files = [REPO / "experiments" / f"{study}.yaml", *sorted((REPO / "experiments" / study).glob("*.yaml"))]
    text = "\n".join(p.read_text() for p in files if p.is_file())
    return [name for name in file_datasets() if re.search(rf"\b{name}\b", text)]


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_data(*datasets): skip unless the real files of these datasets exist")


def pytest_runtest_setup(item):
    for marker in item.iter_markers("needs_data"):
        reason = missing_data(*marker.args)
        if reason:
            pytest.skip(reason)


@pytest.fixture
def need_data():
    """``need_data(*datasets, study=None)``: skip the test (one line) unless those datasets' files exist."""

    def _need(*names: str, study: str | None = None) -> None:
        reason = missing_data(*names, *(study_datasets(study) if study else []))
        if reason:
            pytest.skip(reason)

    return _need


@pytest.fixture
def make_cfg(tmp_path):
    """``make_cfg(*overrides)``: the real composed config, results under tmp_path."""

    def _make(*overrides: str):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
        with open_dict(cfg):
            cfg.results_dir = str(tmp_path / "results")
            cfg.progress = False
        return cfg

    return _make


@pytest.fixture
def test_set_digests(monkeypatch):
    """SHA-256 of every test set (X, y) the engine scores, listed per job's (quality, cleaning)."""
    from mvd import curve

    seen: dict = {}
    original = curve._fit_and_score

    def spy(p, X_fit, y_fit, X_test, y_test, seed, **extra):
        digest = hashlib.sha256()
        for array in (X_test, y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        seen.setdefault((p.corruption.name, p.cleaning.name), []).append(digest.hexdigest())
        return original(p, X_fit, y_fit, X_test, y_test, seed, **extra)

    monkeypatch.setattr(curve, "_fit_and_score", spy)
    return seen
