"""Costs of the modern rungs per point: fit time, inference time, peak memory.

Each (rung, dataset, n) point runs in a fresh subprocess, built exactly as a curve job
builds it (``mvd.models.build`` on the dataset, the model's config defaults): the training
subset is the first ``n`` rows of seed 0's stratified nested order of the pool, scored on
seed 0's test split.  *fit s*: the pipeline's fit (wall clock; *fit CPU s*: this
process's CPU time, which other load on the machine does not inflate); *predict ms/1k*: predicting the test
split (probabilities too), per 1,000 rows; *peak MB*: the process's peak RSS during the fit
(VmHWM, reset just before it) less its RSS before it (after imports, the dataset load and the
subset's selection); *total MB*: that peak RSS.
Logreg and gbm run beside them as the yardsticks.  One thread per fit (the atlas's
``threads=1``); CPU only unless the machine has a GPU (the torch rungs take ``device=auto``).

    MVD_DATA=/path/to/data .venv/bin/python benchmarks/modern_bench.py
    MVD_DATA=... .venv/bin/python benchmarks/modern_bench.py --points adult:catboost:1024 sms_spam:wordllama:512
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu  # benchmarks/machine.py (scripts run from benchmarks/)

POINTS = [f"adult:{m}:{n}" for m in ("logreg", "gbm", "catboost", "xgboost", "realmlp", "tabm")
          for n in (1024, 8192)] + [f"sms_spam:{m}:{n}" for m in ("logreg", "wordllama") for n in (512, 4096)]


def _status_mb(key: str) -> float:
    """A ``/proc/self/status`` figure (VmRSS: now; VmHWM: the peak since the last reset), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux >= 4.0), so the peak is the fit's own."""
    Path("/proc/self/clear_refs").write_text("5")


def one_point(dataset: str, model: str, n: int, threads: int, overrides=()) -> dict:
    """Fit and predict one point in this process; the figures as a dict."""
    import numpy as np
    from hydra import compose, initialize_config_dir
    from threadpoolctl import threadpool_limits

    from mvd import data, models, splits
    from mvd.config import CONF_DIR, register
    from mvd.data import take

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"dataset={dataset}", f"model={model}", *overrides])
    ds = data.load(cfg.dataset)
    spec = models.spec(cfg.model)
    models.check(spec, ds)
    pool, test = splits.split(ds.y, seed=0, test_fraction=0.25, task=ds.task, test_index=ds.test_index)
    order = splits.nested_order(ds.y[pool], seed=0, task=ds.task)
    rows = pool[order[:n]]
    X_fit, y_fit, X_test = take(ds.X, rows), ds.y[rows], take(ds.X, test)
    pipe = models.build(spec, ds, seed=0, threads=threads)
    import torch  # before the peak's reset: every rung's process holds it (the engine imports it)

    torch.set_num_threads(threads)
    _reset_peak()
    before = _status_mb("VmRSS")
    with threadpool_limits(limits=threads):
        start, cpu_start = time.perf_counter(), time.process_time()
        pipe.fit(X_fit, y_fit)
        fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak = _status_mb("VmHWM")
        start = time.perf_counter()
        pred = pipe.predict(X_test)
        if hasattr(pipe, "predict_proba"):
            pipe.predict_proba(X_test)
        predict_s = time.perf_counter() - start
    return {"dataset": dataset, "model": model, "n": len(rows), "fit_s": round(fit_s, 3), "fit_cpu_s": round(fit_cpu, 3),
            "predict_ms_per_1k": round(1000 * predict_s / len(test) * 1000, 2),
            "peak_mb": round(max(0.0, peak - before), 1), "total_mb": round(peak, 1),
            "accuracy": round(float(np.mean(pred == ds.y[test])), 4),
            "device": str(getattr(pipe[-1], "device_", "cpu"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="*", default=POINTS, help="dataset:model:n (default: the table's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every point, "
                        "e.g. model.classification.n_epochs=50")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a child's single point
    args = parser.parse_args()
    if args.one:
        dataset, model, n = args.one.split(":")
        print(json.dumps(one_point(dataset, model, int(n), args.threads, args.override)))
        return 0
    print(f"# {cpu()}, {os.cpu_count()} cores, {args.threads} thread(s) per fit")
    print(f"{'dataset':>9} {'model':>10} {'n':>6} {'fit s':>8} {'fit CPU s':>9} {'pred ms/1k':>10} {'peak MB':>8} "
          f"{'total MB':>8} {'accuracy':>8} device")
    for point in args.points:
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", point,
                              "--threads", str(args.threads),
                              "--override", *args.override], capture_output=True, text=True)
        if out.returncode:
            print(f"{point}: failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['dataset']:>9} {r['model']:>10} {r['n']:>6} {r['fit_s']:>8.2f} {r['fit_cpu_s']:>9.2f} {r['predict_ms_per_1k']:>10.1f} "
              f"{r['peak_mb']:>8.0f} {r['total_mb']:>8.0f} {r['accuracy']:>8.4f} {r['device']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
