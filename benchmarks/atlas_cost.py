"""What the atlas would cost here, measured before it runs: a pilot of single points.

Every clean-data curve of ``experiments/atlas.yaml`` (each dataset x rung, default and tuned)
is fitted for one seed at a few sizes (256, 1,024, 4,096, capped by the curve's own largest
size), smallest first, and stops growing once a point costs more than ``--cap`` seconds.
``cost(n) = a * n^b`` through its measured points prices every size of the real grid.  Noisy
arms run default models: label noise, missing cells, pixel noise and a prior shift cost what
clean data does; confident learning and prior correction add their out-of-fold fits
(``folds`` fits on (folds-1)/folds of the rows).  Prints CPU-hours per dataset and per arm.

    MVD_DATA=/path/to/data python benchmarks/atlas_cost.py --out /tmp/atlas_cost.csv
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PILOT = [256, 1024, 4096]


def clean_curves(root_overrides):
    """(overrides, composed config, plan) of every clean-data curve of the atlas, tuned ones too."""
    from hydra import compose

    from mvd import curve
    from mvd.callbacks import sweep_overrides

    root = compose(config_name="config", overrides=root_overrides, return_hydra_config=True)
    out, seen = [], set()
    for job in sweep_overrides(root):
        cfg = compose(config_name="config", overrides=[*root_overrides, *job])
        plan = curve.plan(cfg)
        if cfg.quality.name != "clean" or plan.run_id in seen:
            continue
        seen.add(plan.run_id)
        out.append((job, cfg, plan))
    return out


def pilot(job, root_overrides, results, cap, largest):
    """{n: CPU seconds of one point} at the pilot sizes (capped by the curve's ``largest``), smallest first."""
    from hydra import compose

    from mvd import curve, store
    from mvd.adaptive import point_cost
    from mvd.job import run

    costs = {}
    for n in sorted({min(n, largest) for n in PILOT}):
        cfg = compose(config_name="config", overrides=[*root_overrides, *job, f"curve.sizes=[{n}]",
                                                       "curve.seeds=[0]", f"results_dir={results}", "progress=false"])
        plan = curve.plan(cfg)
        start = time.process_time()
        status = run(cfg)
        cpu = time.process_time() - start
        frame = store.CurveFile(plan.study_dir, plan.run_id).frame
        point = frame[frame["train_size"] == n]
        if status["failed"] or point.empty:
            break
        costs[n] = max(cpu, float(point_cost(point).iloc[0]))
        if costs[n] > cap:
            break
    return costs


def extrapolate(costs: dict, sizes) -> np.ndarray:
    """Cost of every size from the pilot's points: a power law through them (flat from one point)."""
    ns, cs = np.array(list(costs), float), np.array(list(costs.values()), float)
    b = np.polyfit(np.log(ns), np.log(np.maximum(cs, 1e-4)), 1)[0] if len(ns) > 1 else 1.0
    b = float(np.clip(b, 0.0, 2.5))
    return cs[-1] * (np.asarray(sizes, float) / ns[-1]) ** b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=20.0, help="stop growing a curve past a point this costly")
    parser.add_argument("--out", type=Path, default=None, help="write the per-curve table here (CSV)")
    parser.add_argument("--only", default=None, help="comma-separated datasets to price (default: all)")
    args = parser.parse_args()

    from hydra import initialize_config_dir

    from mvd.config import CONF_DIR, register

    register()
    os.environ.setdefault("WANDB_MODE", "disabled")
    root_overrides = ["experiment=atlas"]
    rows = []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"), \
            tempfile.TemporaryDirectory() as results:
        for job, cfg, plan in clean_curves(root_overrides):
            if args.only and str(cfg.dataset.name) not in args.only.split(","):
                continue
            costs = pilot(job, root_overrides, results, args.cap, max(plan.sizes))
            if not costs:
                continue
            per_size = extrapolate(costs, plan.sizes)
            rows.append({"dataset": str(cfg.dataset.name), "model": str(cfg.model.name),
                         "tuning": str(cfg.tuning.name), "sizes": len(plan.sizes), "largest": max(plan.sizes),
                         "seeds": len(plan.seeds), "pilot": costs,
                         "curve_cpu_s": float(per_size.sum()) * len(plan.seeds),
                         "cl_fit_s": float(extrapolate(costs, [0.8 * n for n in plan.sizes]).sum()) * len(plan.seeds)})
            print(f"{rows[-1]['dataset']:>13} {rows[-1]['model']:>11} {rows[-1]['tuning']:>6}: "
                  f"{rows[-1]['curve_cpu_s']:8.0f} CPU-s for {len(plan.sizes)} sizes x {len(plan.seeds)} seeds "
                  f"(pilot {', '.join(f'{n}: {c:.2f}s' for n, c in costs.items())})", flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    print(table.groupby(["dataset", "tuning"])["curve_cpu_s"].sum().div(3600).round(2).unstack())
    print(f"clean curves, default + tuned: {table['curve_cpu_s'].sum() / 3600:.1f} CPU-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
