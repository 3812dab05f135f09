"""What a fitted model costs to deploy, measured the same way for every rung.

A team weighs accuracy against the price of serving a model: its latency
and its size.  ``predict_seconds`` (the whole test split, first call, cold
caches) is no such price, so each point also records:

- ``predict_ms_per_1000``: milliseconds to predict 1,000 rows, warm (one
  untimed call first), on one thread, the median of at least ``REPEATS``
  timed calls on the same 1,000 test rows (tiled when the test split is
  smaller), more for a fast model until ``MIN_SECONDS`` are timed, so that
  sub-millisecond rungs are not at the mercy of one scheduler tick;
- ``model_bytes``: the fitted pipeline's pickled size, preprocessing included.

Training compute is ``fit_seconds`` (and ``tune_seconds`` for a tuned point),
already stored.  The report weighs these at report time (``mvd.report.objectives``).
"""

from __future__ import annotations

import pickle
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["measure", "predict_ms_per_1000", "model_bytes", "REPEATS", "ROWS", "COLUMNS"]

REPEATS = 5
ROWS = 1000
# a cap on the timed repeats: a rung slower than this per call is timed fewer times (at least once)
BUDGET_SECONDS = 2.0
# a fast rung is timed until this much time is spent (at most MAX_REPEATS calls)
MIN_SECONDS, MAX_REPEATS = 0.1, 200
COLUMNS = ("predict_ms_per_1000", "model_bytes")


def _rows(X, n: int = ROWS):
    """The first ``n`` rows of ``X``, tiled when ``X`` has fewer (arrays, frames and lists of texts)."""
    length = X.shape[0] if hasattr(X, "shape") else len(X)
    index = np.resize(np.arange(length), n)
    if hasattr(X, "iloc"):
        return X.iloc[index]
    if isinstance(X, list):
        return [X[i] for i in index]
    return X[index]


def predict_ms_per_1000(model, X, *, repeats: int = REPEATS) -> float:
    """Median milliseconds of ``model.predict`` on 1,000 rows of ``X``: warm, one thread."""
    batch = _rows(X)
    times = []
    with threadpool_limits(limits=1):
        model.predict(batch)                      # warm: caches, lazy buffers, first-call dispatch
        spent = 0.0
        while len(times) < MAX_REPEATS and (len(times) < repeats or spent < MIN_SECONDS):
            start = time.perf_counter()
            model.predict(batch)
            elapsed = time.perf_counter() - start
            times.append(elapsed)
            spent += elapsed
            if spent > BUDGET_SECONDS:
                break
    return 1000.0 * statistics.median(times)


def model_bytes(model) -> int:
    """The fitted model's pickled size in bytes (0 when it cannot be pickled)."""
    try:
        return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # a model holding an unpicklable handle has no measured size
        return 0


def measure(model, X_test) -> dict:
    """The point's deployment costs (``COLUMNS``)."""
    return {"predict_ms_per_1000": predict_ms_per_1000(model, X_test), "model_bytes": model_bytes(model)}
