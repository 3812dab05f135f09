"""Adaptive sweeps: replay figures, overhead between rounds, and a live quickstart.

    .venv/bin/python benchmarks/adaptive_bench.py replay      # every committed study in results/
    .venv/bin/python benchmarks/adaptive_bench.py overhead    # 10,000 stored points: rebuild + choice
    .venv/bin/python benchmarks/adaptive_bench.py live        # quickstart, full grid vs adaptive (minutes)

Replay reads only stored points (no fit).  The overhead is what the sweeper
does between two rounds: read the store, keep the asked points, rebuild the
decision (the report's) and choose the next batch.  Live runs ``mvd experiment=quickstart``
with and without ``hydra/sweeper=adaptive`` into temporary folders and
compares wall time and decisions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def bench_replay() -> None:
    from mvd import adaptive, replay, store

    print("| study | decisions | agreement | CPU (adaptive / grid) | points (adaptive / grid) | rounds | stop |")
    print("|---|---|---|---|---|---|---|")
    for folder in sorted(p for p in (ROOT / "results").iterdir() if (p / "points").is_dir()):
        points = store.load(folder)
        result = replay.replay(points, adaptive.Settings())
        rec = result["record"]
        print(f"| {folder.name} | {len(result['datasets'])} | {result['agreement']:.0%} | "
              f"{rec['used_cpu_seconds']:.1f} / {result['grid_cpu_seconds']:.1f} s ({result['cpu_ratio']:.1%}) | "
              f"{rec['used_points']} / {result['grid_points']} ({result['points_ratio']:.1%}) | "
              f"{len(rec['rounds'])} | {rec['stop']} |")
        for row in result["datasets"]:
            print(f"|   {row['dataset']} | full: {row['full']} | adaptive: {row['adaptive']} | | | | |")


def _synthetic_store(folder: Path, *, n_points: int = 10_000) -> list:
    """A study of 10,000 points: 2 datasets x 5 models x 10 data conditions x 20 sizes x 5 seeds."""
    from mvd import adaptive
    from mvd.files import write_atomic

    rng = np.random.default_rng(0)
    sizes = [int(16 * 1.4142 ** k) for k in range(20)]
    rows = []
    for dataset in ("a", "b"):
        for m, model in enumerate(["dummy", "logreg", "tree", "forest", "gbm"]):
            for c in range(10):
                rate, cleaning = [0.0, 0.1, 0.2, 0.3, 0.4][c % 5], ["none", "oracle"][c // 5]
                run_id = f"{dataset}-{model}-label_noise{rate}-{cleaning}"
                for seed in range(5):
                    for n in sizes:
                        rows.append({"study": "bench", "run_id": run_id, "dataset": dataset, "model": model,
                                     "sophistication": m, "quality": "label_noise", "quality_rate": rate,
                                     "cleaning": cleaning, "train_size": n, "seed": seed, "status": "ok",
                                     "test_accuracy": 0.9 - rate / 2 + m / 100 - n ** -0.5 + rng.normal(0, 0.01),
                                     "primary_metric": "accuracy", "fit_seconds": n / 1e4, "predict_seconds": 1e-3})
    points = pd.DataFrame(rows)
    assert len(points) == n_points, len(points)
    for run_id, part in points.groupby("run_id"):
        write_atomic(folder / "points" / f"{run_id}.parquet", lambda h, part=part: part.to_parquet(h, index=False))
    return adaptive.grid_from_points(points)


def bench_overhead(repeats: int = 5) -> None:
    """Seconds between two rounds for 10,000 stored points (every point asked: the worst case)."""
    from mvd import adaptive, store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid = _synthetic_store(folder)
        ops = adaptive.operating_points(grid)
        settings = adaptive.Settings()
        asked = {(c.run_id, s, n) for c in grid for s in c.seeds for n in c.sizes}
        adaptive.decisions(store.load(folder), ops, settings)  # imports (scipy.stats) once per sweep
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            points = adaptive.load_curves(store.points_dir(folder) / f"{c.run_id}.parquet" for c in grid)
            index = pd.MultiIndex.from_arrays([points["run_id"].astype(str), points["seed"].astype(int),
                                               points["train_size"].astype(int)])
            points = points[index.isin(list(asked))]
            decisions = adaptive.decisions(points, ops, settings)
            adaptive.next_round(grid, ops, asked, decisions)
            times.append(time.perf_counter() - start)
        print(f"overhead between rounds, {len(points)} stored points, {len(grid)} curves: "
              f"median {np.median(times):.2f} s, max {max(times):.2f} s over {repeats} repeats")


def _run(args: list[str], results: Path) -> tuple[float, str]:
    env = dict(os.environ, WANDB_MODE="disabled")
    cmd = [str(ROOT / ".venv" / "bin" / "mvd"), "experiment=quickstart", *args,
           f"results_dir={results}", f"hydra.sweep.dir={results}/multirun", "progress=false"]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=results)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return wall, out.stdout


def bench_live() -> None:
    from mvd import adaptive, store

    with tempfile.TemporaryDirectory() as tmp:
        full_dir, adaptive_dir = Path(tmp) / "full", Path(tmp) / "adaptive"
        full_dir.mkdir(), adaptive_dir.mkdir()
        full_wall, full_out = _run([], full_dir)
        adaptive_wall, adaptive_out = _run(["hydra/sweeper=adaptive"], adaptive_dir)
        points = store.load(full_dir / "quickstart")
        grid = adaptive.grid_from_points(points)
        full = adaptive.decisions(points, adaptive.operating_points(grid), adaptive.Settings())
        record = json.loads((adaptive_dir / "quickstart" / adaptive.RECORD_FILE).read_text())
        print(f"full grid: {full_wall:.1f} s wall, {len(points)} points; "
              f"adaptive: {adaptive_wall:.1f} s wall ({adaptive_wall / full_wall:.0%}), {record['used_points']} points")
        for dataset, dec in full.items():
            mine = record["decisions"][dataset]["chosen"]
            print(f"  {dataset}: full grid {dec.chosen}; adaptive {mine} ({'same' if mine == dec.chosen else 'DIFFERENT'})")
        for name, out in (("full", full_out), ("adaptive", adaptive_out)):
            for line in re.findall(r"^verdict: .*$", out, flags=re.M):
                print(f"  {name} printed: {line}")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "replay"
    {"replay": bench_replay, "overhead": bench_overhead, "live": bench_live}[what]()
