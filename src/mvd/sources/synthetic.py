"""Synthetic classification tasks (``mvd.sources.synthetic``).

- ``load``: scikit-learn's ``make_classification``;
- ``load_zipf``: many classes with a Zipf-like prior (a long tail), the cardinality and the tail's
  exponent as parameters.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["load", "load_zipf"]


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


def load_zipf(name: str = "synthetic_zipf", *, task: str = "classification", modality: str = "tabular",
              params: Optional[dict] = None) -> Dataset:
    """Many classes with a Zipf-like prior: class ``r`` (0 the most frequent) has share ``∝ (r + 1) ** -exponent``.

    ``params``: ``n_samples`` (rows), ``n_classes``, ``exponent`` (the tail's
    steepness; 0 gives balanced classes), ``n_features``, ``class_sep`` (the
    spread of the class centres, in units of the within-class spread),
    ``random_state`` and ``top_classes`` (:mod:`mvd.sources.top_classes`).
    Each class is a Gaussian blob around its own centre; labels are drawn
    from the prior, so rare classes may have one row or none (a class with
    no row is not among the dataset's classes).
    """
    from mvd.sources.top_classes import keep_top

    if task != "classification" or modality != "tabular":
        raise ConfigError(f"dataset {name!r} (Zipf classes) is tabular classification; "
                          f"got dataset.task={task!r}, dataset.modality={modality!r}.")
    p = {"n_samples": 10000, "n_classes": 1000, "exponent": 1.0, "n_features": 8, "class_sep": 3.0,
         "random_state": 0, "top_classes": None}
    unknown = sorted(set(params or {}) - set(p))
    if unknown:
        raise ConfigError(f"dataset.params.{unknown[0]} is not an option of the Zipf generator; "
                          f"allowed: {', '.join(p)}.")
    p.update(params or {})
    for key in ("n_samples", "n_classes", "n_features"):
        if int(p[key]) < (2 if key != "n_features" else 1):
            raise ConfigError(f"dataset.params.{key}={p[key]} is too small; allowed: a whole number >= "
                              f"{2 if key != 'n_features' else 1}.")
    if float(p["exponent"]) < 0 or float(p["class_sep"]) <= 0:
        raise ConfigError(f"dataset.params.exponent={p['exponent']} must be >= 0 and "
                          f"dataset.params.class_sep={p['class_sep']} > 0.")
    rng = np.random.default_rng(int(p["random_state"]))
    k, n, d = int(p["n_classes"]), int(p["n_samples"]), int(p["n_features"])
    prior = (np.arange(1, k + 1, dtype=np.float64)) ** -float(p["exponent"])
    prior /= prior.sum()
    centres = rng.normal(scale=float(p["class_sep"]), size=(k, d))
    label = rng.choice(k, size=n, p=prior)
    X = centres[label] + rng.normal(size=(n, d))
    present, y = np.unique(label, return_inverse=True)  # classes that drew no row are not classes of the data
    width = len(str(k - 1))
    dataset = Dataset(name=name, task="classification", modality="tabular", X=X, y=y.astype(np.int64),
                      classes=[f"c{c:0{width}d}" for c in present], feature_names=[f"x{i}" for i in range(d)])
    return keep_top(dataset, p["top_classes"])
