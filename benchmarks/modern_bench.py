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
    .venv/bin/python benchmarks/modern_bench.py --price gpu   # CPU-hours the new rungs add (--price budget)

``--price`` prices each new rung's curves from the points measured below (MEASURED): a point
costs its fit's CPU seconds plus predicting the test split and the training subset (the
measured wall time per 1,000 rows, scaled by the fit's CPU/wall ratio, since the machine was
shared); ``cost(n) = a * n^b`` through the two measured sizes (``atlas_cost.extrapolate``)
prices every size of each study's grid, for every dataset alike (adult's one-hot table is
among the widest, so this leans high for the small tables and low for letter's 26 classes).
A tuned point adds the fair_mind budget: 4 trials x 2 inner folds, each a fit on n/2 rows.
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


# (dataset, model, n) -> (fit CPU s, fit wall s, predict wall ms per 1,000 rows), from the table in
# benchmarks/README.md ("Modern rungs"); tabm beyond 1,024 rows is extrapolated from 128 and 1,024
MEASURED = {
    ("adult", "catboost"): {128: (1.93, 3.15, 19.0), 1024: (3.82, 25.38, 90.1), 8192: (12.36, 51.08, 83.7)},
    ("adult", "xgboost"): {1024: (0.10, 0.52, 84.7), 8192: (0.22, 1.09, 68.7)},
    ("adult", "realmlp"): {128: (3.33, 10.61, 99.0), 1024: (16.46, 103.55, 345.4), 8192: (118.61, 577.67, 339.0)},
    ("adult", "tabm"): {128: (8.56, 25.87, 2939.4), 1024: (48.20, 276.94, 6850.8)},
    ("sms_spam", "wordllama"): {512: (0.19, 0.58, 1236.5), 4096: (1.25, 5.17, 1455.8)},
}
# dataset -> (training pool, test rows), as the studies split them (official test splits where the data has one)
DATASETS = {"iris": (112, 38), "wine": (133, 45), "breast_cancer": (426, 143), "digits": (1347, 450),
            "optdigits": (3823, 1797), "spambase": (3450, 1151), "magic": (14265, 4755),
            "letter": (15000, 5000), "adult": (32561, 16281), "sms_spam": (4180, 1394)}
STUDIES = {  # study -> (datasets, max_size, seeds) of the arm the new rungs would join
    "atlas": (["iris", "wine", "breast_cancer", "digits", "optdigits", "spambase", "magic", "letter", "adult"],
              8192, 5),
    "fair_mind": (["digits", "breast_cancer", "spambase", "magic", "adult"], 4096, 5),
}


# the trims proposed in benchmarks/README.md: model -> (largest default size, largest tuned size; 0: not tuned).
# "gpu": the GPU-sized rung at defaults up to 1,024 rows, as cnn and transformer; "budget": also the
# CatBoost search cut to 1,024 rows and RealMLP-TD at its tuned defaults only (no per-point search)
TRIMS = {
    "gpu": {"catboost": (8192, 8192), "xgboost": (8192, 8192), "wordllama": (8192, 8192),
            "realmlp": (8192, 1024), "tabm": (1024, 0)},
    "budget": {"catboost": (8192, 1024), "xgboost": (8192, 8192), "wordllama": (8192, 8192),
               "realmlp": (8192, 0), "tabm": (1024, 0)},
}


def point_costs(model: str, dataset: str, sizes, test_rows: int) -> "np.ndarray":
    """CPU seconds of one default point at each size (fit + test and training predictions)."""
    import numpy as np

    from atlas_cost import extrapolate

    key = ("sms_spam" if model == "wordllama" else "adult", model)
    measured = {n: v for n, v in MEASURED[key].items() if v is not None}
    fit = extrapolate({n: v[0] for n, v in measured.items()}, sizes)
    if len(measured) == 1:  # one size: fit cost linear in the rows (epochs x steps per epoch)
        (n0, v0), = measured.items()
        fit = v0[0] * np.asarray(sizes, float) / n0
    predict_ms = np.mean([v[2] * v[0] / v[1] for v in measured.values()])  # CPU ms per 1,000 rows
    return fit + predict_ms / 1000 * (test_rows + np.asarray(sizes, float)) / 1000


def price(trims: dict) -> None:
    from mvd.splits import sizes as grid

    print(f"{'study':>9} {'model':>10} {'default h':>9} {'tuned h':>8} {'trimmed h':>9}  per dataset "
          "(default + tuned, h)")
    for study, (datasets, max_size, seeds) in STUDIES.items():
        rows = [(m, datasets) for m in ("catboost", "xgboost", "realmlp", "tabm")]
        if study == "atlas":
            rows.append(("wordllama", ["sms_spam"]))
        total = trimmed = 0.0
        for model, names in rows:
            default = tuned = kept = 0.0
            per = []
            for name in names:
                pool, test = DATASETS[name]
                ns = grid(pool, max_size=max_size)
                d = point_costs(model, name, ns, test) * seeds
                t = d + 4 * 2 * point_costs(model, name, [max(1, n // 2) for n in ns], test) * seeds
                cap_default, cap_tuned = trims[model]
                kept += sum(d[i] for i, n in enumerate(ns) if n <= cap_default)
                kept += sum(t[i] for i, n in enumerate(ns) if n <= cap_tuned)
                default, tuned = default + d.sum(), tuned + t.sum()
                per.append(f"{name} {(d.sum() + t.sum()) / 3600:.2f}")
            total, trimmed = total + default + tuned, trimmed + kept
            print(f"{study:>9} {model:>10} {default / 3600:9.2f} {tuned / 3600:8.2f} {kept / 3600:9.2f}  "
                  f"{', '.join(per)}")
        print(f"{study:>9} {'all new':>10} {total / 3600:18.1f} {trimmed / 3600:9.1f}  CPU-hours "
              "(default + tuned; trimmed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="*", default=POINTS, help="dataset:model:n (default: the table's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every point, "
                        "e.g. model.classification.n_epochs=50")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a child's single point
    parser.add_argument("--price", choices=sorted(TRIMS), default=None,
                        help="price the new rungs in the atlas and fair_mind, trimmed one of these ways")
    args = parser.parse_args()
    if args.price:
        price(TRIMS[args.price])
        return 0
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
