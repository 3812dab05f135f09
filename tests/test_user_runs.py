"""A user's own runs through the `mvd` command: never mixed, never stale.

Two files never pool under one dataset name, an edited file is a new curve that
is refitted, a sweep over a hyperparameter is named by its values instead of
pooled into one model, and a run that names no study gets a study of its own
outside the tracked tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mvd import store
from mvd.adhoc import ADHOC_DIR, study_name, with_study
from mvd.errors import ConfigError
from mvd.report.pooling import separate
from mvd.report.study import read_study

MVD = [sys.executable, "-m", "mvd.cli"]
TINY = ["curve=tiny", "progress=false", "report.build=false"]


def mvd(args, cwd: Path, *, results: bool = True):
    env = dict(os.environ, WANDB_MODE="disabled", MVD_CACHE=str(cwd / "cache"))
    extra = [f"results_dir={cwd / 'results'}"] if results else []
    out = subprocess.run(MVD + list(args) + TINY + extra + [f"hydra.run.dir={cwd / 'out'}",
                                                            f"hydra.sweep.dir={cwd / 'multi'}"],
                         cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def table(seed: int, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x[:, 0] + 0.3 * x[:, 1] > 0, "yes", "no")})


def curves(study: Path) -> pd.DataFrame:
    """One row per curve as the report names it."""
    named = read_study(study).points
    return named.drop_duplicates(["dataset", "model"])[["dataset", "model", "run_id"]].sort_values(
        ["dataset", "model"]).reset_index(drop=True)


@pytest.mark.slow
def test_two_files_are_two_datasets_even_under_one_name(tmp_path):
    """logreg on a.csv and forest on b.csv in one study: never one dataset whose models are compared."""
    table(0).to_csv(tmp_path / "a.csv", index=False)
    table(1).to_csv(tmp_path / "b.csv", index=False)
    for path, model in (("a.csv", "logreg"), ("b.csv", "forest")):
        mvd(["dataset=file", f"dataset.path={path}", "dataset.target=label", f"model={model}", "study=mine"], tmp_path)
    study = tmp_path / "results" / "mine"
    assert sorted(store.load(study)["dataset"].unique()) == ["a", "b"]  # the default name is the file's
    # the same two runs with one dataset.name: the report names each dataset by its file
    for path, model in (("a.csv", "logreg"), ("b.csv", "forest")):
        mvd(["dataset=file", f"dataset.path={path}", "dataset.target=label", "dataset.name=churn",
             f"model={model}", "study=named"], tmp_path)
    named = curves(tmp_path / "results" / "named")
    assert named[["dataset", "model"]].values.tolist() == [["churn[path=a.csv]", "logreg"],
                                                            ["churn[path=b.csv]", "forest"]]


@pytest.mark.slow
def test_an_edited_file_is_a_new_curve_refitted_and_told_apart(tmp_path):
    table(0).to_csv(tmp_path / "a.csv", index=False)
    args = ["dataset=file", "dataset.path=a.csv", "dataset.target=label", "model=logreg", "study=mine"]
    mvd(args, tmp_path)
    first = store.load(tmp_path / "results" / "mine")
    mvd(args, tmp_path)  # unchanged: nothing refitted
    assert store.load(tmp_path / "results" / "mine")["created_at"].tolist() == first["created_at"].tolist()
    edited = table(0).iloc[:100].assign(label=lambda t: t["label"].map({"yes": "no", "no": "yes"}))
    edited.to_csv(tmp_path / "a.csv", index=False)
    mvd(args, tmp_path)
    points = store.load(tmp_path / "results" / "mine")
    assert points["run_id"].nunique() == 2 and len(points) == 4  # refitted under a new run_id
    named = curves(tmp_path / "results" / "mine")
    assert named["dataset"].str.fullmatch(r"a\[data=[0-9a-f]{8}\]").all() and named["dataset"].nunique() == 2


@pytest.mark.slow
def test_a_sweep_over_a_hyperparameter_is_named_by_its_values_not_pooled(tmp_path):
    mvd(["-m", "dataset=iris", "model=logreg", "+model.classification.C=0.01,1", "study=sweep"], tmp_path)
    named = curves(tmp_path / "results" / "sweep")
    assert named["model"].tolist() == ["logreg[C=0.01]", "logreg[C=1]"]


@pytest.mark.slow
def test_an_optuna_sweep_over_c_is_named_by_its_values_not_pooled(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="hydra-optuna-sweeper is not installed")
    mvd(["-m", "hydra/sweeper=optuna_mvd", "hydra.sweeper.n_trials=3", "dataset=iris", "model=logreg",
         "++model.classification.C=interval(0.01,10)", "study=optuna"], tmp_path)
    named = curves(tmp_path / "results" / "optuna")
    assert len(named) == 3 and named["model"].str.fullmatch(r"logreg\[C=[0-9.e-]+\]").all()


@pytest.mark.slow
def test_a_run_without_a_study_gets_one_of_its_own_outside_the_tracked_tree(tmp_path):
    mvd(["dataset=iris", "model=dummy"], tmp_path, results=False)
    mvd(["-m", "dataset=iris", "model=tree,dummy"], tmp_path, results=False)
    studies = sorted(p.name for p in (tmp_path / ADHOC_DIR).iterdir())
    first = store.load(tmp_path / ADHOC_DIR / studies[0])
    mvd(["dataset=iris", "model=dummy"], tmp_path, results=False)  # the same command: the same study, resumed
    assert store.load(tmp_path / ADHOC_DIR / studies[0])["created_at"].tolist() == first["created_at"].tolist()
    assert studies == ["curve=tiny,dataset=iris,model=dummy", "curve=tiny,dataset=iris,model=tree+dummy"]
    assert not (tmp_path / "results").exists()
    assert sorted(store.load(tmp_path / ADHOC_DIR / studies[1])["model"].unique()) == ["dummy", "tree"]


def test_a_study_is_named_after_the_command_and_a_named_one_is_left_alone():
    assert with_study(["-m", "dataset=iris", "model=tree,dummy", "progress=false", "hydra/launcher=joblib"]) == [
        "-m", "dataset=iris", "model=tree,dummy", "progress=false", "hydra/launcher=joblib",
        "study='dataset=iris,model=tree+dummy'", f"results_dir={ADHOC_DIR}"]
    assert with_study(["model=gbm", "results_dir=/tmp/r"]) == ["model=gbm", "results_dir=/tmp/r", "study='model=gbm'"]
    for named in (["study=mine"], ["experiment=quickstart"], ["+experiment=x"], ["--help"], ["-cn", "mine"]):
        assert with_study(named) == named
    assert study_name([]) == "defaults"
    assert study_name(["curve.seeds=[0,1]", "threads=2", "logger=wandb"]) == "curve.seeds=0+1"
    # a path is named by its file, with the full command's digest
    assert study_name(["dataset.path=/data/x/churn.csv"]).startswith("dataset.path=churn.csv-")
    assert study_name(["dataset.path=/a/churn.csv"]) != study_name(["dataset.path=/b/churn.csv"])
    assert len(study_name([f"model.x{i}=1" for i in range(40)])) == 80 + 9


def _study(tmp_path, configs: dict) -> Path:
    """A study folder holding only the saved configs ``run_id -> yaml text``."""
    (tmp_path / "configs").mkdir()
    for run, text in configs.items():
        (tmp_path / "configs" / f"{run}.yaml").write_text(text)
    return tmp_path


_CONFIG = """dataset:
  _target_: mvd.sources.bundled.load
  name: iris
model:
  name: logreg
  classification:
    _target_: sklearn.linear_model.LogisticRegression
    C: {c}
quality:
  name: clean
cleaning:
  name: none
curve:
  seeds: [0]
  test_fraction: 0.25
"""


def _points(*runs) -> pd.DataFrame:
    return pd.DataFrame({"run_id": list(runs), "dataset": "iris", "model": "logreg", "tuned": False,
                         "quality": "clean", "quality_rate": 0.0, "cleaning": "none"})


def test_curves_that_share_a_label_but_not_a_config_are_named_by_what_differs(tmp_path):
    study = _study(tmp_path, {"r1": _CONFIG.format(c=0.1), "r2": _CONFIG.format(c=1.0)})
    named = separate(_points("r1", "r2", "r1"), study)
    assert named["model"].tolist() == ["logreg[C=0.1]", "logreg[C=1]", "logreg[C=0.1]"]
    assert (named["dataset"] == "iris").all()


def test_one_curve_per_label_reads_unchanged(tmp_path):
    study = _study(tmp_path, {"r1": _CONFIG.format(c=0.1)})
    points = _points("r1", "r1")
    assert separate(points, study).equals(points)


def test_curves_whose_configs_show_no_difference_are_refused_in_one_sentence(tmp_path):
    study = _study(tmp_path, {"r1": _CONFIG.format(c=1.0), "r2": _CONFIG.format(c=1.0)})
    with pytest.raises(ConfigError, match=r"^curves r1, r2 share dataset 'iris', model 'logreg', quality 'clean' "
                                          r"and cleaning 'none' but not their run_id, .*\(study=NAME\)\.$"):
        separate(_points("r1", "r2"), study)


_FILE = """dataset:
  _target_: mvd.sources.files.load
  name: churn
  path: {path}
  content: '{content}'
model:
  name: {model}
quality:
  name: clean
cleaning:
  name: none
curve:
  seeds: [0]
  test_fraction: 0.25
"""


def test_one_dataset_name_on_two_files_is_named_by_path_and_a_shared_file_name_by_the_whole_path(tmp_path):
    study = _study(tmp_path, {
        "r1": _FILE.format(path="a/data.csv", content="1" * 16, model="logreg"),
        "r2": _FILE.format(path="b/data.csv", content="2" * 16, model="forest"),
        "r3": _FILE.format(path="a/data.csv", content="3" * 16, model="logreg"),  # a/data.csv edited
    })
    points = _points("r1", "r2", "r3").assign(dataset="churn", model=["logreg", "forest", "logreg"])
    assert separate(points, study)["dataset"].tolist() == [
        "churn[path=a/data.csv,data=11111111]", "churn[path=b/data.csv,data=22222222]",
        "churn[path=a/data.csv,data=33333333]"]
    two = separate(points.iloc[:2], study)["dataset"].tolist()
    assert two == ["churn[path=a/data.csv]", "churn[path=b/data.csv]"]
