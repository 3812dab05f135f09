"""Rank 5 and 6 for text: a fastText-style bag of embeddings and a small Transformer encoder.

Both read raw strings (``text: raw`` in their model configs) and tokenise
them themselves with scikit-learn's ``CountVectorizer`` analyser: words and
punctuation marks, lower-cased.  The vocabulary is fitted inside ``fit`` on
the training rows only, so neither the test set nor the early-stopping
validation rows shape it; unseen tokens are dropped (bag) or mapped to one
unknown token (Transformer).  Documents become one padded matrix of token
ids on the device; batches are row slices of it, trimmed to their longest
document.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils.validation import check_consistent_length, column_or_1d
from torch import nn

from mvd.nn.base import TorchClassifierMixin, TorchEstimator, _check, _is_int, _is_number

__all__ = ["EmbeddingBagClassifier", "TransformerClassifier"]

# words and single punctuation marks ("!", "£" are strong spam cues); one-letter words count
TOKEN_PATTERN = r"(?u)\w+|[^\w\s]"
PAD, UNKNOWN, CLS = 0, 1, 2


def as_texts(X) -> np.ndarray:
    """A 1-D object array of strings (a single column of a 2-D input is accepted)."""
    if isinstance(X, str):
        raise ValueError("Expected an iterable of strings (one document per row), got a single string.")
    texts = np.asarray(X, dtype=object)
    if texts.ndim == 2 and texts.shape[1] == 1:
        texts = texts[:, 0]
    if texts.ndim != 1:
        raise ValueError(f"Expected a 1-D array of strings (one document per row), got shape {texts.shape}.")
    if len(texts) == 0:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
    if bad:
        raise ValueError(f"Expected every row to be a string; got {len(bad)} of type {bad[0]}.")
    return texts


class _TextNet(TorchClassifierMixin, TorchEstimator):
    """Tokenising, encoding and input checks shared by the text nets."""

    _ngram_range = (1, 1)
    _first_id = CLS + 1  # ids below are PAD, UNKNOWN, CLS
    _keep_unknown = True
    _prepend_cls = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_X(self, X, *, reset: bool):
        return as_texts(X)

    def _check_X_y(self, X, y):
        texts = as_texts(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(texts, y)
        return texts, y

    def _check_text_params(self) -> None:
        _check(_is_int(self.max_features, 1), "max_features", self.max_features, "expected an integer >= 1")
        _check(_is_int(self.min_df, 1), "min_df", self.min_df, "expected a document count >= 1")
        _check(_is_int(self.max_len, 1), "max_len", self.max_len, "expected an integer >= 1")

    def _fit_encoder(self, texts) -> None:
        self.vectorizer_ = CountVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=tuple(self._ngrams()),
                                           min_df=self.min_df, max_features=self.max_features,
                                           dtype=np.int32).fit(texts)
        self.vocabulary_size_ = len(self.vectorizer_.vocabulary_) + self._first_id

    def _ngrams(self):
        return self._ngram_range

    def _encode(self, texts) -> np.ndarray:
        """Token ids, one row per document, padded with PAD and cut at ``max_len``."""
        analyze = self.vectorizer_.build_analyzer()
        index, first = self.vectorizer_.vocabulary_, self._first_id
        head = [CLS] if self._prepend_cls else []
        docs = []
        unknown = [UNKNOWN] if self._keep_unknown else []
        for doc in texts:
            ids = [i for t in analyze(doc) for i in ([index[t] + first] if t in index else unknown)]
            docs.append(head + ids[: self.max_len])
        out = np.full((len(docs), max(1, max(map(len, docs)))), PAD, dtype=np.int64)
        for row, ids in enumerate(docs):
            out[row, : len(ids)] = ids
        return out

    def _to_tensor(self, texts, device):
        return torch.as_tensor(self._encode(texts), device=device)


class _Bag(nn.Module):
    def __init__(self, vocabulary: int, dim: int, n_outputs: int):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocabulary, dim, mode="mean", padding_idx=PAD)
        self.head = nn.Linear(dim, n_outputs)

    def forward(self, ids):
        return self.head(self.embed(ids))


class EmbeddingBagClassifier(_TextNet):
    """fastText-style classifier: the mean embedding of a document's words and word pairs, then linear.

    ``ngram_range``: word n-grams in the bag ([1, 2] = words and bigrams);
    ``max_features``/``min_df``: vocabulary size cap and minimum document
    count; ``max_len``: tokens kept per document.  Training knobs as in
    ``TorchEstimator``.
    """

    _first_id = 1  # PAD only: unseen tokens are dropped from the bag
    _keep_unknown = False
    _prepend_cls = False

    def __init__(self, *, embed_dim=64, ngram_range=(1, 2), max_features=20000, min_df=1, max_len=256,
                 max_epochs=30, min_steps=300, batch_size=64, lr=1e-2, weight_decay=0.0,
                 early_stopping=True, validation_fraction=0.1, patience=5, time_limit=None,
                 device="auto", n_threads=None, random_state=None):
        self.embed_dim = embed_dim
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.max_len = max_len
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_limit = time_limit
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_extra(self) -> None:
        self._check_text_params()
        _check(_is_int(self.embed_dim, 1), "embed_dim", self.embed_dim, "expected an integer >= 1")
        r = self.ngram_range
        _check(isinstance(r, (list, tuple)) and len(r) == 2 and all(_is_int(k, 1) for k in r) and r[0] <= r[1],
               "ngram_range", r, "expected [low, high] with 1 <= low <= high, e.g. [1, 2]")

    def _ngrams(self):
        return self.ngram_range

    def _build(self, n_outputs: int) -> nn.Module:
        return _Bag(self.vocabulary_size_, self.embed_dim, n_outputs)


class _Encoder(nn.Module):
    def __init__(self, vocabulary, d_model, n_heads, n_layers, dim_feedforward, dropout, max_len, n_outputs):
        super().__init__()
        self.tokens = nn.Embedding(vocabulary, d_model, padding_idx=PAD)
        self.positions = nn.Embedding(max_len + 1, d_model)  # +1: the CLS token
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_outputs)

    def forward(self, ids):
        # documents are left-aligned: columns past the batch's longest are padding only
        ids = ids[:, : int((ids != PAD).sum(1).max())]
        pad = ids == PAD
        h = self.tokens(ids) + self.positions.weight[: ids.shape[1]]
        h = self.norm(self.encoder(h, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).to(h.dtype)
        return self.head((h * keep).sum(1) / keep.sum(1))  # mean over real tokens (CLS is always one)


class TransformerClassifier(_TextNet):
    """A small pre-norm Transformer encoder trained from scratch, mean-pooled, then linear.

    ``d_model``, ``n_heads``, ``n_layers``, ``dim_feedforward``, ``dropout``
    shape the encoder; ``max_len`` tokens per document (after a CLS token);
    vocabulary of words with at least ``min_df`` documents, at most
    ``max_features``.  Training knobs as in ``TorchEstimator``.
    """

    def __init__(self, *, d_model=64, n_heads=4, n_layers=2, dim_feedforward=128, dropout=0.1,
                 max_features=20000, min_df=1, max_len=64, max_epochs=30, min_steps=300, batch_size=32,
                 lr=1e-3, weight_decay=1e-2, early_stopping=True, validation_fraction=0.1, patience=5,
                 time_limit=None, device="auto", n_threads=None, random_state=None):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.max_features = max_features
        self.min_df = min_df
        self.max_len = max_len
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.time_limit = time_limit
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_extra(self) -> None:
        self._check_text_params()
        for name in ("d_model", "n_heads", "n_layers", "dim_feedforward"):
            _check(_is_int(getattr(self, name), 1), name, getattr(self, name), "expected an integer >= 1")
        _check(self.d_model % self.n_heads == 0, "n_heads", self.n_heads,
               f"expected a divisor of d_model={self.d_model}")
        _check(_is_number(self.dropout) and 0 <= self.dropout < 1, "dropout", self.dropout,
               "expected a number in [0, 1)")

    def _build(self, n_outputs: int) -> nn.Module:
        return _Encoder(self.vocabulary_size_, self.d_model, self.n_heads, self.n_layers,
                        self.dim_feedforward, self.dropout, self.max_len, n_outputs)
