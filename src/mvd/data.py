"""Datasets: one ``Dataset`` per config, whatever the source.

A dataset config is a ``_target_`` node: the loader (``mvd.sources.uci.load``,
``mvd.sources.files.load``, or a function of your own) and its keyword
arguments.  Every loader takes ``name``, ``task`` and ``modality`` and
returns features ``X`` (a numeric array, a DataFrame for mixed tables, or an
array of strings for text), integer-coded labels ``y`` (classification) or
floats (regression), the class names, and the rows of the official test split
when the source has one.  ``official_split: false`` (any source) ignores that
split and lets each seed draw its own.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence

import numpy as np
import pandas as pd

from mvd.errors import ConfigError

__all__ = ["Dataset", "Meta", "load", "take", "encode_labels", "check", "refuse_flat", "TASKS", "MODALITIES",
           "SOURCES"]

TASKS = ("classification", "regression")
MODALITIES = ("tabular", "image", "text")

# Before datasets were _target_ nodes a config held a flat record with a ``source`` name.  Curve ids
# are still computed from that layout (mvd.identity maps a _target_ node back to it, so ids never
# move); these say which loader each source name stands for and which options it kept under ``params``.
SOURCES = {
    "sklearn": "mvd.sources.bundled.load",
    "synthetic": "mvd.sources.synthetic.load",
    "uci": "mvd.sources.uci.load",
    "mnist": "mvd.sources.idx.load",
    "hf": "mvd.sources.hf.load",
    "openml": "mvd.sources.openml.load",
    "file": "mvd.sources.files.load",
}
# (source, loader option) -> its key under the flat record's ``params``
IN_PARAMS = {
    ("hf", "config"): "config", ("hf", "revision"): "revision", ("hf", "data_files"): "data_files",
    ("openml", "openml_name"): "name", ("openml", "openml_version"): "version",
    ("file", "format"): "format",
}
# a loader option's default that the flat record left out of ``params``
PARAM_DEFAULTS = {"openml_version": "active"}


@dataclass(frozen=True)
class Meta:
    """What every loader is told about the dataset it builds."""

    name: str
    task: str = "classification"
    modality: str = "tabular"
    image_shape: Optional[tuple] = None


@dataclass
class Dataset:
    name: str
    task: str
    modality: str
    X: Any
    y: np.ndarray
    classes: Optional[list] = None
    feature_names: Optional[list] = None
    # indices of the official test rows, or None when the split is ours to draw
    test_index: Optional[np.ndarray] = None
    image_shape: Optional[tuple] = None
    categorical: list = field(default_factory=list)
    # valid value range of features (images), for clipping after noise
    value_range: Optional[tuple] = None
    # rows of the source left out of X and y, and why (e.g. an empty target)
    rows_dropped: int = 0
    rows_dropped_reason: str = ""

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0


def take(X: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of an array or DataFrame, positionally."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[index]
    return X[index]


def encode_labels(labels: Sequence) -> tuple[np.ndarray, list]:
    """Integer codes 0..k-1 and the sorted class names."""
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    return y.astype(np.int64), [str(c) for c in classes]


def check(dataset: Dataset) -> Dataset:
    """Refuse a dataset no curve can use: no rows, or a classification target with one class."""
    if len(dataset.y) == 0:
        raise ConfigError(f"dataset {dataset.name!r} has no rows.")
    if dataset.task == "classification" and dataset.n_classes < 2:
        found = dataset.classes[0] if dataset.classes else "none"
        raise ConfigError(
            f"dataset {dataset.name!r}: the target has one class ({found!r}); "
            f"classification needs at least 2 classes."
        )
    return dataset


def _check_node(node: dict) -> None:
    task, modality = node.get("task", "classification"), node.get("modality", "tabular")
    if task not in TASKS:
        raise ConfigError(f"dataset.task={task!r} is not allowed; allowed: {', '.join(TASKS)}.")
    if modality not in MODALITIES:
        raise ConfigError(f"dataset.modality={modality!r} is not allowed; allowed: {', '.join(MODALITIES)}.")


def refuse_flat(node: dict) -> None:
    """Refuse, in one sentence, an old flat dataset record (``source:`` instead of ``_target_``)."""
    if "_target_" not in node and "source" in node:
        source = node["source"]
        raise ConfigError(
            f"dataset.source={source!r} is the flat dataset record of configs saved before datasets were "
            f"_target_ nodes, which mvd no longer reads; write the dataset as a _target_ node "
            f"(dataset._target_={SOURCES.get(source, 'a loader')} and its options, as conf/dataset/*.yaml do)."
        )


_MEMO: Dict[str, Dataset] = {}


def load(node) -> Dataset:
    """The dataset a config node describes (memoised per process: one parse per job).

    ``node`` is the ``dataset`` group of a config (or a plain dict): a ``_target_``
    node (an old flat record with ``source:`` is refused in one sentence).
    """
    from mvd import parts

    values = dict(parts.plain(node))
    refuse_flat(values)
    _check_node(values)
    official = bool(values.pop("official_split", True))
    key = json.dumps(values, sort_keys=True, default=str)
    if key not in _MEMO:
        dataset = parts.build(values, key="dataset")
        if not isinstance(dataset, Dataset):
            raise ConfigError(f"dataset._target_={values['_target_']!r} returned a {type(dataset).__name__}, "
                              "not an mvd.data.Dataset.")
        _MEMO[key] = check(dataset)
    dataset = _MEMO[key]
    return dataset if official or dataset.test_index is None else dataclasses.replace(dataset, test_index=None)
