"""Scores of one fitted point, by task.

Classification metrics come from one confusion matrix (accuracy, balanced
accuracy, macro-F1), the probabilities (log-loss) and their ranks (one-vs-rest
ROC-AUC by the Mann-Whitney statistic).  They equal scikit-learn's
``accuracy_score``, ``balanced_accuracy_score``, ``f1_score(average="macro",
zero_division=0)``, ``log_loss`` and ``roc_auc_score(multi_class="ovr")``
(tests/test_metrics.py checks that to 1e-12) at a fraction of their input
validation cost, which dominated small points.  Probabilities from a model
trained on a subset that lacks some classes are widened to all classes of the
dataset, so log-loss and ROC-AUC stay defined.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["score", "primary_metric", "confusion", "full_proba", "METRICS"]

METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}
# metrics where lower is better (the report reads this too; it imports no scikit-learn)
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
_EPS = np.finfo(np.float64).eps


def primary_metric(task: str, primary: str | None = None) -> str:
    return primary or ("accuracy" if task == "classification" else "rmse")


def full_proba(proba: np.ndarray, model_classes, n_classes: int) -> np.ndarray:
    """Columns for every class 0..n_classes-1 (zeros for classes never seen in training)."""
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(model_classes, dtype=np.int64)] = proba
    return out


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts [true][predicted] over classes 0..n_classes-1."""
    index = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(index, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Macro one-vs-rest AUC; a column of ``scores`` per class (one column: binary)."""
    scores = scores.reshape(len(y_true), -1)
    positives = y_true[:, None] == (np.arange(scores.shape[1]) if scores.shape[1] > 1 else np.array([1]))
    ranks = rankdata(scores, axis=0)  # ties get mean ranks, as in the Mann-Whitney U
    n_pos = positives.sum(axis=0)
    n_neg = len(y_true) - n_pos
    u = (ranks * positives).sum(axis=0) - n_pos * (n_pos + 1) / 2
    return float(np.mean(u / (n_pos * n_neg)))


def _classification(y_true, y_pred, proba, n_classes: int, decision, wanted) -> dict:
    y_true = np.asarray(y_true, dtype=np.int64)
    out = {}
    if {"accuracy", "balanced_accuracy", "macro_f1"} & wanted:
        cm = confusion(y_true, y_pred, n_classes)
        tp, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        out["accuracy"] = float(tp.sum() / cm.sum())
        present = support > 0
        out["balanced_accuracy"] = float(np.mean(tp[present] / support[present]))
        denom = support + predicted
        out["macro_f1"] = float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))
    out["log_loss"] = out["roc_auc"] = np.nan
    if proba is not None and "log_loss" in wanted:
        # scikit-learn's clipping: a zero probability costs -log(eps), not infinity
        picked = np.clip(proba[np.arange(len(y_true)), y_true], _EPS, 1 - _EPS)
        out["log_loss"] = float(-np.mean(np.log(picked)))
    if "roc_auc" in wanted and n_classes >= 2 and len(np.unique(y_true)) == n_classes:
        if proba is not None:
            out["roc_auc"] = _roc_auc(y_true, proba[:, 1] if n_classes == 2 else proba)
        elif decision is not None and n_classes == 2:
            out["roc_auc"] = _roc_auc(y_true, np.asarray(decision, dtype=float))
    return {k: out[k] for k in METRICS["classification"] if k in wanted}


def score(task: str, y_true, y_pred, proba=None, n_classes: int = 0, decision=None,
          only: str | None = None) -> dict:
    """All metrics of ``task`` (or ``only`` that one); NaN where a metric does not apply.

    ``decision`` (a binary model's decision function) gives ROC-AUC to models
    without probabilities.
    """
    wanted = {only} if only else set(METRICS[task])
    if task == "regression":
        from sklearn import metrics as skm

        out = {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else np.nan,
        }
        return {k: v for k, v in out.items() if k in wanted}
    return _classification(y_true, y_pred, proba, n_classes, decision, wanted)
