"""Shared fixtures: composed configs shrunk to tiny sizes, written into tmp_path."""

from __future__ import annotations

import os

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
