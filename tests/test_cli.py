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
    curve_args = ["dataset=iris", "curve.sizes=[16]", "curve.seeds=[0]", "study=default"]
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
    args = ["-m", "dataset=iris,wine", "model=dummy,tree", "curve.sizes=[16,32]", "curve.seeds=[0,1]", "study=default"]
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


def covering_jobs(jobs: list[list[str]]) -> list[list[str]]:
    """Few jobs in which every swept value (every ``key=value``) appears at least once, chosen greedily."""
    left = {o for job in jobs for o in job}
    chosen = []
    while left:
        best = max(jobs, key=lambda job: len(left.intersection(job)))
        chosen.append(best)
        left -= set(best)
    return chosen


def test_covering_jobs_name_every_value_once_in_few_jobs():
    jobs = [[f"a={a}", f"b={b}", f"c={c}"] for a in "xyz" for b in "uv" for c in "pq"]
    chosen = covering_jobs(jobs)
    assert len(chosen) == 3 and {o for job in chosen for o in job} == {o for job in jobs for o in job}


def test_quickstart_runs_from_the_command_line_with_tiny_settings(tmp_path):
    result = run(["experiment=quickstart", "curve.sizes=[16,24]", "curve.seeds=[0]"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    frame = store.load(tmp_path / "results" / "quickstart")
    assert len(frame) == 2 * frame["run_id"].nunique() > 0 and (frame["status"] == "ok").all()
    assert "report not built" not in result.stdout + result.stderr, result.stdout[-2000:]
    assert (tmp_path / "results" / "quickstart" / "report.md").is_file()


@pytest.mark.slow
@pytest.mark.timeout(900)  # the atlas's sample fits every rung, the torch ones (realmlp, tabm, cnn, ...) included
@pytest.mark.parametrize("study", STUDIES)
def test_every_study_runs_with_tiny_settings(study, tmp_path, tmp_path_factory, need_data, monkeypatch):
    """Every dataset, model, quality and cleaning a study names fits at tiny sizes, and its report builds.

    The whole grid of each study is planned by the studies' own tests; here a
    covering sample of its jobs runs (every swept value at least once), in
    this process: the same job function the command line calls, without
    composing each job twice in a fresh interpreter.
    """
    from hydra import compose, initialize_config_dir

    from mvd import report
    from mvd.callbacks import sweep_overrides
    from mvd.config import CONF_DIR
    from mvd.job import run as run_job

    need_data(study=study)
    monkeypatch.setenv("MVD_DATA", str(REPO.parent / "shared" / "data"))
    monkeypatch.setenv("MVD_CACHE", str(tmp_path_factory.getbasetemp() / "tiny-studies-cache"))
    # verdict.data=null: a covering sample need not measure the study's operating condition on every
    # dataset (the atlas decides on clean data; its sample runs some datasets on noisy arms only)
    tiny = ["curve.sizes=[16,24]", "curve.seeds=[0]", "curve.max_size=null", f"results_dir={tmp_path}",
            "progress=false", "verdict.data=null"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        root = compose(config_name="config", overrides=[f"experiment={study}"], return_hydra_config=True)
        jobs = covering_jobs(sweep_overrides(root))
        statuses = [run_job(compose(config_name="config", overrides=[f"experiment={study}", *job, *tiny]))
                    for job in jobs]
    assert all(not s["failed"] and not s["errors"] for s in statuses), statuses
    frame = store.load(tmp_path / study)
    # two jobs may be one curve (an untunable rung's tuned job runs its default curve): two points per curve
    assert frame["run_id"].nunique() >= len(jobs) - sum("tuning=optuna" in job for job in jobs)
    assert len(frame) == 2 * frame["run_id"].nunique() and (frame["status"] == "ok").all()
    assert report.build(tmp_path / study).is_file() and (tmp_path / study / "report.md").is_file()
