"""Scheduler overhead per job on a local SLURM and Ray cluster vs the basic launcher, and the quickstart on each.

    .venv/bin/python benchmarks/cluster_bench.py [--only overhead,quickstart] [--repeats 5] [--json out.json]

Brings up the clusters itself and stops them after: SLURM with
``scripts/slurm-up.sh`` (root and Debian's packages), Ray with ``ray start
--head`` in a temp dir (2 CPUs, token auth off, loopback only).

  * overhead   -- a sweep of 4 trivial jobs (dummy model on iris, one point
                  each), timed end to end (``mvd`` start to exit); seconds per
                  job = wall / 4; median of ``--repeats`` runs per launcher.
                  The overhead of a launcher is its seconds per job minus the
                  basic launcher's.  Cluster start-up is excluded (the clusters
                  are already up), the Ray driver's connection is included.
  * quickstart -- ``experiment=quickstart`` (10 curves) once per launcher.

Each run writes into a fresh results folder, so resume never skips a point.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu  # benchmarks/machine.py (scripts run from benchmarks/)

REPO = Path(__file__).resolve().parents[1]
MVD = str(Path(sys.executable).with_name("mvd"))
RAY = str(Path(sys.executable).with_name("ray"))
TRIVIAL = ["-m", "dataset=iris", "model=dummy", "curve.sizes=[16]", "curve.seeds=[0],[1],[2],[3]",
           "study=bench_overhead", "progress=false", "report.build=false"]
QUICKSTART = ["experiment=quickstart", "progress=false"]
JOBS = 4


def run(args: list[str], env: dict) -> float:
    """Seconds one ``mvd`` command takes, into a fresh results dir; fails loudly if mvd fails."""
    with tempfile.TemporaryDirectory(prefix="mvd-bench-") as tmp:
        cmd = [MVD, *args, f"results_dir={tmp}/results", f"hydra.sweep.dir={tmp}/sweep"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env={**env, "WANDB_MODE": "disabled"})
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_up() -> tuple[str, dict]:
    folder = tempfile.mkdtemp(prefix="mvd-slurm.")
    subprocess.run([str(REPO / "scripts" / "slurm-up.sh"), folder], check=True, capture_output=True)
    return folder, {**os.environ, "SLURM_CONF": f"{folder}/slurm.conf"}


def ray_up() -> tuple[subprocess.Popen, str, str]:
    temp, port = tempfile.mkdtemp(prefix="mvd-ray."), free_port()
    proc = subprocess.Popen([RAY, "start", "--head", "--block", f"--temp-dir={temp}", f"--port={port}",
                             "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    time.sleep(3)  # the raylet registers after the GCS answers
    return proc, temp, f"127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="overhead,quickstart")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    cases = set(opts.only.split(","))
    folder, slurm_env = slurm_up()
    ray_proc, ray_temp, address = ray_up()
    launchers = {
        "basic": ([], dict(os.environ)),
        "slurm": (["hydra/launcher=slurm", "hydra.launcher.partition=short", "hydra.launcher.timeout_min=10",
                   "hydra.launcher.mem_gb=1"], slurm_env),
        "ray": (["hydra/launcher=ray", f"hydra.launcher.address={address}"], dict(os.environ)),
    }
    results: dict = {"cpu": cpu(), "cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    try:
        if "overhead" in cases:
            per_job = {}
            for name, (extra, env) in launchers.items():
                times = [run(TRIVIAL + extra, env) / JOBS for _ in range(opts.repeats)]
                per_job[name] = {"median_s_per_job": statistics.median(times), "runs_s_per_job": times}
                print(f"{name:6s} {statistics.median(times):6.2f} s/job  (runs: "
                      f"{', '.join(f'{t:.2f}' for t in times)})", flush=True)
            base = per_job["basic"]["median_s_per_job"]
            for name, row in per_job.items():
                row["overhead_s_per_job"] = row["median_s_per_job"] - base
            results["overhead"] = per_job
        if "quickstart" in cases:
            results["quickstart_s"] = {}
            for name, (extra, env) in launchers.items():
                results["quickstart_s"][name] = wall = run(QUICKSTART + extra, env)
                print(f"quickstart {name:6s} {wall:7.1f} s", flush=True)
    finally:
        subprocess.run([str(REPO / "scripts" / "slurm-down.sh"), folder])
        os.killpg(ray_proc.pid, signal.SIGTERM)
        try:
            ray_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(ray_proc.pid, signal.SIGKILL)
            ray_proc.wait()
        subprocess.run(["rm", "-rf", ray_temp])
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
