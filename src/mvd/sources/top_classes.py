"""Cardinality as an axis: keep the ``k`` most frequent classes of a classification dataset.

``keep_top(dataset, k)`` drops the rows of every other class and re-codes the
kept classes ``0..k-1`` in the order of their names; the dataset records how
many rows it left out and why, and is named ``<name>_top<k>``, so points of
different cardinalities never pool under one dataset name.  Classes are ranked by their row count, ties
broken by class name, so the kept set is the same on every machine.  ``k``
null (or at least the number of classes) keeps every class.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["keep_top", "ranked"]


def ranked(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Class codes from the most to the least frequent (ties: the smaller code, i.e. the earlier name, first)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    return np.lexsort((np.arange(n_classes), -counts))


def keep_top(dataset: Dataset, k: Optional[int], *, key: str = "dataset.params.top_classes") -> Dataset:
    """``dataset`` restricted to its ``k`` most frequent classes (``k`` null: unchanged)."""
    if k is None:
        return dataset
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ConfigError(f"{key}={k!r} must be a whole number of classes >= 2, or null to keep every class.")
    if dataset.task != "classification":
        raise ConfigError(f"{key}={k} applies to classification datasets; dataset {dataset.name!r} is "
                          f"{dataset.task}.")
    if k >= dataset.n_classes:
        return dataset
    kept = np.sort(ranked(dataset.y, dataset.n_classes)[:k])
    rows = np.flatnonzero(np.isin(dataset.y, kept))
    code = np.full(dataset.n_classes, -1, dtype=np.int64)
    code[kept] = np.arange(k)
    X = dataset.X.iloc[rows].reset_index(drop=True) if hasattr(dataset.X, "iloc") else dataset.X[rows]
    dropped = len(dataset.y) - len(rows)
    reason = f"they are not in the {k} most frequent of its {dataset.n_classes} classes"
    if dataset.rows_dropped:
        reason = f"{dataset.rows_dropped_reason}, or {reason}"
    test_index = None
    if dataset.test_index is not None:
        position = np.full(len(dataset.y), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        test_index = position[np.asarray(dataset.test_index)]
        test_index = test_index[test_index >= 0]
    return dataclasses.replace(
        dataset, name=f"{dataset.name}_top{k}", X=X, y=code[dataset.y[rows]],
        classes=[dataset.classes[c] for c in kept], test_index=test_index,
        rows_dropped=dataset.rows_dropped + dropped, rows_dropped_reason=reason,
    )
