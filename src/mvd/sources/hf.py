"""Hugging Face datasets (``_target_: mvd.sources.hf.load``) through ``datasets.load_dataset``.

``dataset.path`` is a hub name (``stanfordnlp/imdb``) or local files or a
folder of them (``parquet``/``csv``/``json`` with split names in the file
names); ``dataset.config`` (the hub config name), ``dataset.revision`` and
``dataset.data_files`` go to ``load_dataset``.  ``dataset.train_split`` and
``dataset.test_split`` pick the splits (the test split becomes the official
one).  Columns: ``dataset.target`` (default ``label``) and, by modality,
``dataset.columns.image`` (default ``image``) or ``dataset.columns.text``
(default ``text``); a tabular dataset keeps every other column (or
``dataset.columns.features``).  Images are decoded to arrays (channels
first, flattened, float32, 0-255); ``ClassLabel`` codes keep their names;
rows labelled -1 (unlabelled) are left out and counted (``rows_dropped``).  Remote code is never run:
``trust_remote_code`` is not passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mvd.data import Dataset, Meta, encode_labels
from mvd.errors import ConfigError
from mvd.sources import cache as cache_
from mvd.sources.download import cache_home, md5sum
from mvd.sources.files import from_frames

__all__ = ["load"]


@dataclass(frozen=True)
class _Hub:
    """Where the data comes from and which columns and splits to read."""

    path: str
    train_split: str = "train"
    test_split: Optional[str] = None
    target: Optional[str] = None
    columns: dict = field(default_factory=dict)
    config: Optional[str] = None
    revision: Optional[str] = None
    data_files: object = None


def _load_splits(hub: _Hub) -> dict:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - the hf extra is missing
        raise ConfigError("the hf source needs the `datasets` package: pip install 'mvd[hf]'.") from exc
    wanted = [s for s in (hub.train_split or "train", hub.test_split) if s]
    try:
        loaded = datasets.load_dataset(
            hub.path, name=hub.config, revision=hub.revision,
            data_files=hub.data_files, cache_dir=str(cache_home() / "hf"),
        )
    except Exception as exc:  # the hub, the network or the files: all one sentence for the user
        raise ConfigError(
            f"dataset.path={hub.path!r} could not be loaded with datasets.load_dataset "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); without internet, "
            f"point dataset.path at local parquet/CSV files."
        ) from exc
    absent = [s for s in wanted if s not in loaded]
    if absent:
        raise ConfigError(
            f"dataset split {absent[0]!r} is not in {hub.path!r}; splits: {', '.join(loaded)}."
        )
    return {s: loaded[s] for s in wanted}


def _fingerprint(hub: _Hub, splits: dict) -> dict:
    """What identifies the data: local files' MD5s, else the datasets' own fingerprints."""
    local = Path(str(hub.path)).expanduser()
    if local.exists():
        files = sorted(p for p in (local.rglob("*") if local.is_dir() else [local]) if p.is_file())
        return {str(p.relative_to(local) if local.is_dir() else p.name): md5sum(p) for p in files}
    return {name: ds._fingerprint for name, ds in splits.items()}


def _column(hub: _Hub, ds, role: str, default: str) -> str:
    name = hub.target if role == "target" else hub.columns.get(role)
    name = name or default
    if name not in ds.column_names:
        key = "dataset.target" if role == "target" else f"dataset.columns.{role}"
        raise ConfigError(f"{key}={name!r} is not a column of {hub.path!r}; columns: {', '.join(ds.column_names)}.")
    return name


def _images(ds, column: str, where: str) -> tuple:
    """Decoded images as (n, C*H*W) float32, channels first, and their (C, H, W)."""
    arr = ds.select_columns([column]).with_format("numpy")[:][column]
    if arr.dtype == object or arr.ndim not in (3, 4):
        raise ConfigError(f"the images in {where} do not all have one shape; resize them to one size first.")
    if arr.ndim == 3:
        arr = arr[:, None]
    else:
        arr = arr.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(arr.reshape(len(arr), -1), dtype=np.float32), arr.shape[1:]


def _build(meta: Meta, hub: _Hub, splits: dict, table: dict) -> Dataset:
    first = next(iter(splits.values()))
    target = _column(hub, first, "target", "label")
    feature = first.features[target]
    names = list(feature.names) if hasattr(feature, "names") else None
    if meta.modality == "tabular":
        frames = [ds.to_pandas() for ds in splits.values()]
        unlabelled = 0
        if names is not None:
            unlabelled = sum(int((f[target] < 0).sum()) for f in frames)
            frames = [f.loc[f[target] >= 0] for f in frames]
        dataset = from_frames(meta, frames[0], frames[1] if len(frames) > 1 else None, label_names=names,
                              target=hub.target, default_target=target, columns=hub.columns, **table)
        if unlabelled:
            reasons = [r for r in (dataset.rows_dropped_reason, "they are unlabelled (-1)") if r]
            dataset = replace(dataset, rows_dropped=dataset.rows_dropped + unlabelled,
                              rows_dropped_reason="; ".join(reasons))
        return dataset
    role, default = ("image", "image") if meta.modality == "image" else ("text", "text")
    column = _column(hub, first, role, default)
    xs, labels, sizes, shape = [], [], [], None
    for split, ds in splits.items():
        label = np.asarray(ds.select_columns([target]).with_format("numpy")[:][target])
        keep = np.flatnonzero(label >= 0) if names is not None else np.arange(len(label))
        if len(keep) < len(label):
            ds = ds.select(keep)
        if meta.modality == "image":
            x, shape = _images(ds, column, f"{hub.path!r} split {split!r}")
        else:
            x = np.array([str(t) for t in ds[:][column]], dtype=object)
        xs.append(x)
        labels.append(label[keep])
        sizes.append(len(keep))
    label = np.concatenate(labels)
    if names is not None:
        y, classes = encode_labels(np.asarray(names, dtype=object)[label.astype(np.int64)])
    elif meta.task == "classification":
        y, classes = encode_labels(np.asarray([str(v) for v in label], dtype=object))
    else:
        y, classes = label.astype(np.float64), None
    X = np.concatenate(xs)
    test_index = np.arange(sizes[0], len(y)) if len(sizes) > 1 else None
    image_shape = tuple(int(s) for s in shape) if meta.modality == "image" else None
    if meta.image_shape and image_shape != tuple(meta.image_shape):
        raise ConfigError(
            f"dataset.image_shape={list(meta.image_shape)} but the images of {hub.path!r} are {list(image_shape)}."
        )
    dropped = sum(len(ds) for ds in splits.values()) - len(y)
    return Dataset(
        name=meta.name, task=meta.task, modality=meta.modality, X=X, y=y, classes=classes,
        feature_names=[column] if meta.modality == "text" else None, test_index=test_index,
        image_shape=image_shape, value_range=(0.0, 255.0) if meta.modality == "image" else None,
        rows_dropped=dropped, rows_dropped_reason="they are unlabelled (-1)" if dropped else "",
    )


def load(name: str, *, task: str = "classification", modality: str = "tabular",
         image_shape: Optional[Sequence[int]] = None, path: Optional[str] = None, train_split: str = "train",
         test_split: Optional[str] = None, target: Optional[str] = None, columns: Optional[dict] = None,
         categorical: Optional[Sequence[str]] = None, numeric: Optional[Sequence[str]] = None,
         config: Optional[str] = None, revision: Optional[str] = None, data_files=None,
         cache: bool = True) -> Dataset:
    """A Hugging Face dataset: a hub name or local files (``path``), its splits and columns."""
    if not path:
        raise ConfigError("dataset.path is not set; give a Hugging Face dataset name or local files.")
    hub = _Hub(path=str(path), train_split=train_split or "train", test_split=test_split, target=target,
               columns=dict(columns or {}), config=config, revision=revision, data_files=data_files)
    meta = Meta(name, task, modality, tuple(image_shape) if image_shape else None)
    table = dict(categorical=categorical, numeric=numeric)
    splits = _load_splits(hub)
    content = {"meta": [meta.name, meta.task, meta.modality, meta.image_shape], "hub": vars(hub), **table}
    return cache_.cached(name, content, _fingerprint(hub, splits), lambda: _build(meta, hub, splits, table),
                         enabled=cache)
