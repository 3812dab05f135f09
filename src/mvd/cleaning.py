"""Cleaning: an optional data improvement applied to each training subset.

``apply`` returns which rows of the subset to keep; it sees the subset only
(never the test set), and the truth of corrupted rows only for the oracle.

Methods (``cleaning.name``):

- ``none``: fit the subset as drawn.
- ``oracle``: drop exactly the corrupted rows: the upper bound of any
  cleaning that drops rows (refused for corruptions that alter every row).
  Under ``missing`` it is listwise deletion: a row with any missing cell goes,
  so at high rates on wide data few rows (or one class) remain and the fit
  fails as a recorded point.
- ``confident_learning``: out-of-fold probabilities from a clone of the job's
  model pipeline (scikit-learn's ``cross_val_predict``, ``StratifiedKFold``
  inside the subset) fed to cleanlab's ``find_label_issues``; flagged rows
  are dropped. Folds are ``cleaning.folds`` capped by the smallest class
  count, but at least 2 (a singleton class is then predicted by a model that
  never saw it, and ``min_examples_per_class`` keeps it); with fewer than two
  classes, or no class of two rows, nothing is dropped and ``clean_folds`` is 0.
  ``cleaning.params`` go to ``find_label_issues`` (filter_by, frac_noise,
  min_examples_per_class).
- ``dedup``: drop exact duplicates (same features bit for bit and same
  label), keeping the first of each group in the nested order.

Every method records ``n_dropped`` and, against the truth, ``clean_precision``
(share of dropped rows that were corrupted; NaN when nothing was dropped) and
``clean_recall`` (share of corrupted rows dropped; NaN when none was corrupted).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mvd import models, quality
from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["apply", "check", "METHODS"]

METHODS = ("none", "oracle", "confident_learning", "dedup")
# find_label_issues options a study may set (the rest are fixed per subset or by mvd)
CL_PARAMS = ("filter_by", "frac_noise", "min_examples_per_class")
CL_FILTERS = (
    "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
    "predicted_neq_given", "low_normalized_margin", "low_self_confidence",
)


def check(cfg, model_cfg, dataset: Dataset, *, quality_cfg=None) -> None:
    """Refuse an unknown method, bad folds or params, or a method the data or model cannot use."""
    if cfg.name not in METHODS:
        raise ConfigError(f"cleaning={cfg.name!r} is not known; allowed: {', '.join(METHODS)}.")
    params = dict(cfg.params or {})
    if cfg.name != "confident_learning" and params:
        raise ConfigError(
            f"cleaning.params={params} given for cleaning={cfg.name!r}, which takes none; "
            "only confident_learning takes params."
        )
    if cfg.name == "oracle" and quality_cfg is not None and quality.alters_every_row(quality_cfg, dataset):
        raise ConfigError(
            f"cleaning='oracle' with quality={quality_cfg.name!r} on dataset={dataset.name!r} would drop "
            "every row, since that corruption alters every row; allowed with oracle: label_noise "
            "(classification), missing, imbalance, duplicates."
        )
    if cfg.name == "confident_learning":
        _check_confident_learning(cfg, params, model_cfg, dataset)


def _check_confident_learning(cfg, params: dict, model_cfg, dataset: Dataset) -> None:
    if dataset.task != "classification":
        raise ConfigError(
            f"cleaning='confident_learning' needs a classification task, and dataset={dataset.name!r} "
            "is regression; allowed for regression: none, oracle, dedup."
        )
    folds = cfg.folds
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"cleaning.folds={folds!r} must be an integer >= 2 (cross-validation folds).")
    unknown = sorted(set(params) - set(CL_PARAMS))
    if unknown:
        raise ConfigError(
            f"cleaning.params has {unknown}, not options of find_label_issues that mvd lets a study "
            f"set; allowed: {', '.join(CL_PARAMS)}."
        )
    if params.get("filter_by", CL_FILTERS[0]) not in CL_FILTERS:
        raise ConfigError(
            f"cleaning.params.filter_by={params['filter_by']!r} is not known; allowed: {', '.join(CL_FILTERS)}."
        )
    models.check(model_cfg, dataset)
    est = models.estimator(model_cfg, dataset.task, seed=0, dataset=dataset)
    if not hasattr(est, "predict_proba"):
        raise ConfigError(
            f"cleaning='confident_learning' needs predicted probabilities, and model={model_cfg.name!r} "
            f"({type(est).__name__}) has no predict_proba; pick a model with predict_proba "
            "(e.g. logreg, nb, knn, tree, forest, gbm) or cleaning=none, oracle, dedup."
        )


def apply(X, y, corrupted: np.ndarray, cfg, *, model_cfg, dataset: Dataset, seed: int):
    """``(keep, info)``: a boolean mask over the subset's rows and columns to record."""
    info: dict = {}
    if cfg.name == "oracle":
        keep = ~np.asarray(corrupted, dtype=bool)
    elif cfg.name == "confident_learning":
        keep, info["clean_folds"] = _confident_learning(X, y, cfg, model_cfg=model_cfg, dataset=dataset, seed=seed)
    elif cfg.name == "dedup":
        keep = ~_duplicated(X, y)
    else:
        keep = np.ones(len(y), dtype=bool)
    info.update(_against_truth(keep, corrupted))
    return keep, info


def _against_truth(keep: np.ndarray, corrupted: np.ndarray) -> dict:
    dropped = ~keep
    hits = int((dropped & corrupted).sum())
    n_dropped, n_bad = int(dropped.sum()), int(corrupted.sum())
    return {
        "n_dropped": n_dropped,
        "clean_precision": hits / n_dropped if n_dropped else np.nan,
        "clean_recall": hits / n_bad if n_bad else np.nan,
    }


def _confident_learning(X, y, cfg, *, model_cfg, dataset: Dataset, seed: int):
    """Keep mask from cleanlab on out-of-fold probabilities, and the folds used (0: skipped)."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    keep = np.ones(len(y), dtype=bool)
    # cleanlab wants labels 0..k-1 with a probability column for each
    _, labels, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(counts) < 2 or counts.max() < 2:
        return keep, 0
    folds = int(max(2, min(cfg.folds, counts.min())))
    pipe = models.build(model_cfg, dataset, seed=seed, missing=True if _has_nan(X) else None)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small classes, convergence: the job's own fit is quiet too
        proba = cross_val_predict(pipe, X, labels, cv=cv, method="predict_proba")
        issues = find_label_issues(labels, proba, n_jobs=1, **dict(cfg.params or {}))
    keep[issues] = False
    return keep, folds


def _has_nan(X) -> bool:
    if isinstance(X, pd.DataFrame):
        return bool(X.isna().to_numpy().any())
    return np.asarray(X).dtype.kind == "f" and bool(np.isnan(X).any())


def _duplicated(X, y) -> np.ndarray:
    """True for every row that repeats an earlier row's features (bit for bit) and label."""
    if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
        keys = np.ascontiguousarray(np.hstack([_row_bytes(X), _row_bytes(np.asarray(y))]))
        _, first = np.unique(keys.view(np.dtype((np.void, keys.shape[1]))).ravel(), return_index=True)
        dup = np.ones(len(X), dtype=bool)
        dup[first] = False
        return dup
    frame = pd.DataFrame(X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else {"x": list(X)})
    frame["__label__"] = np.asarray(y)
    return frame.duplicated(keep="first").to_numpy()


def _row_bytes(a: np.ndarray) -> np.ndarray:
    """Each row's raw bytes, one uint8 row per array row."""
    a = np.ascontiguousarray(a).reshape(len(a), -1)
    return a.view(np.uint8).reshape(len(a), -1)
