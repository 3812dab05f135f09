"""Test-label noise: its own stream, nested rates, both modes."""

from __future__ import annotations

import numpy as np
import pytest

from mvd import evaluation, quality, shift


def test_noise_hits_the_rate_and_rates_are_nested():
    y = np.random.default_rng(0).integers(0, 4, 20_000)
    out = evaluation.noisy_labels(y, [0.0, 0.05, 0.2], mode="symmetric", n_classes=4, seed=3)
    np.testing.assert_array_equal(out[0.0][0], y)
    for rate in (0.05, 0.2):
        noisy, flipped = out[rate]
        np.testing.assert_array_equal(noisy != y, flipped)  # a flip always changes the class
        assert abs(flipped.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / len(y))
    assert np.all(out[0.2][1][out[0.05][1]])  # the 5 % flips are among the 20 % ones
    np.testing.assert_array_equal(out[0.2][0][out[0.05][1]], out[0.05][0][out[0.05][1]])


def test_pairwise_noise_maps_each_class_to_one_partner():
    y = np.repeat(np.arange(5), 400)
    noisy, flipped = evaluation.noisy_labels(y, [0.3], mode="pairwise", n_classes=5, seed=1)[0.3]
    partners = {c: set(noisy[flipped & (y == c)]) for c in range(5)}
    assert all(len(p) == 1 and c not in p for c, p in partners.items())
    assert len({next(iter(p)) for p in partners.values()}) == 5  # a derangement


def test_noise_is_seeded_and_depends_only_on_the_seed():
    y = np.random.default_rng(0).integers(0, 3, 500)
    a = evaluation.noisy_labels(y, [0.1], mode="symmetric", n_classes=3, seed=4)[0.1][0]
    b = evaluation.noisy_labels(y, [0.1], mode="symmetric", n_classes=3, seed=4)[0.1][0]
    c = evaluation.noisy_labels(y, [0.1], mode="symmetric", n_classes=3, seed=5)[0.1][0]
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


def test_the_evaluation_stream_is_shared_with_no_training_stream():
    training = set(quality._STREAM.values()) | set(shift._STREAM.values())
    assert evaluation.STREAM not in training
    # seed-only streams (split, nested order) differ from [seed, tag] streams
    assert np.random.default_rng(3).random() != np.random.default_rng([3, evaluation.STREAM]).random()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="allowed: symmetric, pairwise"):
        evaluation.noisy_labels(np.zeros(3, dtype=int), [0.1], mode="bogus", n_classes=2, seed=0)
