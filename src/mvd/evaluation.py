"""Test-label noise: how noise in the evaluation set changes what a study measures.

Real test sets carry label errors (Northcutt et al. 2021 found at least 3.3 %
on average across ten benchmark test sets), and model rankings can change
under them. A job may score every point against noisy copies of its test
labels at several rates, besides the true labels; the model is fitted once.

The noise has a random stream of its own (the seed plus a tag no
training-side stream uses), drawn on the test labels only: the training
pool, its order, corruption and the fit see exactly what they see without it.
One uniform draw and one replacement label per test row serve every rate (a
row is flipped when its draw falls below the rate), so a rate's flipped rows
are a subset of a higher rate's (common random numbers), and every model of a
seed is scored against the same noisy labels (paired comparisons).

Modes: ``symmetric`` replaces a label by one of the other classes uniformly;
``pairwise`` by the class's partner in a seeded cyclic derangement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import numpy as np

from mvd.errors import ConfigError

__all__ = ["TestNoise", "build", "noisy_labels", "noisy_scores", "rate_key", "MODES", "STREAM"]

MODES = ("symmetric", "pairwise")
# the evaluation stream's tag ("mvte"): distinct from every training-side tag
STREAM = 0x6D767465


def rate_key(rate: float) -> str:
    """The label of a rate in stored columns (e.g. 0.05 -> '0.05')."""
    return f"{float(rate):g}"


def noisy_labels(y_test: np.ndarray, rates, *, mode: str, n_classes: int, seed: int) -> dict:
    """``{rate: (noisy labels, flipped mask)}`` for every rate, from the seed's evaluation stream."""
    y_test = np.asarray(y_test, dtype=np.int64)
    rng = np.random.default_rng([int(seed), STREAM])
    u = rng.random(len(y_test))
    if mode == "symmetric":
        # an offset in 1..k-1 never maps a class to itself, and is uniform over the others
        replacement = (y_test + rng.integers(1, n_classes, size=len(y_test))) % n_classes
    elif mode == "pairwise":
        cycle = rng.permutation(n_classes)
        partner = np.empty(n_classes, dtype=np.int64)
        partner[cycle] = np.roll(cycle, -1)
        replacement = partner[y_test]
    else:
        raise ValueError(f"mode={mode!r}; allowed: {', '.join(MODES)}")
    out = {}
    for rate in rates:
        flipped = u < float(rate)
        out[float(rate)] = (np.where(flipped, replacement, y_test), flipped)
    return out


def noisy_scores(noisy: dict, *, task: str, pred, proba, n_classes: int, decision, metric: str) -> str:
    """JSON ``{rate: {metric: score}}`` of one point's predictions against each noisy copy of the test labels.

    Only the primary metric is scored: every metric would cost more than a
    small fit (ROC-AUC ranks a column per class).
    """
    from mvd import metrics

    out = {}
    for rate, (labels, _) in sorted(noisy.items()):
        score = metrics.score(task, labels, pred, proba, n_classes, decision, only=metric)[metric]
        out[rate_key(rate)] = {metric: float(score)}
    return json.dumps(out, sort_keys=True)


@dataclass(frozen=True)
class TestNoise:
    """The ``evaluation`` group: noisy copies of the test labels to score against, besides the true ones."""

    __test__ = False  # not a pytest class, whatever its name

    name: str = "none"
    rates: tuple = ()
    mode: str = "symmetric"

    def check(self, dataset) -> None:
        """Refuse rates outside (0, 1), an unknown mode, or noise on a regression task (one sentence)."""
        if self.mode not in MODES:
            raise ConfigError(f"evaluation.mode={self.mode!r} is not known; allowed: {', '.join(MODES)}.")
        bad = [r for r in self.rates if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r < 1]
        if bad:
            raise ConfigError(f"evaluation.rates has {bad} outside (0, 1); allowed: rates with 0 < rate < 1.")
        if self.rates and dataset.task != "classification":
            raise ConfigError(f"evaluation.rates={list(self.rates)} flip test labels, and dataset={dataset.name!r} "
                              "is a regression task; allowed for regression: evaluation=none.")

    def labels(self, y_test, *, n_classes: int, seed: int) -> Optional[dict]:
        """The seed's noisy test labels per rate, or None when there are no rates."""
        if not self.rates:
            return None
        return noisy_labels(y_test, self.rates, mode=self.mode, n_classes=n_classes, seed=seed)


def build(node) -> TestNoise:
    """The evaluation spec of a config node (None or a missing node: true labels only)."""
    from mvd.parts import plain

    values = dict(plain(node) or {})
    return TestNoise(name=str(values.get("name", "none")), rates=tuple(values.get("rates") or ()),
                     mode=str(values.get("mode", "symmetric")))
