"""CatBoost and XGBoost as plain scikit-learn estimators (the ``modern`` extra).

Why wrappers and not the libraries' own classes: mvd hands an estimator
integer labels that need not be contiguous (a 16-row subset of digits may
lack a class), ordinal codes for categorical columns with NaN for an unseen
or missing category, and expects ``clone``, ``get_params`` and pickling to
behave as scikit-learn's do.  XGBoost refuses labels other than 0..k-1 and
CatBoost refuses float category codes, so each wrapper lists its few
parameters in ``__init__``, encodes labels and categories itself, and builds
the library's model in ``fit``.

``categorical_features``: a boolean mask over the columns (the engine sets it
for ``categorical: native``, as for scikit-learn's histogram boosting); those
columns are split natively.  ``thread_count`` / ``n_jobs``: the engine sets
them to the job's ``threads``.

Both libraries are imported here at module import, so a missing extra shows
up as a missing module when a config names one of these classes.
"""

from __future__ import annotations

import catboost
import numpy as np
import pandas as pd
import xgboost
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["CatBoostClassifier", "CatBoostRegressor", "XGBoostClassifier", "XGBoostRegressor"]


def _mask(categorical_features, n_features: int) -> np.ndarray:
    if categorical_features is None:
        return np.zeros(n_features, dtype=bool)
    mask = np.asarray(categorical_features, dtype=bool)
    if mask.shape != (n_features,):
        raise ValueError(f"categorical_features has {mask.size} entries for {n_features} columns; "
                         "give one boolean per column.")
    return mask


class _Boosting(BaseEstimator):
    """Shared fit/predict plumbing: validation, label and category encoding."""

    def _fit_arrays(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=not self._classifier)
        self.categorical_mask_ = _mask(self.categorical_features, X.shape[1])
        if self._classifier:
            check_classification_targets(y)
            self.encoder_ = LabelEncoder().fit(y)
            self.classes_ = self.encoder_.classes_
            y = self.encoder_.transform(y)
        return X, y

    def _frame(self, X, *, fitting: bool = False):
        if not fitting:
            check_is_fitted(self)
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._encode(np.asarray(X, dtype=np.float64))

    @property
    def _classifier(self) -> bool:
        return isinstance(self, ClassifierMixin)

    def predict(self, X):
        raw = self._predict_raw(self._frame(X))
        if not self._classifier:
            return raw
        return self.classes_[np.asarray(raw).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class _Classifier(ClassifierMixin):
    def predict_proba(self, X):
        return self._predict_raw(self._frame(X))


# --- CatBoost -------------------------------------------------------------------------------------
class _CatBoost(_Boosting):
    def __init__(self, *, iterations=1000, learning_rate=None, depth=6, l2_leaf_reg=3.0,
                 categorical_features=None, thread_count=1, random_state=None):
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.categorical_features = categorical_features
        self.thread_count = thread_count
        self.random_state = random_state

    def _encode(self, X):
        """Category codes as integers (NaN, an unseen or missing category: -1); CatBoost refuses floats."""
        if not self.categorical_mask_.any():
            return X
        frame = pd.DataFrame(X)
        for j in np.flatnonzero(self.categorical_mask_):
            frame[j] = np.nan_to_num(X[:, j], nan=-1.0).astype(np.int64)
        return frame

    def fit(self, X, y):
        X, y = self._fit_arrays(X, y)
        seed = self.random_state if self.random_state is not None else np.random.randint(2**31 - 1)
        params = dict(iterations=self.iterations, learning_rate=self.learning_rate, depth=self.depth,
                      l2_leaf_reg=self.l2_leaf_reg, thread_count=self.thread_count,
                      random_seed=int(seed) if np.isscalar(seed) else int(seed.randint(2**31 - 1)),
                      verbose=False, allow_writing_files=False,
                      cat_features=list(np.flatnonzero(self.categorical_mask_)) or None)
        if self._classifier:
            single = len(self.classes_) == 1  # CatBoost refuses one class: predict it
            self.model_ = None if single else catboost.CatBoostClassifier(
                loss_function="MultiClass" if len(self.classes_) > 2 else "Logloss", **params)
        else:
            self.model_ = catboost.CatBoostRegressor(**params)
            single = np.ptp(y) == 0 if len(y) else True  # CatBoost refuses a constant target: predict it
            self.constant_ = float(y[0]) if single else None
            if single:
                self.model_ = None
        if self.model_ is not None:
            self.model_.fit(self._frame(X, fitting=True), y)
        self.n_params_ = 0 if self.model_ is None else int(
            self.model_.tree_count_ * 2 ** self.depth * max(1, len(getattr(self, "classes_", [0])) - 1))
        return self

    def _predict_raw(self, frame):
        n = len(frame)
        if self._classifier:
            if self.model_ is None:
                return np.ones((n, 1))
            return self.model_.predict_proba(frame)
        return np.full(n, self.constant_) if self.model_ is None else self.model_.predict(frame)


class CatBoostClassifier(_Classifier, _CatBoost):
    """CatBoost's ordered boosting of oblivious trees, library defaults (1,000 trees of depth 6)."""


class CatBoostRegressor(RegressorMixin, _CatBoost):
    """CatBoost regression (RMSE), library defaults."""


# --- XGBoost --------------------------------------------------------------------------------------
class _XGBoost(_Boosting):
    def __init__(self, *, n_estimators=100, learning_rate=None, max_depth=None, min_child_weight=None,
                 reg_lambda=None, subsample=None, categorical_features=None, n_jobs=1, random_state=None):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.categorical_features = categorical_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _encode(self, X):
        """Categorical columns as pandas categories of their codes (XGBoost's native categorical splits)."""
        if not self.categorical_mask_.any():
            return X
        frame = pd.DataFrame(X)
        for j in np.flatnonzero(self.categorical_mask_):
            seen, codes = self.categories_[j], X[:, j]
            at = np.minimum(np.searchsorted(seen, codes), max(len(seen) - 1, 0))
            known = ~np.isnan(codes) & (len(seen) > 0) & (seen[at] == codes if len(seen) else False)
            # integer categories (XGBoost refuses float ones); NaN or a code unseen in training: missing
            frame[j] = pd.Categorical.from_codes(np.where(known, at, -1), categories=np.arange(len(seen)))
        return frame

    def fit(self, X, y):
        X, y = self._fit_arrays(X, y)
        seed = self.random_state if self.random_state is not None else np.random.randint(2**31 - 1)
        # every code seen in training, so a test frame maps each code to the same category number
        self.categories_ = {j: np.unique(X[:, j][~np.isnan(X[:, j])]) for j in np.flatnonzero(self.categorical_mask_)}
        params = dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
                      min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda,
                      subsample=self.subsample, n_jobs=self.n_jobs, tree_method="hist",
                      random_state=int(seed) if np.isscalar(seed) else int(seed.randint(2**31 - 1)),
                      enable_categorical=bool(self.categorical_mask_.any()), verbosity=0)
        if self._classifier:
            self.model_ = None if len(self.classes_) == 1 else xgboost.XGBClassifier(**params)
        else:
            self.model_ = xgboost.XGBRegressor(**params)
        if self.model_ is not None:
            self.model_.fit(self._frame(X, fitting=True), y)
        self.n_params_ = 0 if self.model_ is None else sum(
            tree.count("\n") for tree in self.model_.get_booster().get_dump())
        return self

    def _predict_raw(self, frame):
        if self._classifier:
            return np.ones((len(frame), 1)) if self.model_ is None else self.model_.predict_proba(frame)
        return self.model_.predict(frame)


class XGBoostClassifier(_Classifier, _XGBoost):
    """XGBoost's histogram boosting, library defaults (100 trees of depth 6, learning rate 0.3)."""


class XGBoostRegressor(RegressorMixin, _XGBoost):
    """XGBoost regression (squared error), library defaults."""
