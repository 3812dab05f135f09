"""Scores of one fitted point, by task, with scikit-learn's metrics.

Probabilities from a model trained on a subset that lacks some classes are
widened to all classes of the dataset, so log-loss and ROC-AUC stay defined.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

__all__ = ["score", "primary_metric", "METRICS"]

METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}
# metrics where lower is better
LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}


def primary_metric(task: str, primary: str | None = None) -> str:
    return primary or ("accuracy" if task == "classification" else "rmse")


def full_proba(proba: np.ndarray, model_classes, n_classes: int) -> np.ndarray:
    """Columns for every class 0..n_classes-1 (zeros for classes never seen in training)."""
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(model_classes, dtype=np.int64)] = proba
    return out


def score(task: str, y_true, y_pred, proba=None, n_classes: int = 0, decision=None) -> dict:
    """All metrics of ``task``; NaN where a metric does not apply.

    ``decision`` (a binary model's decision function) gives ROC-AUC to models
    without probabilities.
    """
    if task == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else np.nan,
        }
    labels = np.arange(n_classes)
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "log_loss": np.nan,
        "roc_auc": np.nan,
    }
    if proba is not None:
        clipped = np.clip(proba, 1e-15, 1.0)
        clipped = clipped / clipped.sum(axis=1, keepdims=True)
        out["log_loss"] = float(skm.log_loss(y_true, clipped, labels=labels))
        present = np.unique(y_true)
        if len(present) == n_classes and n_classes >= 2:
            if n_classes == 2:
                out["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
            else:
                out["roc_auc"] = float(
                    skm.roc_auc_score(y_true, clipped, multi_class="ovr", labels=labels)
                )
    elif decision is not None and n_classes == 2 and len(np.unique(y_true)) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y_true, decision))
    return out
