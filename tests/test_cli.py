"""The `mvd` command as a user types it: bad input refused in one sentence with
nothing written, typos caught at compose time, multiruns summarised, studies run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mvd import store
from mvd.cli import options

REPO = Path(__file__).resolve().parents[1]
MVD = [sys.executable, "-m", "mvd.cli"]


def run(args, tmp_path, *, env=None, progress=False):
    full_env = dict(os.environ, WANDB_MODE="disabled", **(env or {}))
    return subprocess.run(MVD + list(args) + [f"results_dir={tmp_path / 'results'}", f"progress={progress}",
                                              f"hydra.run.dir={tmp_path / 'out'}",
                                              f"hydra.sweep.dir={tmp_path / 'multi'}"],
                          cwd=tmp_path, capture_output=True, text=True, env=full_env, timeout=600)


def written(tmp_path) -> list:
    return sorted(str(p) for p in (tmp_path / "results").rglob("*")) if (tmp_path / "results").exists() else []


@pytest.mark.parametrize(
    "args, sentence",
    [
        (["dataset=mnst"], "dataset='mnst' is not known; allowed: "),
        (["model=xgb"], "model='xgb' is not known; allowed: "),
        (["curve.sizes=[16,5000]"], "curve.sizes has [5000] larger than the training pool of 1347 rows; allowed: 1 to 1347."),
        (["curve.sizes=[]"], "curve.sizes=[] must be a non-empty list of positive counts."),
        (["curve.sizes=[-4]"], "curve.sizes=[-4] must be a non-empty list of positive counts."),
        (["curve.test_fraction=1.2"], "curve.test_fraction=1.2 is outside (0, 1); allowed: 0 < test_fraction < 1."),
        (["dataset=diabetes", "model=logreg"], "model='logreg' does not support task 'regression'"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_sentence_and_writes_nothing(args, sentence, tmp_path):
    result = run(args, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mvd: error: ") and sentence in lines[0], result.stderr
    assert written(tmp_path) == []


def test_unknown_option_lists_the_allowed_ones(tmp_path):
    result = run(["model=xgb"], tmp_path)
    assert ", ".join(options("model")) in result.stderr


@pytest.mark.slow
def test_a_typo_fails_at_compose_time(tmp_path):
    result = run(["curve.seedz=[1]"], tmp_path)
    assert result.returncode != 0 and "seedz" in result.stderr
    assert written(tmp_path) == []


@pytest.mark.slow
def test_bad_job_in_a_multirun_stops_it_before_any_work(tmp_path):
    result = run(["-m", "dataset=wine,diabetes", "model=logreg", "curve.sizes=[16]", "curve.seeds=[0]"], tmp_path)
    assert result.returncode == 2
    assert "model='logreg' does not support task 'regression'" in result.stderr
    assert "dataset=diabetes" in result.stderr
    assert written(tmp_path) == []


@pytest.mark.slow
def test_a_corrupt_points_file_is_one_sentence_and_writes_nothing(tmp_path):
    """A study holding a damaged points file: one line, exit 2, nothing written, alone or in a multirun."""
    curve_args = ["dataset=iris", "curve.sizes=[16]", "curve.seeds=[0]"]
    assert run(curve_args + ["model=dummy"], tmp_path).returncode == 0
    (victim,) = (tmp_path / "results" / "default" / "points").glob("*.parquet")
    victim.write_bytes(b"not parquet")
    before = written(tmp_path)
    for args in (["model=dummy"], ["-m", "model=tree,dummy"]):  # the multirun checks every job before any work
        result = run(args + curve_args, tmp_path)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"mvd: error: points file {victim}"), result.stderr
        assert "is corrupt or unreadable" in lines[0]
        assert written(tmp_path) == before


@pytest.mark.slow
def test_multirun_prints_one_line_per_job_and_resumes(tmp_path):
    args = ["-m", "dataset=iris,wine", "model=dummy,tree", "curve.sizes=[16,32]", "curve.seeds=[0,1]"]
    first = run(args, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4 job(s)" in first.stdout
    assert first.stdout.count("4 new, 0 stored, 0 failed") == 4
    frame = store.load(tmp_path / "results" / "default")
    assert len(frame) == 16 and (frame["status"] == "ok").all()
    again = run(args, tmp_path)
    assert again.stdout.count("0 new, 4 stored, 0 failed") == 4
    assert len(store.load(tmp_path / "results" / "default")) == 16


@pytest.mark.slow
def test_single_run_prints_the_curve_table(tmp_path):
    result = run(["dataset=iris", "model=forest", "curve.sizes=[16,64]", "curve.seeds=[0,1]"], tmp_path, progress=True)
    assert result.returncode == 0, result.stderr
    assert "iris · forest · clean" in result.stdout and "± " in result.stdout


STUDIES = sorted(p.stem for p in (REPO / "experiments").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_every_study_runs_with_tiny_settings(study, tmp_path, tmp_path_factory, need_data):
    need_data(study=study)
    cache = tmp_path_factory.getbasetemp() / "tiny-studies-cache"  # each dataset parsed once, not once per study
    env = {"MVD_DATA": str(REPO.parent / "shared" / "data"), "MVD_CACHE": str(cache)}
    result = run([f"experiment={study}", "curve.sizes=[16,24]", "curve.seeds=[0]", "curve.max_size=null"],
                 tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    study_dirs = list((tmp_path / "results").iterdir())
    assert len(study_dirs) == 1
    frame = store.load(study_dirs[0])
    assert len(frame) > 0 and (frame["status"] == "ok").all(), frame.loc[frame["status"] != "ok", "error"].head()
    assert "report not built" not in result.stdout + result.stderr, result.stdout[-2000:]
    assert (study_dirs[0] / "report.md").is_file()
