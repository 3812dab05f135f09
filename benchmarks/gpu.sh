#!/usr/bin/env bash
# GPU check of mvd's torch nets: mlp and cnn on MNIST-sized data, a few minutes at most.
#
#   benchmarks/gpu.sh                      # from the repository root
#   MNIST_DIR=/path/to/mnist benchmarks/gpu.sh
#
# For each model prints: samples/second (10 epochs, no early stopping), time to 99% train
# accuracy (shortest full schedule of 1, 2, 4, ... epochs that reaches it), test accuracy
# and peak GPU memory.  Data: the MNIST test images (8,000 train / 2,000 test) from
# $MNIST_DIR (default ../shared/data/mnist), else synthetic 28x28 images of 10 classes.
# Without a CUDA GPU it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export MNIST_DIR="${MNIST_DIR:-../shared/data/mnist}"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

exec "$PYTHON" - <<'EOF'
import gzip, os, sys, time
from pathlib import Path

import numpy as np
import torch

if not torch.cuda.is_available():
    print("SKIP: no CUDA GPU visible to torch", torch.__version__)
    sys.exit(0)

from mvd.nn import CNNClassifier, MLPClassifier


def read_idx(path):
    raw = gzip.decompress(path.read_bytes())
    dims = np.frombuffer(raw, ">i4", count=raw[3], offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


root = Path(os.environ["MNIST_DIR"])
if (root / "t10k-images-idx3-ubyte.gz").exists():
    X = read_idx(root / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32)
    y = read_idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    source = f"MNIST test images from {root}"
else:  # learnable stand-in of the same size: a fixed random template per class plus noise
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 10000)
    X = np.clip(rng.random((10, 784))[y] * 255 + rng.normal(0, 60, (10000, 784)), 0, 255).astype(np.float32)
    source = "synthetic 28x28 images (MNIST files not found)"
X_tr, y_tr, X_te, y_te = X[:8000], y[:8000], X[8000:], y[8000:]

name = torch.cuda.get_device_name(0)
print(f"# {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, bf16 {torch.cuda.is_bf16_supported()}")
print(f"# data: {source}, 8,000 train / 2,000 test")


def make(model, **kw):
    base = dict(device="cuda", random_state=0, early_stopping=False, **kw)
    if model == "mlp":  # standardised pixels, as the pipeline's StandardScaler would give
        return MLPClassifier(**base)
    return CNNClassifier(image_shape=(1, 28, 28), **base)


mean, std = X_tr.mean(0), X_tr.std(0) + 1e-6
data = {"mlp": ((X_tr - mean) / std, (X_te - mean) / std), "cnn": (X_tr, X_te)}
make("mlp", max_epochs=1).fit(data["mlp"][0][:512], y_tr[:512])  # CUDA context and kernels warm
make("cnn", max_epochs=1).fit(data["cnn"][0][:512], y_tr[:512])

for model in ("mlp", "cnn"):
    train, test = data[model]
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    est = make(model, max_epochs=10).fit(train, y_tr)
    torch.cuda.synchronize()
    fit = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20
    acc = est.score(test, y_te)
    to99 = "not reached in 32 epochs"
    for epochs in (1, 2, 4, 8, 16, 32):
        start = time.perf_counter()
        quick = make(model, max_epochs=epochs).fit(train, y_tr)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        if quick.score(train, y_tr) >= 0.99:
            to99 = f"{seconds:.2f} s ({epochs} epochs)"
            break
    print(f"{model}: {8000 * 10 / fit:,.0f} samples/s (10 epochs in {fit:.2f} s), "
          f"99% train accuracy: {to99}, test accuracy {acc:.4f}, peak GPU memory {peak:.0f} MiB, "
          f"{est.n_params_:,} parameters, device_={est.device_!r}")
EOF
