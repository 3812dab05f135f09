"""A real local Ray cluster (``ray start --head``, its own temp dir, stopped after): ``hydra/launcher=ray``
gives exactly the basic launcher's points; a worker killed mid-curve is retried and resumes from its
stored points; a killed launch rerun completes the study; an unreachable address is refused up front."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.cluster_helpers import (ARGS, PID_ENV, SLEEP_ENV, SLOW_ARGS, interrupt_after_first_point, job_env, launch,
                                   numbers, run_mvd, stored_points, wait_until)

pytest.importorskip("ray", reason="ray not installed (pip install 'mvd[ray]')")
# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.xdist_group("ray")]
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def head():
    """``ray start --head`` with 2 CPUs in a temp dir; yields its address; stops every process it started.

    Token authentication (on by default since Ray 2.5x) is off: the head listens on this machine only.
    """
    temp = tempfile.mkdtemp(prefix="mvd-ray.")  # short: Ray puts unix sockets there
    port = free_port()
    proc = subprocess.Popen([RAY, "start", "--head", "--block", f"--temp-dir={temp}", f"--port={port}",
                             "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=job_env(RAY_AUTH_MODE="disabled"))
    try:
        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until(up, timeout=120, what="the Ray head node", proc=proc)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the blocking `ray start` stops the processes it started
        try:
            proc.wait(timeout=5)  # it often takes longer; what is left of the group is killed below
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of the group still there
        except ProcessLookupError:
            pass
        proc.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow_reference")
    run_mvd(root, "basic", SLOW_ARGS)
    return numbers(root / "results" / "cluster")


def test_ray_launcher_gives_the_basic_launchers_points(head, tmp_path):
    (tmp_path / "basic").mkdir()
    run_mvd(tmp_path / "basic", "basic", ARGS)
    expected = numbers(tmp_path / "basic" / "results" / "cluster")
    assert len(expected) == 6
    run_mvd(tmp_path, "ray", ARGS, "hydra/launcher=ray", f"hydra.launcher.address={head}")
    pd.testing.assert_frame_equal(numbers(tmp_path / "results" / "cluster"), expected)
    assert len(list((tmp_path / "sweeps" / "ray").glob("*/mvd_job.json"))) == 3


def test_killed_worker_is_retried_and_resumes_from_stored_points(head, tmp_path, slow_reference):
    pid_file = tmp_path / "worker.pid"
    env = job_env(**{SLEEP_ENV: "3", PID_ENV: str(pid_file)})
    proc = launch(tmp_path, "ray", SLOW_ARGS, "hydra/launcher=ray", f"hydra.launcher.address={head}", env=env)
    study = tmp_path / "results" / "cluster"
    # the Ray worker running the curve job
    out = interrupt_after_first_point(proc, study, lambda: os.kill(int(pid_file.read_text()), signal.SIGKILL))
    assert proc.returncode == 0, out[-3000:]
    pd.testing.assert_frame_equal(numbers(study), slow_reference)
    assert "1 job(s)" in out and " stored, 0 failed" in out and ": 4 new," not in out  # the retry skipped some


def test_killed_launch_then_rerun_completes_the_study(head, tmp_path, slow_reference):
    env = job_env(**{SLEEP_ENV: "2"})
    extra = ["hydra/launcher=ray", f"hydra.launcher.address={head}"]
    proc = launch(tmp_path, "first", SLOW_ARGS, *extra, env=env)
    study = tmp_path / "results" / "cluster"
    wait_until(lambda: stored_points(study) >= 1, timeout=120, what="the first point", proc=proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver: Ray cancels the tasks it owned
    proc.wait()
    time.sleep(1)
    assert stored_points(study) < 4
    rerun = run_mvd(tmp_path, "rerun", SLOW_ARGS, *extra, env=env)
    pd.testing.assert_frame_equal(numbers(study), slow_reference)
    assert ": 4 new," not in rerun.stdout


def test_unreachable_ray_address_is_refused_before_any_job(tmp_path):
    port = free_port()  # nobody listens there
    proc = run_mvd(tmp_path, "ray", ARGS, "hydra/launcher=ray", f"hydra.launcher.address=127.0.0.1:{port}",
                   check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"mvd: error: hydra.launcher.address='127.0.0.1:{port}' is unreachable (Connection refused); start the "
        f"head node there with `ray start --head`, or allowed: the host:port of a running Ray head, 'auto', or "
        f"null (a local Ray for this sweep).")
    assert not (tmp_path / "results").exists() and not (tmp_path / "sweeps").exists()
