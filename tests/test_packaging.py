"""mvd as a package: a built wheel carries conf/ and experiments/ and runs from any directory,
with a user's own model and study from a folder outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mvd import bundle, store

REPO = Path(__file__).resolve().parents[1]

# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

USER_MODEL = """\
name: extra_trees
sophistication: 3
classification:
  _target_: sklearn.ensemble.ExtraTreesClassifier
  n_estimators: 20
"""

USER_STUDY = """\
# @package _global_
study: my_study
curve:
  sizes: [16, 32]
  seeds: [0]
hydra:
  mode: MULTIRUN
  sweeper:
    params:
      dataset: wine
      model: logreg,extra_trees
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this checkout, unpacked into a folder that shadows the editable install."""
    pytest.importorskip("hatchling", reason="hatchling (the build backend) is not installed; pip install hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(out.glob("mvd-*.whl"))
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _mvd(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site), WANDB_MODE="disabled")
    return subprocess.run([sys.executable, "-m", "mvd.cli", *args, "progress=false"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_wheel_ships_every_config_and_study(installed):
    for folder, name in ((bundle.CONF_DIR, "conf"), (bundle.EXPERIMENTS_DIR, "experiments")):
        shipped = {p.relative_to(installed / "mvd" / name) for p in (installed / "mvd" / name).rglob("*.yaml")}
        assert shipped == {p.relative_to(folder) for p in folder.rglob("*.yaml")}
    assert (installed / "mvd" / "report" / "summary.schema.json").is_file()
    env = dict(os.environ, PYTHONPATH=str(installed))
    found = subprocess.run([sys.executable, "-c", "import mvd.bundle as b; print(b.CONF_DIR); print(b.EXPERIMENTS_DIR)"],
                           env=env, cwd=installed, capture_output=True, text=True, check=True).stdout.split()
    assert found == [str(installed / "mvd" / "conf"), str(installed / "mvd" / "experiments")]


def test_the_installed_package_runs_from_any_directory(installed, tmp_path):
    result = _mvd(installed, tmp_path, "dataset=digits", "model=logreg", "curve.sizes=[16,32]", "curve.seeds=[0]", "study=default",
                  f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    points = store.load(tmp_path / "results" / "default")
    assert sorted(points["train_size"]) == [16, 32] and set(points["status"]) == {"ok"}


def test_a_users_own_model_and_study_from_a_folder_outside_the_repository(installed, tmp_path):
    mine = tmp_path / "my_mvd"
    (mine / "model").mkdir(parents=True)
    (mine / "experiment").mkdir()
    (mine / "model" / "extra_trees.yaml").write_text(USER_MODEL)
    (mine / "experiment" / "my_study.yaml").write_text(USER_STUDY)
    result = _mvd(installed, tmp_path, "--config-dir", str(mine), "experiment=my_study",
                  f"results_dir={tmp_path / 'results'}", f"hydra.sweep.dir={tmp_path / 'multi'}", "report.build=false")
    assert result.returncode == 0, result.stderr
    points = store.load(tmp_path / "results" / "my_study")
    assert sorted(points["model"].unique()) == ["extra_trees", "logreg"] and len(points) == 4
