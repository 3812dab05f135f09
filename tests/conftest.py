"""Shared fixtures: composed configs shrunk to tiny sizes, written into tmp_path."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from mvd.config import CONF_DIR, register

os.environ.setdefault("WANDB_MODE", "disabled")
register()


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
