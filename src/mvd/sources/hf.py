"""Hugging Face datasets (``dataset.source=hf``) through ``datasets.load_dataset``.

``dataset.path`` is a hub name (``stanfordnlp/imdb``) or local files or a
folder of them (``parquet``/``csv``/``json`` with split names in the file
names); ``dataset.params`` may add ``config`` (the hub config name),
``revision`` and ``data_files``.  ``dataset.train_split`` and
``dataset.test_split`` pick the splits (the test split becomes the official
one).  Columns: ``dataset.target`` (default ``label``) and, by modality,
``dataset.columns.image`` (default ``image``) or ``dataset.columns.text``
(default ``text``); a tabular dataset keeps every other column (or
``dataset.columns.features``).  Images are decoded to arrays (channels
first, flattened, float32, 0-255); ``ClassLabel`` codes keep their names;
rows labelled -1 (unlabelled) are dropped.  Remote code is never run:
``trust_remote_code`` is not passed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mvd.data import Dataset, encode_labels
from mvd.errors import ConfigError
from mvd.sources import cache
from mvd.sources.download import cache_home, md5sum
from mvd.sources.files import from_frames

__all__ = ["load"]


def _load_splits(cfg) -> dict:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - the hf extra is missing
        raise ConfigError("dataset.source='hf' needs the `datasets` package: pip install 'mvd[hf]'.") from exc
    params = dict(cfg.params)
    unknown = set(params) - {"config", "revision", "data_files"}
    if unknown:
        raise ConfigError(
            f"dataset.params has {sorted(unknown)} for source 'hf'; allowed: config, revision, data_files."
        )
    wanted = [s for s in (cfg.train_split or "train", cfg.test_split) if s]
    try:
        loaded = datasets.load_dataset(
            cfg.path, name=params.get("config"), revision=params.get("revision"),
            data_files=params.get("data_files"), cache_dir=str(cache_home() / "hf"),
        )
    except Exception as exc:  # the hub, the network or the files: all one sentence for the user
        raise ConfigError(
            f"dataset.path={cfg.path!r} could not be loaded with datasets.load_dataset "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); without internet, "
            f"point dataset.path at local parquet/CSV files."
        ) from exc
    absent = [s for s in wanted if s not in loaded]
    if absent:
        raise ConfigError(
            f"dataset split {absent[0]!r} is not in {cfg.path!r}; splits: {', '.join(loaded)}."
        )
    return {s: loaded[s] for s in wanted}


def _fingerprint(cfg, splits: dict) -> dict:
    """What identifies the data: local files' MD5s, else the datasets' own fingerprints."""
    local = Path(str(cfg.path)).expanduser()
    if local.exists():
        files = sorted(p for p in (local.rglob("*") if local.is_dir() else [local]) if p.is_file())
        return {str(p.relative_to(local) if local.is_dir() else p.name): md5sum(p) for p in files}
    return {name: ds._fingerprint for name, ds in splits.items()}


def _column(cfg, ds, role: str, default: str) -> str:
    name = cfg.target if role == "target" else cfg.columns.get(role)
    name = name or default
    if name not in ds.column_names:
        key = "dataset.target" if role == "target" else f"dataset.columns.{role}"
        raise ConfigError(f"{key}={name!r} is not a column of {cfg.path!r}; columns: {', '.join(ds.column_names)}.")
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


def _build(cfg, splits: dict) -> Dataset:
    first = next(iter(splits.values()))
    target = _column(cfg, first, "target", "label")
    feature = first.features[target]
    names = list(feature.names) if hasattr(feature, "names") else None
    if cfg.modality == "tabular":
        frames = [ds.to_pandas() for ds in splits.values()]
        if names is not None:
            frames = [f.loc[f[target] >= 0] for f in frames]
        return from_frames(cfg, frames[0], frames[1] if len(frames) > 1 else None,
                           label_names=names, target=target)
    role, default = ("image", "image") if cfg.modality == "image" else ("text", "text")
    column = _column(cfg, first, role, default)
    xs, labels, sizes, shape = [], [], [], None
    for split, ds in splits.items():
        label = np.asarray(ds.select_columns([target]).with_format("numpy")[:][target])
        keep = np.flatnonzero(label >= 0) if names is not None else np.arange(len(label))
        if len(keep) < len(label):
            ds = ds.select(keep)
            warnings.warn(f"mvd: dropped {len(label) - len(keep)} unlabelled rows of split {split!r}.", stacklevel=2)
        if cfg.modality == "image":
            x, shape = _images(ds, column, f"{cfg.path!r} split {split!r}")
        else:
            x = np.array([str(t) for t in ds[:][column]], dtype=object)
        xs.append(x)
        labels.append(label[keep])
        sizes.append(len(keep))
    label = np.concatenate(labels)
    if names is not None:
        y, classes = encode_labels(np.asarray(names, dtype=object)[label.astype(np.int64)])
    elif cfg.task == "classification":
        y, classes = encode_labels(np.asarray([str(v) for v in label], dtype=object))
    else:
        y, classes = label.astype(np.float64), None
    X = np.concatenate(xs)
    test_index = np.arange(sizes[0], len(y)) if len(sizes) > 1 else None
    image_shape = tuple(int(s) for s in shape) if cfg.modality == "image" else None
    if cfg.image_shape and image_shape != tuple(cfg.image_shape):
        raise ConfigError(
            f"dataset.image_shape={list(cfg.image_shape)} but the images of {cfg.path!r} are {list(image_shape)}."
        )
    return Dataset(
        name=cfg.name, task=cfg.task, modality=cfg.modality, X=X, y=y, classes=classes,
        feature_names=[column] if cfg.modality == "text" else None, test_index=test_index,
        image_shape=image_shape, value_range=(0.0, 255.0) if cfg.modality == "image" else None,
    )


def load(cfg) -> Dataset:
    """The ``hf`` source."""
    if not cfg.path:
        raise ConfigError("dataset.path is not set; give a Hugging Face dataset name or local files.")
    splits = _load_splits(cfg)
    return cache.cached(cfg, _fingerprint(cfg, splits), lambda: _build(cfg, splits))
