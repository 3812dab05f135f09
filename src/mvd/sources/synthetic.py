"""A synthetic classification task (``mvd.sources.synthetic.load``): scikit-learn's ``make_classification``."""

from __future__ import annotations

from typing import Optional

import numpy as np

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["load"]


def load(name: str = "synthetic", *, task: str = "classification", modality: str = "tabular",
         params: Optional[dict] = None) -> Dataset:
    """``make_classification(**params)``: every knob of it can be set, e.g. ``dataset.params.n_samples=5000``."""
    from sklearn.datasets import make_classification

    if task != "classification" or modality != "tabular":
        raise ConfigError(f"dataset {name!r} (make_classification) is tabular classification; "
                          f"got dataset.task={task!r}, dataset.modality={modality!r}.")
    params = dict(params or {})
    try:
        X, y = make_classification(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"dataset.params are not valid for make_classification: {exc}") from exc
    n_classes = int(params.get("n_classes", 2))
    return Dataset(
        name=name, task="classification", modality="tabular", X=X, y=y.astype(np.int64),
        classes=[str(c) for c in range(n_classes)], feature_names=[f"x{i}" for i in range(X.shape[1])],
    )
