"""Hydra launchers: joblib and submitit give exactly the basic launcher's points; threads fit the cores;
the SLURM preset reaches sbatch; jobs that split one curve's seeds keep every point."""

from __future__ import annotations

import json
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

# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("launchers")]


def run_mvd(root: Path, name: str, *extra: str, args: list[str] = ARGS) -> str:
    cmd = [MVD, *args, f"results_dir={root / name}", f"hydra.sweep.dir={root / 'sweeps' / name}", *extra]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=200,
                          env=dict(os.environ, WANDB_MODE="disabled"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def numbers(study_dir: Path) -> pd.DataFrame:
    frame = store.load(study_dir)
    return store.without_volatile(frame).sort_values(["model", "seed", "train_size"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    root = tmp_path_factory.mktemp("launchers")
    run_mvd(root, "basic")
    frame = numbers(root / "basic" / "launch")
    assert len(frame) == 18 and (frame["status"] == "ok").all()
    return root, frame


@pytest.mark.slow
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


@pytest.mark.slow
def test_jobs_splitting_one_curves_seeds_keep_every_point(basic):
    """Two joblib jobs write the same curve file at once; merged writes lose nothing."""
    root, expected = basic
    args = [a for a in ARGS if not a.startswith(("model=", "curve.seeds="))] + ["model=tree"]
    run_mvd(root, "split", "curve.seeds=[0],[1]", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", args=args)
    split = numbers(root / "split" / "launch")
    assert len(split) == 6 and split["run_id"].nunique() == 1
    whole = expected[expected["model"] == "tree"].reset_index(drop=True)
    # every number is the same; the config hash names the job that wrote last (it covers the seeds), one per curve
    pd.testing.assert_frame_equal(split.drop(columns="config_hash"), whole.drop(columns="config_hash"))
    assert split["config_hash"].nunique() == 1


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_warm_joblib_workers_are_the_ones_the_launcher_uses():
    """Warmed with the launcher's own Parallel arguments, loky hands the same processes to the sweep."""
    from hydra import compose, initialize_config_dir
    from joblib import Parallel, delayed

    from mvd.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                      return_hydra_config=True)
    warmed = launchers.warm_joblib_workers(cfg.hydra)()
    assert len(warmed) == 2
    used = set(Parallel(**launchers.joblib_parallel_kwargs(cfg.hydra.launcher))(delayed(os.getpid)() for _ in range(6)))
    assert used <= warmed
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        basic = compose(config_name="config", return_hydra_config=True)
    assert launchers.warm_joblib_workers(basic.hydra)() == set()


@pytest.mark.parametrize("values", [{}, {"pre_dispatch": "4", "batch_size": "8", "max_nbytes": "1000"},
                                    {"pre_dispatch": "3*n_jobs", "max_nbytes": "1M"}])
def test_parallel_arguments_are_the_joblib_launchers(values):
    """The arguments mvd warms workers with are those the launcher passes to Parallel (its own
    conversion, from the plugin, is the oracle here; mvd does not call it)."""
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from omegaconf import OmegaConf

    launcher = OmegaConf.merge(OmegaConf.structured(
        __import__("hydra_plugins.hydra_joblib_launcher.config", fromlist=["x"]).JobLibLauncherConf), values)
    expected = {k: v for k, v in OmegaConf.to_container(launcher).items() if k != "_target_"}
    expected["backend"] = "loky"
    process_joblib_cfg(expected)
    assert launchers.joblib_parallel_kwargs(launcher) == expected


def _plan(*task: str, params: dict | None = None, sweeper: str = "basic") -> list[list[str]] | None:
    """What the callback plans for a multirun with these command-line overrides and sweeper params."""
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from mvd.callbacks import sweep_overrides
    from mvd.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        root = compose(config_name="config", overrides=[f"hydra/sweeper={sweeper}"], return_hydra_config=True)
        with open_dict(root):  # as Hydra fills them in a multirun's root config
            root.hydra.sweeper.params = params or {}
            root.hydra.overrides.task = list(task)
        return sweep_overrides(root)


@pytest.mark.slow
def test_the_basic_sweepers_grid_is_planned_with_the_public_override_api():
    """Sweeper params first, the command line after (a later key replaces an earlier one), crossed in order."""
    jobs = _plan("model=logreg,tree", "curve.seeds=[0],[1]", "threads=1", params={"model": "dummy,forest"})
    assert jobs == [["model=logreg", "curve.seeds=[0]", "threads=1"], ["model=logreg", "curve.seeds=[1]", "threads=1"],
                    ["model=tree", "curve.seeds=[0]", "threads=1"], ["model=tree", "curve.seeds=[1]", "threads=1"]]
    assert _plan("curve.start=range(8,32,8)") == [["curve.start=8"], ["curve.start=16"], ["curve.start=24"]]
    assert _plan("model=choice(logreg,tree)", "dataset=iris") == [["model=logreg", "dataset=iris"],
                                                                   ["model=tree", "dataset=iris"]]
    globbed = _plan("quality=glob(label_*)")
    assert globbed == [["quality=label_noise"], ["quality=label_shift"]]


def test_a_sweep_not_known_up_front_is_not_planned():
    """interval() is for optimisers; other sweepers propose their own jobs: each checks itself when it starts."""
    assert _plan("curve.test_fraction=interval(0.1,0.3)") is None
    pytest.importorskip("hydra_plugins.filter", reason="hydra-filter-sweeper not installed (pip install mvd[sweepers])")
    assert _plan("model=logreg,tree", sweeper="filter_mvd") is None


def test_the_callback_pickles_without_its_progress_thread(tmp_path):
    """The callback travels to joblib/submitit workers; its progress reporter (a thread) stays home."""
    import pickle

    from mvd.callbacks import MvdCallback
    from mvd.sweep_progress import SweepProgress

    callback = MvdCallback()
    callback._progress = SweepProgress([], tmp_path, job_file="mvd_job.json").start()
    try:
        copy = pickle.loads(pickle.dumps(callback))
        assert copy._progress is None and callback._progress is not None
    finally:
        callback._progress.stop()


@pytest.mark.parametrize("sweeper, refused", [
    ({"direction": "maximize"}, None),
    ({"direction": "minimize"}, "hydra.sweeper.direction=minimize would minimise"),
    ({"direction": ["maximize", "minimize"]}, "would minimise"),
    ({"optim": {"maximize": False}}, "hydra.sweeper.optim.maximize=false would minimise"),
    ({"optim": {"maximize": True}}, None),
])
def test_an_optimiser_set_to_minimise_is_refused(sweeper, refused, capsys):
    from omegaconf import OmegaConf

    from mvd.callbacks import check_direction

    if refused is None:
        check_direction(OmegaConf.create(sweeper))
        return
    with pytest.raises(SystemExit) as exit_:
        check_direction(OmegaConf.create(sweeper))
    assert exit_.value.code == 2 and refused in capsys.readouterr().err


def test_which_sweepers_read_the_jobs_return_values():
    from mvd.job import BASIC_SWEEPER, reads_return_value

    assert not reads_return_value({"_target_": BASIC_SWEEPER})
    assert reads_return_value({"_target_": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"})
    pytest.importorskip("hydra_plugins.filter", reason="hydra-filter-sweeper not installed (pip install mvd[sweepers])")
    assert not reads_return_value({"_target_": "hydra_plugins.filter.FilterSweeper"})  # the basic grid, filtered


PLUGINS = Path(__file__).resolve().parent / "plugins"  # the tests' own optimising sweeper


def sweep_with(tmp_path: Path, *args: str, pythonpath: str = "") -> tuple[int, str]:
    cmd = [MVD, "-m", *args, "curve=tiny", "model=logreg", f"results_dir={tmp_path / 'results'}",
           f"hydra.sweep.dir={tmp_path / 'sweep'}", "report.build=false"]
    env = dict(os.environ, WANDB_MODE="disabled")
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=200, env=env)
    return proc.returncode, proc.stdout + proc.stderr


def job_files(tmp_path: Path) -> list[dict]:
    from mvd.outcome import read_statuses

    return read_statuses(tmp_path / "sweep")


@pytest.mark.slow
def test_an_optimising_sweeper_maximises_validation_scores_through_the_callback(tmp_path):
    """interval() sampled by the sweeper, a float back from every good job (a validation score
    from the training pool), a bad job failed in one sentence, the callback's summary and exit 1."""
    code, out = sweep_with(tmp_path, "hydra/sweeper=test_optimiser", "hydra.sweeper.n_trials=4",
                           "hydra.sweeper.seed=3", "curve.test_fraction=interval(0.2,0.4)", "dataset=iris,diabetes",
                           pythonpath=str(PLUGINS))
    assert code == 1, out[-3000:]
    trials = json.loads((tmp_path / "sweep" / "optimiser.json").read_text())
    statuses = {s["num"]: s for s in job_files(tmp_path)}
    assert [("dataset=iris" in t["overrides"]) for t in trials] == [True, False, True, False]
    for num, trial in enumerate(trials):
        if "dataset=iris" in trial["overrides"]:
            assert 0.5 < trial["value"] <= 1 and trial["value"] == statuses[num]["validation_score"]
        else:
            assert trial["value"] is None and statuses[num]["bad_input"]
    sentence = "model='logreg' does not support task 'regression'"
    assert out.count(f"mvd: error: {sentence}") == 2 and "Traceback" not in out
    assert "4 job(s)" in out and out.count("   done  iris · logreg · clean: 2 new") == 2
    assert out.count(f" failed  diabetes · logreg · clean: 0 new, 0 stored, 0 failed  ({sentence}") == 2
    assert "mvd: 2 job(s) and 0 point(s) failed" in out
    assert "sweep: 4 jobs done, 0 running · 4 new points stored" in out


@pytest.mark.slow
def test_hydra_filter_sweeper_runs_through_the_callback(tmp_path):
    """A maintained third-party sweeper (optional extra ``sweepers``): its filtered grid runs, summarised."""
    pytest.importorskip("hydra_plugins.filter", reason="hydra-filter-sweeper not installed (pip install mvd[sweepers])")
    code, out = sweep_with(tmp_path, "hydra/sweeper=filter_mvd", "study=default", "dataset=iris", "quality=clean,label_noise",
                           "cleaning=none,oracle")
    assert code == 0, out[-3000:]
    assert "3 job(s)" in out and "clean +oracle" not in out
    assert {s["label"] for s in job_files(tmp_path)} == {
        "iris · logreg · clean", "iris · logreg · label_noise=0.2", "iris · logreg · label_noise=0.2 +oracle"}
    assert len(store.load(tmp_path / "results" / "default")) == 6


@pytest.mark.slow
def test_hydra_optuna_sweeper_runs_through_the_callback(tmp_path):
    """Optuna's own sweeper, where installed (it pins optuna<3, so it is no extra of mvd's)."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper",
                        reason="hydra-optuna-sweeper not installed (it pins optuna<3; install it in its own venv)")
    code, out = sweep_with(tmp_path, "hydra/sweeper=optuna_mvd", "hydra.sweeper.n_trials=3",
                           "hydra.sweeper.sampler.seed=0", "curve.test_fraction=interval(0.2,0.4)", "dataset=iris")
    assert code == 0, out[-3000:]
    best = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())["best_value"]
    assert "3 job(s)" in out and best == max(s["validation_score"] for s in job_files(tmp_path))


@pytest.mark.slow
def test_the_validation_score_never_reads_a_test_row(make_cfg):
    """What an optimising sweeper maximises: test rows replaced by garbage leave it unchanged, pool rows do not."""
    import dataclasses

    import numpy as np

    from mvd import curve, splits
    from mvd.sweep_score import validation_score

    cfg = make_cfg("dataset=iris", "model=logreg", "curve.sizes=[16,48]", "curve.seeds=[0]", "quality=label_noise")
    prepared = curve.plan(cfg)
    score = validation_score(prepared)
    assert 0.5 < score <= 1
    pool, test = splits.split(prepared.dataset.y, seed=0, test_fraction=cfg.curve.test_fraction, task="classification")

    def garbled(rows) -> float:
        X = np.array(prepared.dataset.X, dtype=float, copy=True)
        X[rows] = 1e6
        return validation_score(dataclasses.replace(prepared, dataset=dataclasses.replace(prepared.dataset, X=X)))

    assert garbled(test) == score
    assert garbled(pool) != score


def test_error_metrics_are_negated_so_a_sweeper_always_maximises(make_cfg):
    from mvd import curve
    from mvd.sweep_score import validation_score

    cfg = make_cfg("dataset=diabetes", "model=ridge", "curve.sizes=[64]", "curve.seeds=[0]")
    prepared = curve.plan(cfg)
    assert prepared.primary == "rmse" and validation_score(prepared) < 0
