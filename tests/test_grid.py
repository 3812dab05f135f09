"""A sweep's jobs: one grid as Hydra's basic sweeper crosses it, and the union of several (hydra/sweeper=grids)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mvd import store
from mvd.grid import GridError, expand, union

REPO = Path(__file__).resolve().parents[1]


def test_one_grid_is_crossed_in_the_basic_sweepers_order():
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    arguments = ["model=dummy,logreg", "dataset=iris", "curve.seeds=[0,1]", "quality.rate=range(0,3)", "model=tree,nb"]
    basic = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(arguments), None)[0]
    assert expand(arguments) == basic
    assert expand(arguments)[:2] == [["model=tree", "dataset=iris", "curve.seeds=[0,1]", "quality.rate=0"],
                                     ["model=tree", "dataset=iris", "curve.seeds=[0,1]", "quality.rate=1"]]


def test_a_sweep_that_is_not_a_list_is_named():
    with pytest.raises(GridError, match=r"^curve.test_fraction: a grid expands lists"):
        expand(["curve.test_fraction=interval(0.1,0.3)"])


def test_the_union_runs_each_grid_with_the_shared_axes_and_the_command_line_once_per_job():
    grids = {"clean": {"quality": "clean"},
             "noisy": {"quality": "label_noise", "quality.rate": "0.2", "cleaning": "none,confident_learning"}}
    jobs = union(grids, {"model": "logreg,forest", "cleaning": "none"}, ["dataset=iris"])
    assert jobs == [
        ["model=logreg", "cleaning=none", "quality=clean", "dataset=iris"],
        ["model=forest", "cleaning=none", "quality=clean", "dataset=iris"],
        ["model=logreg", "cleaning=none", "quality=label_noise", "quality.rate=0.2", "dataset=iris"],
        ["model=logreg", "cleaning=confident_learning", "quality=label_noise", "quality.rate=0.2", "dataset=iris"],
        ["model=forest", "cleaning=none", "quality=label_noise", "quality.rate=0.2", "dataset=iris"],
        ["model=forest", "cleaning=confident_learning", "quality=label_noise", "quality.rate=0.2", "dataset=iris"],
    ]
    # the command line replaces a grid's value in every grid
    assert union(grids, {"model": "logreg"}, ["quality=clean", "cleaning=none"]) == [
        ["model=logreg", "quality=clean", "cleaning=none"],
        ["model=logreg", "quality=clean", "quality.rate=0.2", "cleaning=none"],
    ]
    # a job two grids share runs once, where the first grid puts it
    assert union({"a": {"model": "logreg,tree"}, "b": {"model": "tree,forest"}}, {"dataset": "iris"}) == [
        ["dataset=iris", "model=logreg"], ["dataset=iris", "model=tree"], ["dataset=iris", "model=forest"]]
    assert union({}, {"model": "logreg,tree"}) == expand(["model=logreg,tree"])


def test_glob_lists_a_config_groups_options_through_the_config_loader():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import mvd.cli  # noqa: F401  (registers the config schemas)
    from mvd.config import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        assert expand(["dataset=glob(b*)"], loader) == [["dataset=breast_cancer"]]
        assert union({"tables": {"dataset": "glob(w*)"}}, {"model": "logreg"}, config_loader=loader) == [
            ["model=logreg", "dataset=wine"]]
        assert union({}, {"dataset": "glob(i*)"}, config_loader=loader) == [["dataset=imdb"], ["dataset=iris"]]


STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: grids
study: two_ladders
hydra:
  mode: MULTIRUN
  sweeper:
    grids:
      tabular: {dataset: iris, model: "dummy,tree"}
      regression: {dataset: diabetes, model: ridge}
    params:
      curve.sizes: "[16,24]"
"""


def _mvd(tmp_path, *args):
    mine = tmp_path / "mine"
    (mine / "experiment").mkdir(parents=True, exist_ok=True)
    (mine / "experiment" / "two_ladders.yaml").write_text(STUDY)
    env = dict(os.environ, WANDB_MODE="disabled")
    return subprocess.run([sys.executable, "-m", "mvd.cli", "--config-dir", str(mine), "experiment=two_ladders",
                           *args, "curve.seeds=[0]", f"results_dir={tmp_path / 'results'}",
                           f"hydra.sweep.dir={tmp_path / 'multi'}", "progress=false", "report.build=false"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_a_study_of_two_grids_runs_their_union_through_mvd(tmp_path):
    result = _mvd(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    points = store.load(tmp_path / "results" / "two_ladders")
    assert sorted(set(zip(points["dataset"], points["model"]))) == [("diabetes", "ridge"), ("iris", "dummy"),
                                                                   ("iris", "tree")]
    assert len(points) == 6 and (points["status"] == "ok").all()


@pytest.mark.slow
def test_a_bad_job_in_any_grid_stops_the_study_before_any_work(tmp_path):
    result = _mvd(tmp_path, "hydra.sweeper.grids.regression.model=logreg")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert "model='logreg' does not support task 'regression'" in lines[0] and "dataset=diabetes" in lines[0]
    assert not (tmp_path / "results" / "two_ladders" / "points").exists()
