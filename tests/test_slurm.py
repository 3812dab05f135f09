"""A real one-node SLURM cluster (scripts/slurm-up.sh): submitit through ``hydra/launcher=slurm``
gives exactly the basic launcher's points, and a study survives the scheduler's faults: a job
reaching its time limit, a job requeued by ``scontrol requeue``, ``scancel`` of the array followed
by a rerun, and two arrays launched on the same study at once (0 points lost, 0 duplicated).

Needs root and Debian's slurm-wlm, slurmdbd, munge and mariadb-server (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.cluster_helpers import (ARGS, REPO, SLEEP_ENV, SLOW_ARGS, interrupt_after_first_point, job_env, launch,
                                   numbers, run_mvd, stored_points)

NEEDED = ("munged", "mungekey", "slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "mariadbd",
          "mariadb-install-db")
if os.geteuid() != 0:
    pytest.skip("the SLURM test cluster needs root (CI runs as root)", allow_module_level=True)
if missing := [c for c in NEEDED if shutil.which(c) is None]:
    pytest.skip(f"SLURM test cluster: {', '.join(missing)} not installed "
                f"(apt-get install slurm-wlm slurmdbd munge mariadb-server)", allow_module_level=True)
pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="hydra-submitit-launcher not installed")

# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.xdist_group("slurm")]

# every SLURM launch: the cluster's default short partition, a limit it allows, small memory
SLURM = ["hydra/launcher=slurm", "hydra.launcher.partition=short", "hydra.launcher.timeout_min=5",
         "hydra.launcher.mem_gb=1"]


@pytest.fixture(scope="module")
def cluster():
    """Start the cluster for this module; yield the environment that points sbatch & co. at it."""
    folder = tempfile.mkdtemp(prefix="mvd-slurm.")  # short: it holds unix sockets
    up = subprocess.run([str(REPO / "scripts" / "slurm-up.sh"), folder], capture_output=True, text=True,
                        timeout=180)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-4000:]
    env = job_env(SLURM_CONF=f"{folder}/slurm.conf")
    try:
        yield env
    finally:
        subprocess.run([str(REPO / "scripts" / "slurm-down.sh"), folder], timeout=120)


def slurm(env: dict, *args: str) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, f"{' '.join(args)}: {proc.stderr}"
    return proc.stdout


def array_id(sweep: Path) -> str:
    """The SLURM job id of the sweep (submitit files an array's tasks under <id>_<task>, one job under <id>)."""
    ids = {p.name.split("_")[0] for p in (sweep / ".submitit").iterdir() if p.is_dir()}
    assert len(ids) == 1, ids
    return ids.pop()


def single_job(sweep: Path) -> tuple[str, Path]:
    """(SLURM job id, its log file of stderr) of a one-job sweep (submitted as a plain job, not an array)."""
    job = array_id(sweep)
    return job, sweep / ".submitit" / job / f"{job}_0_log.err"


def accounted(env: dict, job: str, tasks: int, settle: float = 20) -> list[str]:
    """sacct's "task|state" lines of a job array, once every task's end reached the accounting daemon."""
    deadline = time.monotonic() + settle
    while True:
        lines = sorted(slurm(env, "sacct", "-j", job, "--allocations", "--noheader", "--parsable2",
                             "-o", "JobID,State").split())
        done = [line for line in lines if re.fullmatch(rf"{job}_\d+\|[A-Z]+", line) and "PENDING" not in line
                and "RUNNING" not in line]
        if len(done) == tasks or time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def restarts(env: dict, job: str) -> int:
    """How often SLURM restarted a job (requeues), from scontrol."""
    out = slurm(env, "scontrol", "show", "job", "--oneliner", job)
    return max(int(n) for n in re.findall(r"Restarts=(\d+)", out))


def statuses(sweep: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(sweep.glob("*/mvd_job.json"))]


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    """The points of the slow curve without sleep, basic launcher."""
    root = tmp_path_factory.mktemp("slow_reference")
    run_mvd(root, "basic", SLOW_ARGS)
    frame = numbers(root / "results" / "cluster")
    assert len(frame) == 4 and (frame["status"] == "ok").all()
    return frame


def test_sbatch_srun_and_sacct_work(cluster, tmp_path):
    assert slurm(cluster, "srun", "--ntasks=1", "echo", "hello").strip() == "hello"
    job = slurm(cluster, "sbatch", "--parsable", "--wait", "--array=0-1", f"--output={tmp_path}/%A_%a.out",
                "--wrap", "echo task $SLURM_ARRAY_TASK_ID").strip()
    assert sorted(p.read_text().strip() for p in tmp_path.glob("*.out")) == ["task 0", "task 1"]
    assert accounted(cluster, job, 2) == [f"{job}_0|COMPLETED", f"{job}_1|COMPLETED"]
    assert set(slurm(cluster, "sinfo", "--noheader", "-o", "%P").split()) == {"short*", "preemptable"}


def test_slurm_launcher_gives_the_basic_launchers_points(cluster, tmp_path):
    (tmp_path / "basic").mkdir()
    run_mvd(tmp_path / "basic", "basic", ARGS)
    expected = numbers(tmp_path / "basic" / "results" / "cluster")
    assert len(expected) == 6

    root = tmp_path / "slurm"
    root.mkdir()
    proc = run_mvd(root, "sweep", ARGS, *SLURM, env=cluster)
    pd.testing.assert_frame_equal(numbers(root / "results" / "cluster"), expected)
    sweep = root / "sweeps" / "sweep"
    job = array_id(sweep)
    out = proc.stdout + proc.stderr
    assert (f"slurm: submitted job array {job} (3 tasks) on partition short; watch it with "
            f"`squeue -j {job}` and `sacct -j {job}`") in out
    # logs land in the sweep folder, one folder per array task
    for task in range(3):
        assert (sweep / ".submitit" / f"{job}_{task}" / f"{job}_{task}_0_log.out").exists()
    assert accounted(cluster, job, 3) == [f"{job}_{t}|COMPLETED" for t in range(3)]


@pytest.mark.timeout(600)
def test_job_reaching_its_time_limit_is_requeued_and_resumes(cluster, tmp_path):
    """timeout_min=1, signal_delay_s=5: SLURM signals each attempt 25-55 s in (it checks limits every
    30 s), submitit requeues the job, the next attempt skips the stored points.  8 fits of 8 s are more
    than one attempt can do, so the job needs at least two; each attempt still finishes some points."""
    args = [a if not a.startswith("curve.sizes=") else "curve.sizes=[16,24,32,40,48,56,64,72]" for a in SLOW_ARGS]
    (tmp_path / "basic").mkdir()
    run_mvd(tmp_path / "basic", "basic", args)
    expected = numbers(tmp_path / "basic" / "results" / "cluster")
    assert len(expected) == 8

    env = dict(cluster, **{SLEEP_ENV: "8"})
    proc = run_mvd(tmp_path, "sweep", args, *SLURM, "hydra.launcher.timeout_min=1",
                   "hydra.launcher.signal_delay_s=5", "hydra.launcher.max_num_timeout=30", env=env, timeout=560)
    pd.testing.assert_frame_equal(numbers(tmp_path / "results" / "cluster"), expected)
    sweep = tmp_path / "sweeps" / "sweep"
    job, log = single_job(sweep)
    assert restarts(cluster, job) >= 1
    assert "this job is timed-out" in log.read_text()
    [status] = statuses(sweep)  # written by the last attempt: what earlier attempts stored is skipped
    assert status["skipped"] >= 1 and status["new"] + status["skipped"] == 8, proc.stdout


def test_scontrol_requeue_resumes_from_stored_points(cluster, tmp_path, slow_reference):
    env = dict(cluster, **{SLEEP_ENV: "3"})
    proc = launch(tmp_path, "sweep", SLOW_ARGS, *SLURM, env=env)
    study = tmp_path / "results" / "cluster"
    job = None

    def requeue():  # what preemption with PreemptMode=REQUEUE does
        nonlocal job
        job, _ = single_job(tmp_path / "sweeps" / "sweep")
        slurm(cluster, "scontrol", "requeue", job)

    out = interrupt_after_first_point(proc, study, requeue)
    assert proc.returncode == 0, out[-3000:]
    pd.testing.assert_frame_equal(numbers(study), slow_reference)
    assert restarts(cluster, job) >= 1
    [status] = statuses(tmp_path / "sweeps" / "sweep")
    assert status["skipped"] >= 1 and status["new"] + status["skipped"] == 4


def test_scancel_of_the_array_then_rerun_completes_the_study(cluster, tmp_path, slow_reference):
    env = dict(cluster, **{SLEEP_ENV: "3"})
    proc = launch(tmp_path, "first", SLOW_ARGS, *SLURM, env=env)
    study = tmp_path / "results" / "cluster"
    job = None

    def cancel():  # submitit then sees the cancelled array in sacct and gives up
        nonlocal job
        job, _ = single_job(tmp_path / "sweeps" / "first")
        slurm(cluster, "scancel", job)

    out = interrupt_after_first_point(proc, study, cancel, timeout=120)
    assert proc.returncode != 0 and "CANCELLED" in out
    assert "Traceback" not in out and f"slurm: job {job}" in out and "rerun the same command" in out
    assert 1 <= stored_points(study) < 4

    rerun = run_mvd(tmp_path, "rerun", SLOW_ARGS, *SLURM, env=env)
    pd.testing.assert_frame_equal(numbers(study), slow_reference)
    [status] = statuses(tmp_path / "sweeps" / "rerun")
    assert status["skipped"] >= 1 and status["new"] + status["skipped"] == 4, rerun.stdout


def test_two_arrays_on_one_study_share_the_work(cluster, tmp_path):
    """Two arrays, one task at a time each, over the same curve's two seeds in opposite orders: each
    point is fitted once (a task finding a seed claimed waits for it, then finds its points stored)."""
    split = [a for a in SLOW_ARGS if not a.startswith(("curve.seeds=", "curve.sizes="))] + ["curve.sizes=[16,32]"]
    (tmp_path / "basic").mkdir()
    run_mvd(tmp_path / "basic", "basic", split, "curve.seeds=[0],[1]")
    expected = numbers(tmp_path / "basic" / "results" / "cluster")
    assert len(expected) == 4

    env = dict(cluster, **{SLEEP_ENV: "2"})
    one_at_a_time = [*SLURM, "hydra.launcher.array_parallelism=1"]
    procs = [launch(tmp_path, name, split, seeds, *one_at_a_time, env=env)
             for name, seeds in (("a", "curve.seeds=[0],[1]"), ("b", "curve.seeds=[1],[0]"))]
    outs = []
    try:
        for proc in procs:
            outs.append(proc.communicate(timeout=250)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outs)
    assert len({array_id(tmp_path / "sweeps" / name) for name in "ab"}) == 2  # two arrays
    pd.testing.assert_frame_equal(numbers(tmp_path / "results" / "cluster"), expected)  # 0 lost, 0 duplicated
    both = statuses(tmp_path / "sweeps" / "a") + statuses(tmp_path / "sweeps" / "b")
    assert sum(s["new"] for s in both) == 4 and sum(s["skipped"] for s in both) == 4  # each point fitted once
