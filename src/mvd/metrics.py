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

Many classes with a long tail (:func:`long_tail`, columns :data:`LONG_TAIL`):

- ``test_top5_accuracy``: the true class among the 5 highest probabilities,
  ties broken as scikit-learn's ``top_k_accuracy_score`` breaks them (the
  later class first); NaN for a model without probabilities.  Top-1 is
  ``test_accuracy``.
- ``test_head_accuracy``, ``test_torso_accuracy``, ``test_tail_accuracy``:
  accuracy on the test rows of each frequency group (:func:`frequency_groups`,
  cut points :data:`GROUP_CUTS`): classes ranked by their row count in the
  training pool (the whole pool of the seed, so the groups do not move with
  the training size); the head is the most frequent classes that together
  hold the first half of the pool's rows, the torso the next 40 % (to 90 %),
  the tail the rarest classes holding the last 10 % and any class with no
  pool row.  NaN for a group with no test row.
- ``test_class_coverage``: the share of the classes present in the test set
  with at least one correct test prediction.
- ``n_test_unseen``: test rows whose class the training subset never saw
  (they count as errors in every metric; no model can predict a class it
  never saw).

All of them cost one pass over the (widened) probabilities, no more than
log-loss, so they are stored for every classification point.  The confusion
matrix is stored only up to :data:`CONFUSION_MAX_CLASSES` classes: at 3,789
classes it would be 14 million counts per point.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["score", "primary_metric", "confusion", "full_proba", "METRICS", "LONG_TAIL", "GROUP_CUTS",
           "long_tail", "frequency_groups", "top_k_accuracy", "CONFUSION_MAX_CLASSES"]

METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}
# metrics where lower is better (the report reads this too; it imports no scikit-learn)
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "brier", "ece",  # brier, ece: mvd.calibration
                             "predict_ms_per_1000", "model_mb", "train_seconds"})  # costs: mvd.costs
_EPS = np.finfo(np.float64).eps
# the long-tail columns of a classification point (besides n_test_unseen, a count)
LONG_TAIL = ("top5_accuracy", "head_accuracy", "torso_accuracy", "tail_accuracy", "class_coverage")
# cumulative shares of the pool's rows where the head ends and the tail begins
GROUP_CUTS = (0.5, 0.9)
GROUPS = ("head", "torso", "tail")
# a point stores its test confusion counts only up to this many classes
CONFUSION_MAX_CLASSES = 100


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
        # the confusion matrix's diagonal and margins, without its n_classes**2 cells
        y_pred = np.asarray(y_pred, dtype=np.int64)
        tp = np.bincount(y_true[y_true == y_pred], minlength=n_classes)
        support = np.bincount(y_true, minlength=n_classes)
        predicted = np.bincount(y_pred, minlength=n_classes)
        out["accuracy"] = float(tp.sum() / len(y_true))
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


def frequency_groups(counts, cuts=GROUP_CUTS) -> np.ndarray:
    """Group of each class (0 head, 1 torso, 2 tail) from its row count in the training pool.

    Classes are ranked from the most to the least frequent (ties: the
    smaller class code first); a class is in the head when the classes ranked
    before it hold less than ``cuts[0]`` of the rows, in the torso when they
    hold less than ``cuts[1]``, else in the tail.  So the most frequent class
    is always head, and a class with no row is always tail.
    """
    counts = np.asarray(counts, dtype=np.float64)
    order = np.lexsort((np.arange(len(counts)), -counts))
    before = np.concatenate([[0.0], np.cumsum(counts[order])[:-1]]) / max(counts.sum(), 1.0)
    group = np.empty(len(counts), dtype=np.int64)
    group[order] = np.searchsorted(np.asarray(cuts, dtype=np.float64), before, side="right")
    group[counts == 0] = len(cuts)
    return group


def top_k_accuracy(y_true, proba: np.ndarray, k: int = 5, chunk: int = 4096) -> float:
    """Share of rows whose class is among the ``k`` highest of ``proba`` (a column per class code).

    Ties as in scikit-learn's ``top_k_accuracy_score``: among equal scores the
    later class ranks first.  Done in chunks of rows (one comparison per cell).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    hits = 0
    columns = np.arange(proba.shape[1])
    for start in range(0, len(y_true), chunk):
        p, t = proba[start:start + chunk], y_true[start:start + chunk]
        own = p[np.arange(len(t)), t][:, None]
        ahead = (p > own).sum(axis=1) + ((p == own) & (columns > t[:, None])).sum(axis=1)
        hits += int((ahead < k).sum())
    return hits / len(y_true)


def long_tail(y_true, y_pred, proba=None, *, train_labels, pool_counts=None, n_classes: int, k: int = 5) -> dict:
    """The long-tail columns of one point (see the module docstring), by their stored names.

    ``proba``: widened to every class (:func:`full_proba`) or None;
    ``train_labels``: the labels the model was fitted on; ``pool_counts``:
    rows per class in the training pool (default: in ``train_labels``).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    correct = y_true == np.asarray(y_pred, dtype=np.int64)
    train_labels = np.asarray(train_labels, dtype=np.int64)
    if pool_counts is None:
        pool_counts = np.bincount(train_labels, minlength=n_classes)
    out = {"test_top5_accuracy": np.nan if proba is None else top_k_accuracy(y_true, proba, k)}
    group = frequency_groups(pool_counts)[y_true]
    for g, name in enumerate(GROUPS):
        rows = group == g
        out[f"test_{name}_accuracy"] = float(correct[rows].mean()) if rows.any() else np.nan
    tested = np.unique(y_true)
    out["test_class_coverage"] = float(len(np.unique(y_true[correct])) / len(tested))
    out["n_test_unseen"] = int((~np.isin(y_true, np.unique(train_labels))).sum())
    return out
