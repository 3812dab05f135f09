"""Prepared datasets cached on disk, so a sweep of many jobs parses each file once.

An entry is keyed by the loader's options that decide the content and the
checksums of the source files, so an edited file or config gets a new entry
and a stale one is never read.  An entry is one Arrow IPC file followed by
the SHA-256 of those bytes and a magic tag; a reader that finds a truncated,
bit-flipped or foreign file rebuilds the entry.  Writers go through a
temporary file and a rename (:func:`mvd.files.write_atomic`), so concurrent jobs read either a complete
entry or none, and the last writer wins with identical content.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

from mvd.data import Dataset, check
from mvd.files import write_atomic

__all__ = ["cached", "key_of", "entry_path", "read", "write", "FORMAT"]

# bump when parsers or the entry layout change: every older entry becomes stale
FORMAT = 2
_MAGIC = b"MVDCACHE"
_TRAILER = 32 + len(_MAGIC)
_Y, _TEST, _X = "__mvd_y__", "__mvd_test__", "__mvd_X__"


def key_of(content: dict, checksums: dict) -> str:
    """Hex key of a prepared dataset: the loader's content options and the files' checksums."""
    blob = json.dumps({"format": FORMAT, "config": content, "files": checksums}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def entry_path(name: str, key: str) -> Path:
    from mvd.sources.download import cache_home

    return cache_home() / "prepared" / f"{name}-{key[:20]}.arrow"


def cached(name: str, content: dict, checksums: dict, build: Callable[[], Dataset], *,
           enabled: bool = True) -> Dataset:
    """The prepared dataset: from the cache if a sound entry exists, else built (and stored when ``enabled``).

    ``content`` holds the loader's options that decide what it builds (not
    where files live or whether to cache); ``checksums`` identify the files.
    """
    if not enabled:
        return check(build())
    key = key_of(content, checksums)
    path = entry_path(name, key)
    if path.exists():
        dataset = read(path, key)
        if dataset is not None:
            return dataset
        warnings.warn(f"mvd: cache entry {path} is corrupt or stale; rebuilding it.", stacklevel=2)
    dataset = check(build())
    try:
        write(dataset, path, key)
    except OSError as exc:  # a read-only or full disk costs speed, never the run
        warnings.warn(f"mvd: could not cache {name!r} at {path} ({exc.strerror}); "
                      f"set MVD_CACHE to a writable folder.", stacklevel=2)
    return dataset


# --- entry format ----------------------------------------------------------------------


def _narrowest(X: np.ndarray) -> np.ndarray:
    """X in the smallest dtype that holds it exactly (images are uint8 at heart)."""
    if not X.size:
        return X
    finite = bool(np.isfinite(X).all())
    for dtype in (np.uint8, np.int16, np.float32):
        if np.issubdtype(dtype, np.integer) and (not finite or X.min() < np.iinfo(dtype).min
                                                  or X.max() > np.iinfo(dtype).max):
            continue
        narrow = X.astype(dtype)
        if np.array_equal(narrow, X, equal_nan=True):
            return narrow
    return X


def _table(dataset: Dataset) -> tuple[pa.Table, dict]:
    X = dataset.X
    meta: dict = {}
    if isinstance(X, pd.DataFrame):
        table = pa.Table.from_pandas(X, preserve_index=False)
        meta.update(x_kind="frame", x_columns=[str(c) for c in X.columns])
    elif X.dtype == object or X.dtype.kind == "U":
        table = pa.table({_X: pa.array([str(v) for v in X], type=pa.large_string())})
        meta.update(x_kind="text")
    else:
        X2 = np.ascontiguousarray(X.reshape(len(X), -1))
        stored = _narrowest(X2)
        flat = pa.array(stored.ravel())
        table = pa.table({_X: pa.FixedSizeListArray.from_arrays(flat, X2.shape[1])})
        meta.update(x_kind="array", x_dtype=str(X.dtype), x_shape=list(X.shape[1:]))
    table = table.append_column(_Y, pa.array(np.asarray(dataset.y)))
    if dataset.test_index is not None:
        mask = np.zeros(len(dataset.y), dtype=bool)
        mask[np.asarray(dataset.test_index, dtype=np.int64)] = True
        table = table.append_column(_TEST, pa.array(mask))
    meta.update(
        name=dataset.name, task=dataset.task, modality=dataset.modality, classes=dataset.classes,
        feature_names=dataset.feature_names,
        image_shape=list(dataset.image_shape) if dataset.image_shape else None,
        categorical=list(dataset.categorical),
        value_range=list(dataset.value_range) if dataset.value_range else None,
        rows_dropped=dataset.rows_dropped, rows_dropped_reason=dataset.rows_dropped_reason,
    )
    return table, meta


def write(dataset: Dataset, path: Path, key: str) -> None:
    """Store ``dataset`` at ``path`` atomically (temp file + rename)."""
    table, meta = _table(dataset)
    meta["key"] = key
    table = table.replace_schema_metadata({b"mvd": json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    body = sink.getvalue()

    def _write(handle) -> None:
        handle.write(body)
        handle.write(hashlib.sha256(body).digest())
        handle.write(_MAGIC)

    write_atomic(path, _write)


def read(path: Path, key: Optional[str] = None) -> Optional[Dataset]:
    """The dataset stored at ``path``, or None if the entry is damaged or not for ``key``."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) <= _TRAILER or not raw.endswith(_MAGIC):
        return None
    buf = pa.py_buffer(raw)
    body = buf[: len(raw) - _TRAILER]
    if hashlib.sha256(body).digest() != raw[-_TRAILER:-len(_MAGIC)]:
        return None
    try:
        table = pa.ipc.open_file(body).read_all()
        meta = json.loads(table.schema.metadata[b"mvd"])
    except (pa.ArrowException, KeyError, TypeError, ValueError):
        return None
    if key is not None and meta.get("key") != key:
        return None
    return _dataset(table, meta)


def _dataset(table: pa.Table, meta: dict) -> Dataset:
    y = table.column(_Y).to_numpy()
    test_index = None
    if _TEST in table.column_names:
        test_index = np.flatnonzero(table.column(_TEST).to_numpy(zero_copy_only=False))
    kind = meta["x_kind"]
    if kind == "frame":
        X = table.select(meta["x_columns"]).to_pandas()
    elif kind == "text":
        X = table.column(_X).to_numpy()
    else:
        values = table.column(_X).combine_chunks().flatten().to_numpy()
        X = values.astype(meta["x_dtype"]).reshape(len(y), *meta["x_shape"])
    return Dataset(
        name=meta["name"], task=meta["task"], modality=meta["modality"], X=X, y=y,
        classes=meta["classes"], feature_names=meta["feature_names"], test_index=test_index,
        image_shape=tuple(meta["image_shape"]) if meta["image_shape"] else None,
        categorical=meta["categorical"],
        value_range=tuple(meta["value_range"]) if meta["value_range"] else None,
        rows_dropped=int(meta.get("rows_dropped", 0)), rows_dropped_reason=meta.get("rows_dropped_reason", ""),
    )
