"""A hierarchical classifier: the parent class first, then the class within its parent.

The structural lever of a high-cardinality task whose classes nest (a region
within its country): instead of one model over thousands of classes, a parent
model over the parents and, per parent, a child model over that parent's own
classes.  ``P(class) = P(parent) * P(class | parent)``, so ``predict_proba``
is a proper distribution over the classes seen in training, and ``predict``
is its argmax.

The parent of a class is read off its name: the text before the first
``separator`` (``"US/Texas"`` -> ``"US"``); a name without the separator is
its own parent, so on flat labels the model is its parent model alone.
``class_names`` are the dataset's class names by label code (mvd passes them
to any estimator that takes them, as it passes ``image_shape``).

``parent`` and ``child`` are any scikit-learn classifiers (default: random
forests); ``n_estimators``, ``min_samples_leaf`` and ``max_features``, when
set, go to both levels that take them, so the rung is tuned over the same
space as the flat forest.  A parent with a single class in the training
subset needs no child model; a child model only predicts for rows its parent
gives a non-zero probability.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier

__all__ = ["HierarchicalClassifier", "parents_of"]


def parents_of(class_names, separator: str = "/") -> tuple[np.ndarray, list]:
    """``(parent code of each class, parent names)`` from class names ``"parent<sep>child"``."""
    names = [str(c).split(separator, 1)[0] for c in class_names]
    parents, code = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    return code.astype(np.int64), [str(p) for p in parents]


class _Constant:
    """The model of a level with one class in its training rows."""

    def __init__(self, label):
        self.classes_ = np.array([label])

    def predict_proba(self, X):
        return np.ones((len(X), 1))


class HierarchicalClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, parent=None, child=None, class_names=None, separator: str = "/", n_estimators=None,
                 min_samples_leaf=None, max_features=None, random_state=None, n_jobs=None):
        self.parent = parent
        self.child = child
        self.class_names = class_names
        self.separator = separator
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _level(self, template):
        est = clone(template) if template is not None else RandomForestClassifier()
        params = est.get_params(deep=False)
        shared = {"n_estimators": self.n_estimators, "min_samples_leaf": self.min_samples_leaf,
                  "max_features": self.max_features, "random_state": self.random_state, "n_jobs": self.n_jobs}
        return est.set_params(**{k: v for k, v in shared.items() if v is not None and k in params})

    def _fit_level(self, template, X, y):
        labels = np.unique(y)
        return _Constant(labels[0]) if len(labels) == 1 else self._level(template).fit(X, y)

    def fit(self, X, y):
        y = np.asarray(y, dtype=np.int64)
        self.classes_ = np.unique(y)
        if self.class_names is None:  # flat labels: each class its own parent
            parent_of = np.arange(int(y.max()) + 1)
        else:
            parent_of = parents_of(self.class_names, self.separator)[0]
            if int(y.max()) >= len(parent_of):
                raise ValueError(f"label {int(y.max())} has no name: class_names lists {len(parent_of)} classes.")
        self.parent_of_ = parent_of
        yp = parent_of[y]
        self.parent_ = self._fit_level(self.parent, X, yp)
        self.children_ = {}
        for p in np.unique(yp):
            rows = np.flatnonzero(yp == p)
            self.children_[int(p)] = self._fit_level(self.child, X[rows], y[rows])
        return self

    def predict_proba(self, X):
        column = {c: i for i, c in enumerate(self.classes_)}
        out = np.zeros((len(X), len(self.classes_)))
        parent_proba = self.parent_.predict_proba(X)
        for j, p in enumerate(self.parent_.classes_):
            rows = np.flatnonzero(parent_proba[:, j] > 0)
            if not len(rows):
                continue
            child = self.children_[int(p)]
            cols = [column[c] for c in child.classes_]
            out[np.ix_(rows, cols)] += parent_proba[rows, j:j + 1] * child.predict_proba(X[rows])
        return out

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    @property
    def n_params_(self) -> int:
        """Tree nodes of every level (the same count models.n_params gives a forest)."""
        total = 0
        for est in [self.parent_, *self.children_.values()]:
            for member in getattr(est, "estimators_", []):
                total += int(member.tree_.node_count) if hasattr(member, "tree_") else 0
        return total
