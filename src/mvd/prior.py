"""Prior correction under label shift: black-box shift estimation (Lipton et al. 2018).

When the training pool's class priors differ from the target's but p(x | y)
does not, the target prior can be estimated from any classifier's
predictions: with C[i, j] = P_train(prediction i, label j) measured on
held-out training rows and mu[i] = P_target(prediction i) on unlabelled
target rows, the weights w = q_target(y) / p_train(y) solve C w = mu. The
classifier's probabilities are then re-weighted, p'(y | x) ∝ w_y p(y | x).

The unlabelled target sample is never the test set: mvd passes the training
pool as drawn before the shift (its features only; labels are never read),
which comes from the test set's distribution.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from mvd.cleaning import Cleaning
from mvd.errors import ConfigError

__all__ = ["bbse_weights", "reweight", "PriorCorrected", "PriorCorrection", "describe"]


def bbse_weights(y_holdout, pred_holdout, pred_target, n_classes: int) -> np.ndarray:
    """Class weights q_target / p_train from held-out and target predictions (clipped at 0).

    Least squares stands in for the inverse when C is singular (a class
    never predicted); a class absent from the held-out rows keeps weight 1.
    """
    labels = np.arange(n_classes)
    joint = confusion_matrix(pred_holdout, y_holdout, labels=labels).astype(np.float64)
    joint /= max(len(y_holdout), 1)  # [predicted][true]
    mu = np.bincount(np.asarray(pred_target, dtype=np.int64), minlength=n_classes) / max(len(pred_target), 1)
    w = np.linalg.lstsq(joint, mu, rcond=None)[0]
    w = np.clip(w, 0.0, None)
    seen = joint.sum(axis=0) > 0
    w[~seen] = 1.0
    return w


def reweight(proba: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Probabilities times class weights, renormalised (rows that vanish keep their input)."""
    out = proba * w[None, :]
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), proba)


class PriorCorrected(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities are re-weighted to a BBSE-estimated target prior.

    ``fit`` gets out-of-fold predictions on the training rows
    (``StratifiedKFold``, folds capped by the smallest class), fits the
    estimator on every row, predicts the unlabelled ``target`` rows and
    solves for the weights; ``weights_`` holds them, ``target_prior_`` the
    estimated target prior.
    """

    def __init__(self, estimator, target=None, folds: int = 5, random_state: int = 0):
        self.estimator = estimator
        self.target = target
        self.folds = folds
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        self.classes_, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        k = len(self.classes_)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.weights_ = np.ones(k)
        folds = int(min(self.folds, counts.min()))
        if k >= 2 and folds >= 2 and self.target is not None:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                held = cross_val_predict(clone(self.estimator), X, codes, cv=cv)
            target_pred = np.searchsorted(self.classes_, self.estimator_.predict(self.target))
            self.weights_ = bbse_weights(codes, held, target_pred, k)
        prior = counts / counts.sum() * self.weights_
        self.target_prior_ = prior / prior.sum() if prior.sum() > 0 else counts / counts.sum()
        return self

    def predict_proba(self, X):
        return reweight(self.estimator_.predict_proba(X), self.weights_)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getitem__(self, index):
        """Steps of the wrapped pipeline (so ``model[-1]`` reaches the final estimator)."""
        return (self.estimator_ if hasattr(self, "estimator_") else self.estimator)[index]


@dataclass(frozen=True)
class PriorCorrection(Cleaning):
    """Keep every row; re-weight the fitted model's probabilities to the BBSE-estimated target prior.

    ``wrap`` puts the job's pipeline inside :class:`PriorCorrected`, with
    ``target_rows`` rows of the unshifted training pool (features only) as the
    unlabelled target sample; ``folds`` out-of-fold fits give the confusion matrix.
    """

    name: str = "prior_correction"
    folds: int = 5
    target_rows: int = 5000
    method: ClassVar[str] = "prior_correction"
    needs_model: ClassVar[bool] = False

    def check(self, dataset, *, corruption=None, estimator=None, model: str = "") -> None:
        if dataset.task != "classification":
            raise ConfigError(f"cleaning='prior_correction' needs classes, and dataset={dataset.name!r} is a "
                              "regression task; allowed for regression: none, oracle, dedup.")
        for key, value, low in (("folds", self.folds, 2), ("target_rows", self.target_rows, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"cleaning.{key}={value!r} must be an integer >= {low}.")
        bare = estimator if estimator is not None else None
        if bare is not None and not hasattr(bare, "predict_proba"):
            raise ConfigError(f"cleaning='prior_correction' re-weights predicted probabilities, and "
                              f"model={model or '?'!r} ({type(bare).__name__}) has none; pick a model with "
                              "predict_proba (e.g. logreg, nb, knn, tree, forest, gbm).")

    def wrap(self, pipe, *, target, seed: int) -> PriorCorrected:
        return PriorCorrected(pipe, target=target, folds=self.folds, random_state=seed)


def describe(model) -> dict:
    """Columns a point records about a fitted :class:`PriorCorrected` (empty for any other model)."""
    if not isinstance(model, PriorCorrected) or not hasattr(model, "weights_"):
        return {}
    return {"prior_estimate": json.dumps([float(f"{p:.6g}") for p in model.target_prior_]),
            "prior_weight_max": float(f"{model.weights_.max():.6g}")}
