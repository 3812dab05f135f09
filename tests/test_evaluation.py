"""Test-label noise: its own stream, nested rates, both modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


# --- the engine: scores against noisy test labels -----------------------------------

import hashlib  # noqa: E402
import json  # noqa: E402

from mvd import curve  # noqa: E402
from mvd.errors import ConfigError  # noqa: E402


@pytest.fixture
def fit_digests(monkeypatch):
    """SHA-256 of every (X_fit, y_fit, X_test, y_test) the engine fits and scores, in order."""
    seen = {"fit": [], "test": []}
    original = curve.fit_and_score

    def spy(pipe, X_fit, y_fit, X_test, y_test, **kw):
        for key, arrays in (("fit", (X_fit, y_fit)), ("test", (X_test, y_test))):
            digest = hashlib.sha256()
            for array in arrays:
                digest.update(np.ascontiguousarray(array).tobytes())
            seen[key].append(digest.hexdigest())
        return original(pipe, X_fit, y_fit, X_test, y_test, **kw)

    monkeypatch.setattr(curve, "fit_and_score", spy)
    return seen


def _run(make_cfg, *overrides):
    frame = curve.run_curve(make_cfg("curve=tiny", "dataset=digits", "model=logreg", "curve.seeds=[0,1]",
                                     *overrides))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return frame.sort_values(["seed", "train_size"]).reset_index(drop=True)


def test_test_label_noise_leaves_training_untouched(make_cfg, fit_digests):
    plain = _run(make_cfg)
    before = {k: list(v) for k, v in fit_digests.items()}
    noisy = _run(make_cfg, "evaluation=label_noise", "evaluation.mode=pairwise", "quality=label_noise",
                 "quality.rate=0.2")
    plain_noise = _run(make_cfg, "quality=label_noise", "quality.rate=0.2")
    n = len(before["fit"])
    # what fit sees and the true test set: identical with and without test-label noise
    assert fit_digests["fit"][n:2 * n] == fit_digests["fit"][2 * n:]
    assert fit_digests["test"][:n] == fit_digests["test"][n:2 * n] == before["test"]
    pd.testing.assert_frame_equal(noisy[["test_accuracy", "train_score"]], plain_noise[["test_accuracy", "train_score"]])
    assert "noisy_test_scores" not in plain
    scores = [json.loads(s) for s in noisy["noisy_test_scores"]]
    assert all(list(s) == ["0.02", "0.05", "0.1", "0.2"] and set(s["0.2"]) == {"accuracy"} for s in scores)
    # more noise, lower measured accuracy (on average over the points)
    assert np.mean([s["0.2"]["accuracy"] for s in scores]) < noisy["test_accuracy"].mean()


def test_evaluation_options_are_checked(make_cfg):
    with pytest.raises(ConfigError, match=r"evaluation.rates has \[1.5\] outside \(0, 1\)"):
        curve.plan(make_cfg("evaluation=label_noise", "evaluation.rates=[0.1,1.5]"))
    with pytest.raises(ConfigError, match="evaluation.mode='bogus' is not known"):
        curve.plan(make_cfg("evaluation=label_noise", "evaluation.mode=bogus"))
    with pytest.raises(ConfigError, match="is a regression task"):
        curve.plan(make_cfg("dataset=diabetes", "model=ridge", "evaluation=label_noise"))


def test_evaluation_none_keeps_run_ids(make_cfg):
    assert curve.run_id_of(make_cfg()) == curve.run_id_of(make_cfg("evaluation=none"))
    assert curve.run_id_of(make_cfg()) != curve.run_id_of(make_cfg("evaluation=label_noise"))
