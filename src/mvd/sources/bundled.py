"""scikit-learn's bundled datasets (``mvd.sources.bundled.load``): no files, no network."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["load", "DATASETS"]

DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes")


def load(name: str, *, task: str = "classification", modality: str = "tabular",
         image_shape: Optional[Sequence[int]] = None) -> Dataset:
    """``sklearn.datasets.load_<name>``; ``image_shape`` marks rows as images (digits: [1, 8, 8])."""
    import sklearn.datasets as skd

    if name not in DATASETS:
        raise ConfigError(
            f"dataset.name={name!r} is not a bundled scikit-learn dataset; allowed: {', '.join(DATASETS)}."
        )
    bunch = getattr(skd, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    if task == "classification":
        y = np.asarray(bunch.target, dtype=np.int64)
        classes = [str(c) for c in bunch.target_names]
    else:
        y, classes = np.asarray(bunch.target, dtype=np.float64), None
    return Dataset(
        name=name, task=task, modality=modality, X=X, y=y, classes=classes,
        feature_names=[str(f) for f in bunch.feature_names],
        image_shape=tuple(image_shape) if image_shape else None,
        value_range=(0.0, 16.0) if name == "digits" else None,
    )
