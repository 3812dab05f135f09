"""Cluster input is refused in one sentence before any job is submitted, and SLURM job ids are announced.

A fake ``sinfo``/``sbatch`` on PATH stands in for a cluster here (no root needed); tests/test_slurm.py
runs the same launcher on a real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mvd import cluster
from mvd.errors import ConfigError

MVD = str(Path(sys.executable).with_name("mvd"))
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
SWEEP = ["-m", "dataset=iris", "model=logreg,dummy", "curve=tiny", "progress=false", "report.build=false",
         "hydra/launcher=slurm"]


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sinfo lists partitions short (default, 10 min) and long (2 days); sbatch records that it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sinfo").write_text("#!/bin/sh\nprintf 'short*|10:00\\nlong|2-00:00:00\\n'\n")
    (bin_dir / "sbatch").write_text(f"#!/bin/sh\ntouch {tmp_path}/sbatch-was-called\nexit 1\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def slurm(**keys) -> dict:
    return {"_target_": SLURM, "partition": None, "timeout_min": 5, "signal_delay_s": 120, **keys}


def refusal(launcher: dict, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        cluster.preflight(launcher, **kwargs)
    message = str(info.value)
    assert message.count(". ") == 0 and message.endswith("."), "one sentence"
    return message


def mvd(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, WANDB_MODE="disabled")
    if path is not None:
        env["PATH"] = path
    return subprocess.run([MVD, *SWEEP, f"results_dir={tmp_path / 'results'}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.slow
def test_no_sbatch_on_path_is_refused_before_anything_is_written(tmp_path):
    proc = mvd(tmp_path, path=str(Path(sys.executable).parent))  # the venv's tools only: no sbatch
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "mvd: error: hydra/launcher=slurm (or submitit_slurm) submits jobs with SLURM's sbatch, which is not on "
        "PATH; run mvd where sbatch is (a login node), or pick another hydra/launcher "
        "(basic, joblib, submitit_local, ray).")
    assert not (tmp_path / "results").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_unknown_partition_is_refused_before_sbatch(fake_slurm):
    proc = mvd(fake_slurm, "hydra.launcher.partition=gpu")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "mvd: error: hydra.launcher.partition='gpu' is not a partition of this cluster; allowed: short, long.")
    assert not (fake_slurm / "sbatch-was-called").exists() and not (fake_slurm / "sweep").exists()


def test_time_limits_the_cluster_cannot_honour_are_refused(fake_slurm):
    assert "above partition 'short''s time limit of 10 minutes" in refusal(slurm(timeout_min=60))
    assert "allowed: 1 to 10" in refusal(slurm(timeout_min=60))
    cluster.preflight(slurm(partition="long", timeout_min=600))  # 2 days allowed there
    message = refusal(slurm(timeout_min=2, signal_delay_s=120))
    assert message.startswith("hydra.launcher.timeout_min=2 (120 s) is not above hydra.launcher.signal_delay_s=120")


def test_time_limit_below_one_stored_points_fit_time_is_refused(fake_slurm):
    points = fake_slurm / "points"
    points.mkdir()
    pd.DataFrame({"model": ["svm", "svm"], "dataset": ["digits", "digits"], "train_size": [64, 128],
                  "fit_seconds": [30.0, 95.5], "status": ["ok", "ok"]}).to_parquet(points / "a.parquet")
    pd.DataFrame({"model": ["svm"], "dataset": ["digits"], "train_size": [256], "fit_seconds": [500.0],
                  "status": ["failed"]}).to_parquet(points / "b.parquet")  # failed points do not count
    files = [points / "a.parquet", points / "b.parquet", points / "missing.parquet"]
    assert cluster.stored_fit_seconds(files) == (95.5, "svm on digits at train_size=128")
    message = refusal(slurm(timeout_min=3, signal_delay_s=90), points_files=files)
    assert message == ("hydra.launcher.timeout_min=3 leaves 90 s per attempt before the requeue signal "
                       "(signal_delay_s=90), less than one stored point's fit time (95.5 s: svm on digits at "
                       "train_size=128), so that point could never finish; allowed: timeout_min >= 5.")
    cluster.preflight(slurm(timeout_min=5, signal_delay_s=90), points_files=files)


def test_other_launchers_are_not_checked(monkeypatch):
    monkeypatch.setenv("PATH", "")
    cluster.preflight({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})
    cluster.preflight({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"})


def test_minutes_reads_slurms_time_format():
    assert [cluster._minutes(t) for t in ("10:00", "1:30:00", "2-00:00:00", "45")] == [10, 90, 2880, 45]
    assert cluster._minutes("infinite") == float("inf")


def test_announcer_prints_each_job_id_once_with_how_to_watch_it(tmp_path):
    lines: list[str] = []
    folder = tmp_path / ".submitit"
    announcer = cluster.Announcer(folder, "short", lines.append)
    announcer.poll()  # nothing submitted yet
    for name in ("41_0", "41_1", "41_2", "42", "%j"):
        (folder / name).mkdir(parents=True)
    announcer.poll()
    announcer.poll()
    assert lines == [
        f"slurm: submitted job array 41 (3 tasks) on partition short; watch it with `squeue -j 41` and "
        f"`sacct -j 41`; logs: {folder}/41*/*_log.out and *_log.err",
        f"slurm: submitted job 42 on partition short; watch it with `squeue -j 42` and `sacct -j 42`; "
        f"logs: {folder}/42*/*_log.out and *_log.err"]
    assert cluster.announce({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}) \
        is None


def test_a_task_ended_unfinished_is_one_sentence_that_says_how_to_resume():
    from hydra_plugins.mvd_slurm_launcher import ended_sentence

    error = ("Job 41_3 (task: 0) with path /sweeps/.submitit/41_3/41_3_0_result.pkl\n"
             "has not produced any output (state: CANCELLED by 0)\nNo output/error stream produced ! Check: x")
    line = ended_sentence(error)
    assert line.startswith("slurm: job 41_3 ended as CANCELLED before it finished;")
    assert "rerun the same command" in line and "`sacct -j 41`" in line and "\n" not in line
    assert ended_sentence("something else").startswith("slurm: a job of the array ended before it finished;")


def test_mvd_wraps_submitits_slurm_launcher_and_is_recognised_as_slurm():
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as Submitit
    from hydra_plugins.mvd_slurm_launcher import SlurmLauncher

    assert issubclass(SlurmLauncher, Submitit)
    assert cluster.kind({"_target_": "hydra_plugins.mvd_slurm_launcher.SlurmLauncher"}) == "slurm"
    assert cluster.kind({"_target_": SLURM}) == "slurm"
    assert cluster.kind({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"}) is None
