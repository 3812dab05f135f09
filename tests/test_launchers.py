"""Hydra launchers: joblib and submitit give exactly the basic launcher's points; threads fit the cores;
the SLURM preset reaches sbatch; jobs that split one curve's seeds keep every point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mvd import cli, launchers, store

MVD = str(Path(sys.executable).with_name("mvd"))
ARGS = ["-m", "dataset=iris", "model=logreg,dummy,tree", "curve.sizes=[16,32,64]", "curve.seeds=[0,1]",
        "study=launch", "progress=false", "report.build=false"]
VOLATILE = store.VOLATILE

pytestmark = pytest.mark.timeout(240)


def run_mvd(root: Path, name: str, *extra: str, args: list[str] = ARGS) -> str:
    cmd = [MVD, *args, f"results_dir={root / name}", f"hydra.sweep.dir={root / 'sweeps' / name}", *extra]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=200,
                          env=dict(os.environ, WANDB_MODE="disabled"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def numbers(study_dir: Path) -> pd.DataFrame:
    frame = store.load(study_dir)
    return frame.drop(columns=VOLATILE).sort_values(["model", "seed", "train_size"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    root = tmp_path_factory.mktemp("launchers")
    run_mvd(root, "basic")
    frame = numbers(root / "basic" / "launch")
    assert len(frame) == 18 and (frame["status"] == "ok").all()
    return root, frame


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_parallel_launchers_give_the_basic_launchers_points(basic, launcher):
    root, expected = basic
    args = [a for a in ARGS if a != "progress=false"]  # progress on: plain lines, as in a log file
    out = run_mvd(root, launcher, f"hydra/launcher={launcher}", "threads=64", args=args)
    pd.testing.assert_frame_equal(numbers(root / launcher / "launch"), expected)
    assert "sweep: 0/3 jobs done, 0 running, 3 left · points 0/18" in out
    assert "sweep: 3/3 jobs done, 0 running, 0 left · points 18/18" in out and "complete" in out
    # jobs x threads <= cores: joblib runs min(cores, 3 jobs) at once, submitit_local all 3
    at_once = min(launchers.cores(), 3) if launcher == "joblib" else 3
    budget = max(1, launchers.cores() // at_once)
    saved = [yaml.safe_load(p.read_text()) for p in (root / launcher / "launch" / "configs").glob("*.yaml")]
    assert len(saved) == 3 and {c["threads"] for c in saved} == {budget}
    assert out.count(f"threads=64 lowered to {budget}") == 1


def test_jobs_splitting_one_curves_seeds_keep_every_point(basic):
    """Two joblib jobs write the same curve file at once; merged writes lose nothing."""
    root, expected = basic
    args = [a for a in ARGS if not a.startswith(("model=", "curve.seeds="))] + ["model=tree"]
    run_mvd(root, "split", "curve.seeds=[0],[1]", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", args=args)
    split = numbers(root / "split" / "launch")
    assert len(split) == 6 and split["run_id"].nunique() == 1
    whole = expected[expected["model"] == "tree"].reset_index(drop=True)
    # config_hash covers the seeds, so it tells the two jobs apart; every number is the same
    pd.testing.assert_frame_equal(split.drop(columns="config_hash"), whole.drop(columns="config_hash"))


@pytest.mark.parametrize("launcher, expected", [
    ({}, (1, 8)),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}, (8, 8)),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -2}, (7, 8)),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 3}, (3, 8)),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"}, (8, 8)),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}, (1, 4)),
])
def test_concurrency_of_each_launcher(launcher, expected):
    assert launchers.concurrency(launcher, n_cores=8) == expected


def test_concurrency_is_capped_by_the_number_of_jobs():
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}
    assert launchers.concurrency(joblib, n_cores=16, sweep_jobs=2) == (2, 16)


def test_slurm_preset_reaches_sbatch_and_its_jobs_run(tmp_path, monkeypatch):
    """hydra/launcher=slurm: partition, time, GPUs and CPUs (= threads) become sbatch flags,
    timeouts are resubmitted; the jobs themselves run through submitit's debug executor."""
    submitit = pytest.importorskip("submitit")
    recorded = {}

    class DebugInsteadOfSlurm(submitit.AutoExecutor):
        def __init__(self, folder, cluster=None, **kwargs):
            recorded.update(cluster=cluster, init=kwargs)
            super().__init__(folder, cluster="debug", **kwargs)

        def update_parameters(self, **kwargs):
            recorded["params"] = kwargs
            super().update_parameters(**kwargs)

    fake_bin = tmp_path / "bin"  # a cluster's tools (mvd asks sinfo for the partitions before submitting)
    fake_bin.mkdir()
    for tool, body in {"srun": "exit 1", "sbatch": "exit 1", "sinfo": "echo 'gpu*|2:00:00'"}.items():
        (fake_bin / tool).write_text(f"#!/bin/sh\n{body}\n")
        (fake_bin / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(submitit, "AutoExecutor", DebugInsteadOfSlurm)
    monkeypatch.setenv(launchers.SWEEP_JOBS_ENV, "")  # restored after the in-process multirun
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [
        "mvd", "-m", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=1",
        "hydra.launcher.timeout_min=90", "threads=2", "dataset=iris", "model=logreg,dummy", "curve=tiny",
        f"results_dir={tmp_path / 'results'}", f"hydra.sweep.dir={tmp_path / 'sweep'}", "study=slurm",
        "progress=false", "report.build=false"])
    cli.main()

    frame = store.load(tmp_path / "results" / "slurm")
    assert len(frame) == 4 and (frame["status"] == "ok").all()
    assert recorded["cluster"] == "slurm" and recorded["init"]["slurm_max_num_timeout"] == 3

    slurm = submitit.AutoExecutor.__mro__[1](tmp_path / "sbatch", cluster="slurm", **recorded["init"])
    slurm.update_parameters(**recorded["params"])
    script = slurm._executor._make_submission_file_text("python -m job", "uid")
    for flag in ("--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=2", "--time=90", "--signal=USR2@120"):
        assert f"#SBATCH {flag}" in script
    assert slurm._executor.max_num_timeout == 3


def test_sweep_progress_counts_jobs_points_and_eta(tmp_path):
    """Jobs done / running / left from the job folders, points from the points files, ETA from the rate."""
    from mvd.sweep_progress import JobPlan, SweepProgress

    points = tmp_path / "points"
    points.mkdir()
    keys = frozenset((seed, n) for seed in (0, 1) for n in (16, 32))
    jobs = [JobPlan(i, points / f"curve{i}.parquet", keys) for i in range(3)]
    # a point stored by an earlier launch counts as done but not toward the rate
    pd.DataFrame({"seed": [0], "train_size": [16]}).to_parquet(jobs[0].points_file)
    now = [100.0]
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    progress = SweepProgress(jobs, sweep, job_file="mvd_job.json", clock=lambda: now[0])
    assert progress.line() == ("sweep: 0/3 jobs done, 0 running, 3 left · points 1/12 (1 stored before)"
                               " · 0s elapsed · ETA ?")

    for num in (0, 1):
        (sweep / str(num) / ".hydra").mkdir(parents=True)
        (sweep / str(num) / ".hydra" / "hydra.yaml").write_text("{}")
    (sweep / "0" / "mvd_job.json").write_text("{}")
    pd.DataFrame({"seed": [0, 0, 1, 1], "train_size": [16, 32, 16, 32]}).to_parquet(jobs[0].points_file)
    pd.DataFrame({"seed": [0], "train_size": [16], "extra": [9]}).to_parquet(jobs[1].points_file)
    now[0] = 140.0  # 4 new points in 40 s, 7 left -> 70 s
    assert progress.line() == ("sweep: 1/3 jobs done, 1 running, 1 left · points 5/12 (1 stored before)"
                               " · 40s elapsed · ETA 1m10s")


def test_warm_joblib_workers_are_the_ones_the_launcher_uses():
    """Warmed with the launcher's own Parallel arguments, loky hands the same processes to the sweep."""
    from hydra import compose, initialize_config_dir
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, delayed
    from omegaconf import OmegaConf

    from mvd.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                      return_hydra_config=True)
    warmed = launchers.warm_joblib_workers(cfg.hydra)()
    assert len(warmed) == 2
    kwargs = {k: v for k, v in OmegaConf.to_container(cfg.hydra.launcher).items() if k != "_target_"}
    kwargs["backend"] = "loky"
    process_joblib_cfg(kwargs)  # exactly what the launcher passes to Parallel
    used = set(Parallel(**kwargs)(delayed(os.getpid)() for _ in range(6)))
    assert used <= warmed
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        basic = compose(config_name="config", return_hydra_config=True)
    assert launchers.warm_joblib_workers(basic.hydra)() == set()
