"""Cleaning: an optional data improvement applied to each training subset.

A method is a class (a config names it as ``_target_``); its ``clean``
returns which rows of the subset to keep.  It sees the subset only (never
the test set), and the truth of corrupted rows only for the oracle.

Methods (``cleaning.name``):

- ``none`` (``NoCleaning``): fit the subset as drawn.
- ``oracle`` (``Oracle``): drop exactly the corrupted rows: the upper bound of any
  cleaning that drops rows (refused for corruptions that alter every row).
  Under ``missing`` it is listwise deletion: a row with any missing cell goes,
  so at high rates on wide data few rows (or one class) remain and the fit
  fails as a recorded point.
- ``confident_learning`` (``ConfidentLearning``): out-of-fold probabilities from a clone of the job's
  model pipeline (scikit-learn's ``cross_val_predict``, ``StratifiedKFold``
  inside the subset) fed to cleanlab's ``find_label_issues``; flagged rows
  are dropped. Folds are ``cleaning.folds`` capped by the smallest class
  count, but at least 2 (a singleton class is then predicted by a model that
  never saw it, and ``min_examples_per_class`` keeps it); with fewer than two
  classes, or no class of two rows, nothing is dropped and ``clean_folds`` is 0.
  ``cleaning.params`` go to ``find_label_issues`` (filter_by, frac_noise,
  min_examples_per_class).
- ``dedup`` (``Dedup``): drop exact duplicates (same features bit for bit and same
  label), keeping the first of each group in the nested order.

Every method records ``n_dropped`` and, against the truth, ``clean_precision``
(share of dropped rows that were corrupted; NaN when nothing was dropped) and
``clean_recall`` (share of corrupted rows dropped; NaN when none was corrupted).
A new method subclasses :class:`Cleaning` and overrides ``_keep``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["Cleaning", "NoCleaning", "Oracle", "ConfidentLearning", "Dedup", "build", "METHODS", "BUILTIN"]

METHODS = ("none", "oracle", "confident_learning", "dedup")
# the class of each built-in method (configs saved without a _target_ name only the method)
BUILTIN = {
    "none": "mvd.cleaning.NoCleaning", "oracle": "mvd.cleaning.Oracle",
    "confident_learning": "mvd.cleaning.ConfidentLearning", "dedup": "mvd.cleaning.Dedup",
}
# find_label_issues options a study may set (the rest are fixed per subset or by mvd)
CL_PARAMS = ("filter_by", "frac_noise", "min_examples_per_class")
CL_FILTERS = (
    "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
    "predicted_neq_given", "low_normalized_margin", "low_self_confidence",
)


@dataclass(frozen=True)
class Cleaning:
    """Fit the subset as drawn; every cleaning method is a subclass."""

    name: str = "none"
    # the method this class implements (the name a config gives it)
    method: ClassVar[str] = "none"
    # whether ``clean`` needs a fresh model of the job (``model=``)
    needs_model: ClassVar[bool] = False

    def check(self, dataset: Dataset, *, corruption=None, estimator=None, model: str = "") -> None:
        """Refuse a method the data, the corruption or the model (``estimator``, named ``model``) cannot use."""
        if self.name != self.method and type(self).__module__ == __name__:
            raise ConfigError(
                f"cleaning.name={self.name!r} is not the method {type(self).__name__} implements "
                f"({self.method!r}); pick one with cleaning=<method>, allowed: {', '.join(METHODS)}."
            )

    def clean(self, X, y, corrupted: np.ndarray, *, seed: int, model=None):
        """``(keep, info)``: a boolean mask over the subset's rows and columns to record.

        ``corrupted`` is the truth (only the oracle looks at it); ``model`` is
        an unfitted pipeline of the job, for methods that fit one.
        """
        corrupted = np.asarray(corrupted, dtype=bool)
        keep, info = self._keep(X, y, corrupted, seed=seed, model=model)
        info.update(_against_truth(keep, corrupted))
        return keep, info

    def _keep(self, X, y, corrupted, *, seed, model):
        return np.ones(len(y), dtype=bool), {}


@dataclass(frozen=True)
class NoCleaning(Cleaning):
    """Fit the subset as drawn."""


@dataclass(frozen=True)
class Oracle(Cleaning):
    """Drop exactly the corrupted rows (the truth): the upper bound of any cleaning that drops rows."""

    name: str = "oracle"
    method: ClassVar[str] = "oracle"

    def check(self, dataset: Dataset, *, corruption=None, estimator=None, model: str = "") -> None:
        super().check(dataset)
        if corruption is not None and corruption.alters_every_row(dataset.task):
            raise ConfigError(
                f"cleaning='oracle' with quality={corruption.name!r} on dataset={dataset.name!r} would drop "
                "every row, since that corruption alters every row; allowed with oracle: label_noise "
                "(classification), missing, imbalance, duplicates."
            )

    def _keep(self, X, y, corrupted, *, seed, model):
        return ~corrupted, {}


@dataclass(frozen=True)
class Dedup(Cleaning):
    """Drop exact duplicates (features bit for bit and label), keeping the first in the nested order."""

    name: str = "dedup"
    method: ClassVar[str] = "dedup"

    def _keep(self, X, y, corrupted, *, seed, model):
        return ~_duplicated(X, y), {}


@dataclass(frozen=True)
class ConfidentLearning(Cleaning):
    """cleanlab's ``find_label_issues`` on out-of-fold probabilities of the job's model; flagged rows go."""

    name: str = "confident_learning"
    # folds of the out-of-fold probabilities
    folds: int = 5
    # options of find_label_issues (CL_PARAMS)
    params: dict = field(default_factory=dict)
    method: ClassVar[str] = "confident_learning"
    needs_model: ClassVar[bool] = True

    def check(self, dataset: Dataset, *, corruption=None, estimator=None, model: str = "") -> None:
        super().check(dataset)
        if dataset.task != "classification":
            raise ConfigError(
                f"cleaning='confident_learning' needs a classification task, and dataset={dataset.name!r} "
                "is regression; allowed for regression: none, oracle, dedup."
            )
        folds = self.folds
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise ConfigError(f"cleaning.folds={folds!r} must be an integer >= 2 (cross-validation folds).")
        params = dict(self.params or {})
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
        if estimator is not None and not hasattr(estimator, "predict_proba"):
            raise ConfigError(
                f"cleaning='confident_learning' needs predicted probabilities, and model={model or '?'!r} "
                f"({type(estimator).__name__}) has no predict_proba; pick a model with predict_proba "
                "(e.g. logreg, nb, knn, tree, forest, gbm) or cleaning=none, oracle, dedup."
            )

    def _keep(self, X, y, corrupted, *, seed, model):
        keep, folds = _confident_learning(X, y, model, folds=self.folds, params=dict(self.params or {}), seed=seed)
        return keep, {"clean_folds": folds}


def build(node) -> Cleaning:
    """The method a ``cleaning`` config node names (a node without ``_target_``: the built-in of its name)."""
    from mvd import parts

    return parts.build(node, key="cleaning", builtin=BUILTIN, kind=Cleaning)


def _against_truth(keep: np.ndarray, corrupted: np.ndarray) -> dict:
    dropped = ~keep
    hits = int((dropped & corrupted).sum())
    n_dropped, n_bad = int(dropped.sum()), int(corrupted.sum())
    return {
        "n_dropped": n_dropped,
        "clean_precision": hits / n_dropped if n_dropped else np.nan,
        "clean_recall": hits / n_bad if n_bad else np.nan,
    }


def _confident_learning(X, y, model, *, folds: int, params: dict, seed: int):
    """Keep mask from cleanlab on out-of-fold probabilities of ``model``, and the folds used (0: skipped)."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    keep = np.ones(len(y), dtype=bool)
    # cleanlab wants labels 0..k-1 with a probability column for each
    _, labels, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(counts) < 2 or counts.max() < 2:
        return keep, 0
    folds = int(max(2, min(folds, counts.min())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small classes, convergence: the job's own fit is quiet too
        proba = cross_val_predict(model, X, labels, cv=cv, method="predict_proba")
        issues = find_label_issues(labels, proba, n_jobs=1, **params)
    keep[issues] = False
    return keep, folds


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
