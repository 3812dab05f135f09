"""Wall time of whole multiruns: basic vs joblib launcher, and the cost of W&B offline logging.

    .venv/bin/python benchmarks/launcher_bench.py [--only forest8,quickstart,wandb,validation] [--json out.json]

Each case is one ``mvd`` command, timed end to end (process start to exit,
Hydra, data loads, fits, stores) into a fresh results folder, so resume never
skips a point:

  * forest8    -- 8 comparable jobs: forest on digits, one seed per job
                  (``curve.seeds=[0],...,[7]``), basic vs ``hydra/launcher=joblib``;
  * quickstart -- ``experiment=quickstart`` (10 curves), basic vs joblib;
  * wandb      -- quickstart (basic launcher) without and with ``logger=wandb``
                  in offline mode (``WANDB_MODE=offline``, a throwaway ``WANDB_DIR``);
  * validation -- in one process, what a job pays under an optimising sweeper:
                  ``mvd.sweep_score.validation_score`` (one more fit per seed, on
                  the training pool) against the job's own curve, for logreg and
                  forest on digits, default sizes, 3 seeds.

Goals: joblib >= 1.7x faster than basic on 2 cores for forest8;
W&B offline adds < 10 % to the quickstart.  Timings on a shared machine are
noisy: the script prints the load average before and after each case, and
first measures how many cores this session really gets (two CPU-bound
processes at once vs one), the ceiling of any parallel speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from machine import cpu  # benchmarks/machine.py (scripts run from benchmarks/)

MVD = str(Path(sys.executable).with_name("mvd"))
COMMON = ["progress=false", "report.build=false"]
FOREST8 = ["-m", "dataset=digits", "model=forest", "curve.seeds=" + ",".join(f"[{s}]" for s in range(8)),
           "study=bench_forest8"]
QUICKSTART = ["experiment=quickstart"]



def run(args: list[str], *, env: dict | None = None) -> float:
    """Seconds one ``mvd`` command takes, into a fresh results dir; fails loudly if mvd fails."""
    with tempfile.TemporaryDirectory(prefix="mvd-bench-") as tmp:
        cmd = [MVD, *args, *COMMON, f"results_dir={tmp}/results", f"hydra.sweep.dir={tmp}/sweep",
               f"hydra.run.dir={tmp}/run"]
        full_env = {**os.environ, "WANDB_MODE": "disabled", **(env or {})}
        full_env.setdefault("WANDB_DIR", tmp)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=full_env)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return elapsed


_SPIN = "import time; t = time.perf_counter(); x = sum(range(30_000_000)); print(time.perf_counter() - t)"


def available_cores(n: int = 2) -> float:
    """Cores this session really gets now: n CPU-bound processes at once vs one alone.

    On a shared machine with ``sched_autogroup`` (one CPU share per login session)
    this can be ~1 even with 2 idle-looking cores, and caps any parallel speed-up.
    """
    alone = float(subprocess.run([sys.executable, "-c", _SPIN], capture_output=True, text=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True) for _ in range(n)]
    together = max(float(p.communicate()[0]) for p in procs)
    return n * alone / together


def case(name: str, variants: dict[str, tuple[list[str], dict | None]]) -> dict:
    out = {"case": name, "load_before": os.getloadavg()[0]}
    for label, (args, env) in variants.items():
        out[label] = run(args, env=env)
        print(f"  {name:<11} {label:<10} {out[label]:7.1f} s", flush=True)
    out["load_after"] = os.getloadavg()[0]
    return out


def validation_cost() -> list[dict]:
    """Seconds of a job's curve vs its validation score (what an optimising sweeper adds per job)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from mvd import curve
    from mvd.config import CONF_DIR, register
    from mvd.sweep_score import validation_score

    register()
    rows = []
    for model in ("logreg", "forest"):
        with tempfile.TemporaryDirectory(prefix="mvd-bench-") as tmp:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                cfg = compose(config_name="config", overrides=["dataset=digits", f"model={model}",
                                                                "curve.seeds=[0,1,2]"])
            with open_dict(cfg):
                cfg.results_dir, cfg.progress = tmp, False
            prepared = curve.plan(cfg)
            start = time.perf_counter()
            curve.run_curve(cfg, prepared=prepared)
            job = time.perf_counter() - start
            start = time.perf_counter()
            validation_score(prepared)
            extra = time.perf_counter() - start
        rows.append({"case": "validation", "model": model, "points": prepared.n_points, "curve": job,
                     "validation": extra, "overhead": extra / job})
        print(f"  validation  {model:<8} curve {job:6.2f} s ({prepared.n_points} points)   "
              f"validation score {extra:5.2f} s   (+{100 * extra / job:.0f} %)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="forest8,quickstart,wandb")
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    capacity = available_cores()
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    autogroup = autogroup.read_text().strip() if autogroup.exists() else "n/a"
    print(f"nproc={os.cpu_count()}  cpu={cpu()}  python={platform.python_version()}  "
          f"load={os.getloadavg()[0]:.1f}  sched_autogroup={autogroup}  cores available now={capacity:.2f}")
    joblib = ["hydra/launcher=joblib"]
    results = []
    wanted = opts.only.split(",")
    if "forest8" in wanted:
        r = case("forest8", {"basic": (FOREST8, None), "joblib": (FOREST8 + joblib, None)})
        r["speedup"] = r["basic"] / r["joblib"]
        results.append(r)
    if "quickstart" in wanted:
        r = case("quickstart", {"basic": (QUICKSTART, None), "joblib": (QUICKSTART + joblib, None)})
        r["speedup"] = r["basic"] / r["joblib"]
        results.append(r)
    if "wandb" in wanted:
        r = case("wandb", {"none": (QUICKSTART, None),
                           "offline": (QUICKSTART + ["logger=wandb"], {"WANDB_MODE": "offline"})})
        r["overhead"] = r["offline"] / r["none"] - 1
        results.append(r)
    for r in results:
        if r["case"] == "validation":
            continue
        extra = (f"speed-up {r['speedup']:.2f}x" if "speedup" in r else f"W&B overhead {100 * r['overhead']:+.1f} %")
        print(f"{r['case']:<11} {extra}   (load average {r['load_before']:.1f} -> {r['load_after']:.1f})")
    if "validation" in wanted:
        results.extend(validation_cost())
    if opts.json:
        opts.json.write_text(json.dumps({"nproc": os.cpu_count(), "cpu": cpu(), "cores_available": capacity,
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
