"""Benchmark of mvd's torch nets: loop overhead, digits accuracy, MNIST accuracy and time.

    .venv/bin/python benchmarks/nn_bench.py                 # all three parts
    .venv/bin/python benchmarks/nn_bench.py overhead digits # some of them
    .venv/bin/python benchmarks/nn_bench.py --threads 2     # torch threads per fit (default 1)

overhead  mvd's MLPClassifier fit vs a bare torch loop doing the same 30
          epochs of the same batches (64-256-10 MLP on the digits pool, same
          optimiser and schedule, no early stopping): median of 7 alternating runs.
digits    mlp and cnn through the engine (``curve.run_curve``) at the full pool
          (1,347 rows, 450 test rows), 3 seeds, model defaults from conf/model.
mnist     cnn on the MNIST test images read straight from the IDX files:
          8,000 train / 2,000 test (stratified, seed 0), model defaults plus a
          time_limit; prints time and test accuracy.

Timings depend on the machine's load; the script prints the CPU and cores.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from machine import cpu  # benchmarks/machine.py (scripts run from benchmarks/)
from mvd.nn import CNNClassifier, MLPClassifier

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
PARTS = ["overhead", "digits", "mnist"]



def _digits_pool():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from mvd import splits

    X, y = load_digits(return_X_y=True)
    pool, _ = splits.split(y, seed=0, test_fraction=0.25, task="classification")
    return StandardScaler().fit_transform(X[pool]).astype(np.float32), y[pool]


def bare_loop(X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, seed: int) -> nn.Module:
    """What a careful person writes by hand: tensors in memory, randperm slices, AdamW + cosine."""
    torch.manual_seed(seed)
    X, y = torch.tensor(X), torch.tensor(y)
    model = nn.Sequential(nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    n = len(y)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(n).tensor_split(max(1, round(n / batch_size))):
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()


def overhead(threads: int, repeats: int = 7) -> dict:
    X, y = _digits_pool()
    mvd = MLPClassifier(max_epochs=30, batch_size=64, early_stopping=False, n_threads=threads,
                        random_state=0, device="cpu")
    torch.set_num_threads(threads)
    mvd.fit(X, y), bare_loop(X, y, epochs=30, batch_size=64, seed=0)  # warm-up
    t_mvd, t_bare = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        bare_loop(X, y, epochs=30, batch_size=64, seed=0)
        t_bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        mvd.fit(X, y)
        t_mvd.append(time.perf_counter() - start)
    start = time.perf_counter()
    default = MLPClassifier(n_threads=threads, random_state=0, device="cpu").fit(X, y)
    t_default = time.perf_counter() - start
    out = dict(bare=statistics.median(t_bare), mvd=statistics.median(t_mvd),
               default=t_default, default_epochs=default.n_epochs_)
    out["ratio"] = out["mvd"] / out["bare"]
    print(f"overhead  digits pool {X.shape[0]} rows, 30 epochs x {round(X.shape[0] / 64)} batches, "
          f"{threads} thread(s), median of {repeats}: bare loop {out['bare']:.3f} s, mvd mlp {out['mvd']:.3f} s, "
          f"ratio {out['ratio']:.3f}  (min {min(t_bare):.3f} / {min(t_mvd):.3f} s)")
    print(f"          mvd mlp with its defaults (early stopping): {t_default:.2f} s, "
          f"{default.n_epochs_} epochs")
    return out


def digits(threads: int, seeds=(0, 1, 2)) -> dict:
    """mlp and cnn through the engine at the full pool: the numbers a study would store."""
    from hydra import compose, initialize_config_dir

    from mvd import curve
    from mvd.config import CONF_DIR, register

    register()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("mlp", "cnn"):
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                cfg = compose(config_name="config", overrides=[
                    "dataset=digits", f"model={model}", "curve.sizes=[1347]",
                    f"curve.seeds=[{','.join(map(str, seeds))}]", f"threads={threads}",
                    f"results_dir={tmp}", "study=nn_bench", "progress=false"])
            frame = curve.run_curve(cfg)
            acc = frame.test_accuracy.to_numpy()
            out[model] = dict(mean=float(acc.mean()), accs=acc.tolist(),
                              fit_seconds=float(frame.fit_seconds.mean()), epochs=frame.epochs.tolist())
            print(f"digits    {model}: test accuracy {acc.mean():.4f} (seeds {np.round(acc, 4).tolist()}), "
                  f"fit {frame.fit_seconds.mean():.1f} s mean, epochs {frame.epochs.tolist()}, "
                  f"{int(frame.n_params.iloc[0]):,} parameters, status {sorted(set(frame.status))}")
    return out


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    dims = np.frombuffer(raw, ">i4", count=ndim, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(threads: int, time_limit: float = 90.0) -> dict:
    from sklearn.model_selection import train_test_split

    X = read_idx(MNIST / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32)
    y = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=8000, test_size=2000, stratify=y, random_state=0)
    est = CNNClassifier(image_shape=(1, 28, 28), time_limit=time_limit, n_threads=threads, random_state=0)
    start = time.perf_counter()
    est.fit(X_tr, y_tr)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    acc = est.score(X_te, y_te)
    pred = time.perf_counter() - start
    print(f"mnist     cnn 8,000 train / 2,000 test, time_limit={time_limit:g} s, {threads} thread(s): "
          f"test accuracy {acc:.4f}, fit {fit:.1f} s + predict {pred:.1f} s = {fit + pred:.1f} s, "
          f"{est.n_epochs_} epochs ({est.stopped_by_}), {est.n_params_:,} parameters")
    return dict(accuracy=acc, fit=fit, predict=pred, epochs=est.n_epochs_)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", choices=[[], *PARTS], help="default: all")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--time-limit", type=float, default=90.0, help="seconds for the MNIST cnn fit")
    args = parser.parse_args(argv)
    parts = args.parts or PARTS
    print(f"# {cpu()}, {torch.get_num_threads()} cores visible to torch, torch {torch.__version__}, "
          f"python {sys.version.split()[0]}")
    if "overhead" in parts:
        overhead(args.threads)
    if "digits" in parts:
        digits(args.threads)
    if "mnist" in parts:
        mnist(args.threads, args.time_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
