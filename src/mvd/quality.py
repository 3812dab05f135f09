"""Training-data quality: corruptions applied to the pool, never to the test set.

``corrupt`` runs once per seed on the training pool, so every nested prefix
shares the same corrupted rows; it returns the corrupted pool and the truth
of which rows were altered, which the oracle cleaner and the bookkeeping use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["Corrupted", "corrupt", "check", "KINDS"]

KINDS = ("clean",)


@dataclass
class Corrupted:
    X: Any
    y: np.ndarray
    # True for every pool row the corruption altered (the truth)
    corrupted: np.ndarray
    # extra columns recorded on every point of the curve
    info: dict = field(default_factory=dict)

    def subset(self, order: np.ndarray, n: int) -> np.ndarray:
        """Pool rows of the training subset with budget ``n``: the first n of the order."""
        return order[:n]


def check(cfg, dataset: Dataset) -> None:
    if cfg.name not in KINDS:
        raise ConfigError(f"quality={cfg.name!r} is not known; allowed: {', '.join(KINDS)}.")
    if not 0 <= cfg.rate < 1:
        raise ConfigError(f"quality.rate={cfg.rate} is outside [0, 1); allowed: 0 <= rate < 1.")


def corrupt(X, y, cfg, dataset: Dataset, *, seed: int) -> Corrupted:
    """The pool as the study's quality setting leaves it."""
    return Corrupted(X=X, y=y, corrupted=np.zeros(len(y), dtype=bool))
