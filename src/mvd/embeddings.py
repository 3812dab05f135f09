"""Pretrained text embeddings as a scikit-learn transformer, and a linear head on them (the ``modern`` extra).

WordLlama (MIT) ships static token embeddings distilled from a large language
model inside its wheel (``weights/l2_supercat_256.safetensors``, 16 MB, 256
dimensions) with its tokenizer; a text's embedding is the mean of its
tokens' vectors.  It is mind bought with someone else's data and compute:
the same mean-of-embeddings-then-linear model as ``embedbag``, but with
embeddings learned elsewhere instead of from the training subset.

Loaded offline: ``WordLlama.load()`` looks for its tokenizer in ``tokenizer/``
and downloads it when absent, while the wheel ships it in ``tokenizers/``;
``cache_dir=<the package's folder>, disable_download=True`` finds both the
weights and the tokenizer inside the installed package and never touches the
network.  The loaded model is cached per process and kept out of pickles and
clones (a fitted estimator stores only its head).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import wordllama
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

__all__ = ["WordLlamaClassifier", "WordLlamaEmbedding", "load_wordllama"]

# the dimensions the shipped weights can be truncated to (Matryoshka training keeps each prefix useful)
DIMS = (64, 128, 256)


@functools.lru_cache(maxsize=len(DIMS))
def load_wordllama(dim: int = 256):
    """The shipped ``l2_supercat`` model at ``dim`` dimensions, from the installed package only."""
    if dim not in DIMS:
        raise ValueError(f"dim={dim!r} is not allowed; allowed: {', '.join(map(str, DIMS))}.")
    return wordllama.WordLlama.load(config="l2_supercat", cache_dir=Path(wordllama.__file__).parent,
                                    dim=256, trunc_dim=None if dim == 256 else dim, disable_download=True)


def _texts(X) -> list[str]:
    X = np.asarray(X, dtype=object)
    if X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 1:
        raise ValueError(f"expected one text per row (a 1-d array of strings), got shape {X.shape}.")
    return ["" if t is None else str(t) for t in X]


class WordLlamaEmbedding(TransformerMixin, BaseEstimator):
    """Texts -> WordLlama mean-pooled embeddings (``dim`` columns); nothing is learned in ``fit``.

    ``norm``: scale each row to unit length (the library's cosine-similarity use).
    """

    def __init__(self, *, dim: int = 256, norm: bool = False, batch_size: int = 256):
        self.dim = dim
        self.norm = norm
        self.batch_size = batch_size

    def fit(self, X, y=None):
        load_wordllama(self.dim)  # a bad dim fails here, before any text is read
        self.n_features_out_ = int(self.dim)
        return self

    def transform(self, X):
        check_is_fitted(self)
        texts = _texts(X)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(load_wordllama(self.dim).embed(texts, norm=self.norm, batch_size=self.batch_size),
                          dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        return np.array([f"wordllama{i}" for i in range(self.dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


class WordLlamaClassifier(ClassifierMixin, BaseEstimator):
    """Raw texts -> WordLlama embeddings -> L2 logistic regression (the linear head of ``logreg``).

    Only the head's ``(dim + 1) x classes`` numbers are learned from the
    training subset (``n_params_``); ``C`` and ``max_iter`` are the head's.
    """

    def __init__(self, *, dim: int = 256, norm: bool = False, C: float = 1.0, max_iter: int = 1000,
                 random_state=None):
        self.dim = dim
        self.norm = norm
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        check_classification_targets(y)
        self.embedding_ = WordLlamaEmbedding(dim=self.dim, norm=self.norm).fit(X)
        Z = self.embedding_.transform(X)
        if len(Z) != len(y):
            raise ValueError(f"X has {len(Z)} texts but y has {len(y)} labels.")
        self.head_ = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state).fit(Z, y)
        self.classes_ = self.head_.classes_
        self.n_params_ = int(self.head_.coef_.size + self.head_.intercept_.size)
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        return self.head_.decision_function(self.embedding_.transform(X))

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.head_.predict_proba(self.embedding_.transform(X))

    def predict(self, X):
        check_is_fitted(self)
        return self.head_.predict(self.embedding_.transform(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
