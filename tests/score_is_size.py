"""Deterministic stand-ins that make the curve plumbing testable to the digit.

``ScoreIsSizeEstimator`` (after scikit-learn's MockImprovingEstimator) gets a
test accuracy that is a known function of its training size: on the
``score_is_size`` dataset, column 0 holds the label and column 1 a uniform
"difficulty" u, and the estimator answers correctly exactly when
u < n / (n + half).  So accuracy(n) = mean(u_test < n / (n + half)),
computable from the test rows alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from mvd.data import Dataset

__all__ = ["ScoreIsSizeEstimator", "score_is_size_dataset", "expected_accuracy"]


def expected_accuracy(u_test: np.ndarray, n: int, half: float = 100.0) -> float:
    return float(np.mean(u_test < n / (n + half)))


class ScoreIsSizeEstimator(ClassifierMixin, BaseEstimator):
    """Right on a row iff its difficulty is below n/(n+half), n = rows fitted."""

    def __init__(self, half: float = 100.0):
        self.half = half

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_train_ = len(y)
        return self

    def predict(self, X):
        X = np.asarray(X)
        label = X[:, 0].astype(np.int64)
        right = X[:, 1] < self.n_train_ / (self.n_train_ + self.half)
        return np.where(right, label, (label + 1) % len(self.classes_))


def score_is_size_dataset(name: str = "score_is_size", *, task: str = "classification",
                          modality: str = "tabular", n_samples: int = 800) -> Dataset:
    """Labels in column 0, difficulty u ~ U(0, 1) in column 1; 4 balanced classes (a dataset ``_target_``)."""
    n = int(n_samples)
    rng = np.random.default_rng(0)
    y = np.arange(n) % 4
    X = np.column_stack([y, rng.random(n)]).astype(np.float64)
    return Dataset(name=name, task="classification", modality="tabular", X=X,
                   y=y.astype(np.int64), classes=["a", "b", "c", "d"])
