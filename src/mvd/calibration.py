"""Whether a classifier's probabilities can be taken at their word.

Two scores of the test probabilities, both lower-is-better:

- ``brier``: the multiclass Brier score, the mean over rows of the squared
  distance between the probability vector and the one-hot truth (0 to 2);
  for a binary task it is twice scikit-learn's ``brier_score_loss``.
- ``ece``: expected calibration error of the top-class confidence, with
  ``BINS`` equal-width bins (Guo et al. 2017): the row-weighted mean gap
  between confidence and accuracy per bin.

A rung without probabilities gets NaN for both, and the report names it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scores", "brier", "ece", "METRICS", "BINS"]

METRICS = ("brier", "ece")
BINS = 15


def brier(y_true, proba) -> float:
    y = np.asarray(y_true, dtype=np.int64)
    onehot = np.zeros_like(proba, dtype=float)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def ece(y_true, proba, bins: int = BINS) -> float:
    y = np.asarray(y_true, dtype=np.int64)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    # bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first bin
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in np.unique(which):
        rows = which == b
        total += rows.sum() * abs(confidence[rows].mean() - correct[rows].mean())
    return float(total / len(y))


def scores(y_true, proba) -> dict:
    """``{"brier": ..., "ece": ...}`` of the test probabilities (columns: every class), NaN without them."""
    if proba is None:
        return {name: float("nan") for name in METRICS}
    return {"brier": brier(y_true, proba), "ece": ece(y_true, proba)}
