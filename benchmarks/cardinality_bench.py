"""What one point costs as the classes multiply: every tabular rung on places_region at 4,096 rows.

For each rung and each cardinality k (``dataset.params.top_classes``: 32, 246, then all 3,789
regions), one point (seed 0, 4,096 training rows, the full 25 % test split) runs through mvd's own
engine in a child process with 2 BLAS/OpenMP threads (``threads=2``).  The child's CPU time is
capped at the budget (5 minutes on 2 cores = 600 CPU-seconds, ``RLIMIT_CPU``); CPU time, not wall
time, is the measure, so a busy shared machine slows the clock but not the verdict.  A rung whose
cost at one k, scaled linearly in the classes, exceeds twice the budget at the next k is not run
there: it is reported as over budget, with the extrapolated cost.

    MVD_DATA=/path/to/data python benchmarks/cardinality_bench.py --out /tmp/cardinality_bench.csv
    MVD_DATA=/path/to/data python benchmarks/cardinality_bench.py --rungs forest,hierarchical --ks 3789
    MVD_DATA=/path/to/data python benchmarks/cardinality_bench.py --dataset places_name_country \
        --rungs dummy,logreg,nb,embedbag --ks 246 --out /tmp/cardinality_text.csv

``--price`` prices ``experiments/cardinality.yaml`` from those measurements, without running it:
every curve of the study (each grid's jobs, composed and planned as the sweep would) costs
5 seeds x its sizes x ``overhead(k) + (cost(rung, k) - overhead(k)) * (n / 4,096) ** b``, where
``overhead(k)`` is the dummy's point at k classes (scoring a test set of 36,141 rows over k
classes, paid at every size), ``cost`` the measured point at the nearest measured k at or above
the curve's (a dataset of fewer classes is priced as the next measured one, an upper bound),
``b`` 1 (2 for the SVM, whose kernel matrix grows with n^2); a tuned point pays its fit
``1 + trials x folds x (folds-1)/folds`` times (4 trials on 2 inner folds: 5 times).

    MVD_DATA=/path/to/data python benchmarks/cardinality_bench.py \
        --price /tmp/cardinality_bench.csv,/tmp/cardinality_text.csv
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

RUNGS = ["dummy", "logreg", "nb", "knn", "tree", "forest", "svm", "gbm", "lightgbm", "mlp", "hierarchical"]
KS = [32, 246, 3789]
ALL = 3789
BUDGET_CPU = 600.0  # 5 minutes on 2 cores
ROWS = 4096


EXPONENT = {"svm": 2.0}
TUNED_FACTOR = 1 + 4 * 2 * (2 - 1) / 2


def one(rung: str, k: int, results: str, dataset: str = "places_region", rows: int = ROWS) -> dict:
    """One point of ``rung`` at ``k`` classes, in this process: its times and scores."""
    from hydra import compose, initialize_config_dir

    from mvd import curve
    from mvd.config import CONF_DIR, register

    register()
    overrides = [f"dataset={dataset}", f"model={rung}", f"curve.sizes=[{rows}]", "curve.seeds=[0]",
                 "threads=2", f"results_dir={results}", "progress=false",
                 "model.max_classes=null"]  # the budget is what this measures
    if k < ALL:
        overrides.append(f"dataset.params.top_classes={k}")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    plan = curve.plan(cfg)
    cpu, wall = time.process_time(), time.perf_counter()
    frame = curve.run_curve(cfg, prepared=plan)
    point = frame.iloc[-1].to_dict()
    keep = ("status", "error", "fit_seconds", "predict_seconds", "test_accuracy", "test_top5_accuracy",
            "test_macro_f1", "test_head_accuracy", "test_torso_accuracy", "test_tail_accuracy", "n_test_unseen")
    return {"dataset": dataset, "rung": rung, "classes": k, "rows": rows, "cpu_seconds": time.process_time() - cpu,
            "wall_seconds": time.perf_counter() - wall, **{c: point.get(c) for c in keep}}


def _limit_cpu():
    resource.setrlimit(resource.RLIMIT_CPU, (int(BUDGET_CPU), int(BUDGET_CPU) + 5))


def measure(rung: str, k: int, dataset: str = "places_region", rows: int = ROWS) -> dict:
    """One point in a child process capped at the CPU budget; over it: status 'over budget'."""
    with tempfile.TemporaryDirectory() as results:
        cmd = [sys.executable, __file__, "--one", rung, str(k), results, "--dataset", dataset, "--rows", str(rows)]
        env = dict(os.environ, WANDB_MODE="disabled", PYTHONWARNINGS="ignore")
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=_limit_cpu)
        wall = time.perf_counter() - start
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode == 0 and lines:
        return json.loads(lines[-1])
    over = out.returncode in (-9, -24, 137, 152)  # SIGKILL / SIGXCPU: the CPU cap
    return {"dataset": dataset, "rung": rung, "classes": k, "cpu_seconds": BUDGET_CPU if over else float("nan"),
            "wall_seconds": wall, "status": "over budget" if over else "failed",
            "error": " ".join(out.stderr.strip().splitlines()[-1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", default=",".join(RUNGS))
    parser.add_argument("--ks", default=",".join(map(str, KS)))
    parser.add_argument("--out", default="")
    parser.add_argument("--dataset", default="places_region")
    parser.add_argument("--rows", type=int, default=ROWS, help="training rows of the point (default 4,096)")
    parser.add_argument("--one", nargs=3, metavar=("RUNG", "K", "RESULTS"))
    parser.add_argument("--price", default="", help="comma-separated CSVs of this benchmark: price the study")
    args = parser.parse_args()
    if args.one:
        rung, k, results = args.one
        print(json.dumps(one(rung, int(k), results, args.dataset, args.rows), default=str), flush=True)
        return
    if args.price:
        price(pd.concat([pd.read_csv(p) for p in args.price.split(",")], ignore_index=True))
        return
    rows = []
    for rung in args.rungs.split(","):
        last = None
        for k in sorted(int(x) for x in args.ks.split(",")):
            if last is not None and last["status"] != "ok":
                rows.append({"dataset": args.dataset, "rung": rung, "classes": k, "status": "not run",
                             "cpu_seconds": float("nan"), "note": f"over budget at {last['classes']} classes"})
                print(json.dumps(rows[-1]), flush=True)
                continue
            if last is not None:
                guess = last["cpu_seconds"] * k / last["classes"]
                if guess > 2 * BUDGET_CPU:
                    rows.append({"dataset": args.dataset, "rung": rung, "classes": k, "status": "not run",
                                 "cpu_seconds": float("nan"), "extrapolated_cpu_seconds": guess,
                                 "note": f"linear in the classes from {last['classes']}: {guess:.0f} CPU-s"})
                    print(json.dumps(rows[-1]), flush=True)
                    last = rows[-1]
                    continue
            last = measure(rung, k, args.dataset, args.rows)
            rows.append(last)
            print(json.dumps(last, default=str), flush=True)
    frame = pd.DataFrame(rows)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out, index=False)
    cols = [c for c in ("rung", "classes", "status", "cpu_seconds", "wall_seconds", "fit_seconds",
                        "predict_seconds", "test_accuracy", "test_top5_accuracy", "extrapolated_cpu_seconds")
            if c in frame]
    print(frame[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def _curves():
    """(grid, overrides, plan) of every curve of experiments/cardinality.yaml, planned as the sweep would."""
    from hydra import compose, initialize_config_dir

    from mvd import curve
    from mvd.callbacks import sweep_overrides
    from mvd.config import CONF_DIR, register

    register()
    out = []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        root = compose(config_name="config", overrides=["experiment=cardinality"], return_hydra_config=True)
        for job in sweep_overrides(root):
            cfg = compose(config_name="config", overrides=["experiment=cardinality", *job])
            out.append((job, cfg, curve.plan(cfg)))
    return out


def price(bench: pd.DataFrame) -> pd.DataFrame:
    """CPU-hours of every curve of the study, from the measured points (see the module docstring)."""
    bench = bench[bench["rows"].fillna(ROWS) == ROWS] if "rows" in bench else bench
    bench = bench.assign(dataset=bench["dataset"].fillna("places_region") if "dataset" in bench else "places_region")
    ok = bench[bench["status"] == "ok"]
    def family(name: str) -> str:  # the text task is measured on its own; <name>_top<k> is <name>'s family
        return "text" if name.startswith("places_name_country") else "tabular"

    def measured(dataset, rung, k):
        rows = ok[(ok["rung"] == rung) & (ok["dataset"].map(family) == family(dataset))]
        above = rows[rows["classes"] >= k]
        rows = above if len(above) else rows
        if rows.empty:
            return None
        return rows.loc[(rows["classes"] - k).abs().idxmin()]

    out = []
    for job, cfg, plan in _curves():
        ds, rung, k = plan.dataset.name, plan.model.name, plan.dataset.n_classes
        point, dummy = measured(ds, rung, k), measured(ds, "dummy", k)
        if point is None or dummy is None:
            out.append({"job": " ".join(job), "rung": rung, "dataset": ds, "classes": k,
                        "cpu_hours": float("nan")})
            continue
        overhead = float(dummy["cpu_seconds"])
        fit = max(float(point["cpu_seconds"]) - overhead, 0.0) * (TUNED_FACTOR if plan.tuning else 1.0)
        b = EXPONENT.get(rung, 1.0)
        seconds = len(plan.seeds) * sum(overhead + fit * (n / ROWS) ** b for n in plan.sizes)
        out.append({"job": " ".join(job), "rung": rung, "dataset": ds, "classes": k,
                    "tuned": plan.tuning is not None, "sizes": len(plan.sizes), "largest": max(plan.sizes),
                    "cpu_hours": seconds / 3600})
    frame = pd.DataFrame(out)
    pd.set_option("display.width", 200)
    print(frame.groupby(["rung", "dataset"])["cpu_hours"].sum(min_count=1).unstack("dataset").round(2).to_string())
    print(frame.groupby(["dataset", "classes"])["cpu_hours"].sum(min_count=1).round(2).to_string())
    print(frame.groupby("tuned")["cpu_hours"].sum().round(2).to_string())
    print(f"curves: {len(frame)}; unpriced: {int(frame['cpu_hours'].isna().sum())}; "
          f"total: {frame['cpu_hours'].sum():.1f} CPU-hours, {frame['cpu_hours'].sum() / 2:.1f} hours on 2 cores")
    return frame


if __name__ == "__main__":
    main()
