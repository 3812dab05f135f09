"""Datasets: one ``Dataset`` per config, whatever the source.

A loader returns features ``X`` (a numeric array, a DataFrame for mixed
tables, or an array of strings for text), integer-coded labels ``y``
(classification) or floats (regression), the class names, and the rows of
the official test split when the source has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import pandas as pd

from mvd.errors import ConfigError

__all__ = ["Dataset", "load", "take", "SOURCES", "SKLEARN_DATASETS", "register_source"]

TASKS = ("classification", "regression")
MODALITIES = ("tabular", "image", "text")


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


# --- scikit-learn's bundled datasets -------------------------------------------------

SKLEARN_DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes")


def _load_sklearn(cfg) -> Dataset:
    import sklearn.datasets as skd

    if cfg.name not in SKLEARN_DATASETS:
        raise ConfigError(
            f"dataset.name={cfg.name!r} is not a bundled scikit-learn dataset; "
            f"allowed: {', '.join(SKLEARN_DATASETS)}."
        )
    bunch = getattr(skd, f"load_{cfg.name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    if cfg.task == "classification":
        y = np.asarray(bunch.target, dtype=np.int64)
        classes = [str(c) for c in bunch.target_names]
    else:
        y, classes = np.asarray(bunch.target, dtype=np.float64), None
    value_range = (0.0, 16.0) if cfg.name == "digits" else None
    return Dataset(
        name=cfg.name,
        task=cfg.task,
        modality=cfg.modality,
        X=X,
        y=y,
        classes=classes,
        feature_names=[str(f) for f in bunch.feature_names],
        image_shape=tuple(cfg.image_shape) if cfg.image_shape else None,
        value_range=value_range,
    )


def _load_synthetic(cfg) -> Dataset:
    from sklearn.datasets import make_classification

    params = dict(cfg.params)
    try:
        X, y = make_classification(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"dataset.params are not valid for make_classification: {exc}") from exc
    n_classes = int(params.get("n_classes", 2))
    return Dataset(
        name=cfg.name,
        task="classification",
        modality="tabular",
        X=X,
        y=y.astype(np.int64),
        classes=[str(c) for c in range(n_classes)],
        feature_names=[f"x{i}" for i in range(X.shape[1])],
    )


SOURCES: Dict[str, Callable[[Any], Dataset]] = {
    "sklearn": _load_sklearn,
    "synthetic": _load_synthetic,
}


def register_source(name: str, loader: Callable[[Any], Dataset]) -> None:
    """Add a source (``dataset.source=name``); loaders receive the dataset config."""
    SOURCES[name] = loader


def _check(cfg) -> None:
    if cfg.task not in TASKS:
        raise ConfigError(f"dataset.task={cfg.task!r} is not allowed; allowed: {', '.join(TASKS)}.")
    if cfg.modality not in MODALITIES:
        raise ConfigError(
            f"dataset.modality={cfg.modality!r} is not allowed; allowed: {', '.join(MODALITIES)}."
        )
    _ensure_sources()
    if cfg.source not in SOURCES:
        raise ConfigError(
            f"dataset.source={cfg.source!r} is not known; allowed: {', '.join(sorted(SOURCES))}."
        )


def _ensure_sources() -> None:
    """Import the optional file/hub sources, which register themselves."""
    try:
        import mvd.sources  # noqa: F401
    except ImportError:
        pass


_MEMO: Dict[str, Dataset] = {}


def load(cfg) -> Dataset:
    """Load the dataset a config names (memoised per process: one parse per job)."""
    from omegaconf import OmegaConf

    _check(cfg)
    key = OmegaConf.to_yaml(cfg) if OmegaConf.is_config(cfg) else repr(cfg)
    if key not in _MEMO:
        dataset = SOURCES[cfg.source](cfg)
        if dataset.task == "classification" and dataset.n_classes < 2:
            raise ConfigError(
                f"dataset {cfg.name!r} has {dataset.n_classes} class; classification needs at least 2."
            )
        _MEMO[key] = dataset
    return _MEMO[key]
