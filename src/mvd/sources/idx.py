"""MNIST from its original IDX files (``_target_: mvd.sources.idx.load``).

The four gzip files LeCun published: 60,000 training and 10,000 test images
of 28x28 grey levels 0-255, with the official test split.  When only the test
pair is present (and ``download`` is off) the 10,000 test images are
the whole dataset and the engine draws its own split per seed.  Pixels are
float32 (a flattened 784-vector per row, ``image_shape`` (1, 28, 28)): the
full set is 220 MB instead of 440 MB in float64, with no loss.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mvd.data import Dataset, Meta
from mvd.errors import ConfigError
from mvd.sources.download import RemoteFile, data_root, missing
from mvd.sources.uci import Named, load_named

__all__ = ["read_idx", "load", "MNIST"]

_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
# IDX type codes (the third magic byte) -> numpy dtype, big-endian
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _file(name: str, md5: str) -> RemoteFile:
    return RemoteFile(name, tuple(m + name for m in _MIRRORS), md5)


TRAIN = (
    _file("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    _file("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
)
TEST = (
    _file("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    _file("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or raw) as an array: magic ``0 0 type ndim``, big-endian dims, data."""
    raw = path.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"{path} is not a readable gzip file ({exc}).") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ConfigError(f"{path} is not an IDX file (bad magic number).")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)) * dtype.itemsize:
        raise ConfigError(f"{path} holds {len(raw) - offset} data bytes; its header promises dims {dims}.")
    return np.frombuffer(raw, dtype, offset=offset).reshape(dims)


def _pair(paths: dict, images: str, labels: str, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = read_idx(paths[images]), read_idx(paths[labels])
    if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
        raise ConfigError(
            f"dataset {dataset!r}: {images} {X.shape} and {labels} {y.shape} are not matching images and labels."
        )
    return X, y


def _parse(paths: dict, meta: Meta) -> Dataset:
    X, y = _pair(paths, TEST[0].name, TEST[1].name, meta.name)
    test_index = None
    if TRAIN[0].name in paths:
        X_train, y_train = _pair(paths, TRAIN[0].name, TRAIN[1].name, meta.name)
        test_index = np.arange(len(y_train), len(y_train) + len(y))
        X, y = np.concatenate([X_train, X]), np.concatenate([y_train, y])
    h, w = X.shape[1:]
    return Dataset(
        name=meta.name, task=meta.task, modality=meta.modality,
        X=X.reshape(len(X), -1).astype(np.float32), y=y.astype(np.int64),
        classes=[str(d) for d in range(10)], feature_names=[f"pixel_{i}" for i in range(h * w)],
        test_index=test_index, image_shape=(1, h, w), value_range=(0.0, 255.0),
    )


MNIST = Named("mnist", TRAIN + TEST, "classification", "image", _parse)


def load(name: str = "mnist", *, task: str = "classification", modality: str = "image",
         image_shape: Optional[Sequence[int]] = None, root: Optional[str] = None, download: bool = False,
         cache: bool = True) -> Dataset:
    """MNIST: all four files when present or downloadable, else the test pair alone."""
    folder = data_root(root) / MNIST.folder
    with_train = download or not missing(folder, TRAIN)
    meta = Meta(name, task, modality, tuple(image_shape) if image_shape else None)
    return load_named(meta, MNIST, root=root, download=download, cache=cache,
                      files=MNIST.files if with_train else TEST)
