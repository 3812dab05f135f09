"""mvd.metrics in the corners the scikit-learn comparisons do not reach (each found by a surviving mutant)."""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from mvd import metrics


@pytest.mark.parametrize("name", metrics.METRICS["classification"])
def test_only_gives_each_classification_metric_equal_to_the_full_set(name):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    proba = rng.dirichlet(np.ones(3), 60)
    pred = proba.argmax(axis=1)
    full = metrics.score("classification", y, pred, proba, 3)
    assert metrics.score("classification", y, pred, proba, 3, only=name) == {name: full[name]}


def test_labels_stored_as_floats_count_like_integers():
    y, pred = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 2, 2, 2, 1, 1])
    proba = np.eye(3)[pred] * 0.8 + 0.2 / 3
    as_int = metrics.score("classification", y, pred, proba, 3)
    assert metrics.score("classification", y.astype(float), pred.astype(float), proba, 3) == as_int
    assert metrics.confusion(y.astype(float), pred.astype(float), 3).tolist() == \
        skm.confusion_matrix(y, pred, labels=[0, 1, 2]).tolist()


def test_balanced_accuracy_averages_the_classes_present_in_the_truth_only():
    # class 1 has one true row, class 3 none (it is only predicted): scikit-learn's recall over 0, 1, 2
    y = np.array([0, 0, 0, 0, 1, 2, 2, 2])
    pred = np.array([0, 0, 3, 0, 1, 2, 3, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about the predicted-only class
        want = skm.balanced_accuracy_score(y, pred)
    got = metrics.score("classification", y, pred, None, 4)
    assert got["balanced_accuracy"] == pytest.approx(want, abs=1e-12)
    assert got["balanced_accuracy"] == pytest.approx((3 / 4 + 1 + 2 / 3) / 3)


def test_macro_f1_counts_a_class_neither_true_nor_predicted_as_zero():
    y, pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    want = skm.f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0)
    assert metrics.score("classification", y, pred, None, 3)["macro_f1"] == pytest.approx(want, abs=1e-12)


def test_auc_of_an_absent_class_is_nan_without_a_warning():
    y = np.array([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a metric that does not apply is NaN, quietly
        got = metrics.score("classification", y, y, np.full((4, 3), 1 / 3), 3)
    assert np.isnan(got["roc_auc"]) and got["accuracy"] == 1.0


def test_binary_model_without_probabilities_or_decision_has_no_auc():
    y = np.array([0, 1, 0, 1, 1])
    got = metrics.score("classification", y, y, None, 2, None)
    assert np.isnan(got["roc_auc"]) and np.isnan(got["log_loss"]) and got["accuracy"] == 1.0


def test_r2_from_two_rows_and_nan_for_one_without_a_warning():
    assert metrics.score("regression", [1.0, 3.0], [1.5, 2.0])["r2"] == pytest.approx(
        skm.r2_score([1.0, 3.0], [1.5, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = metrics.score("regression", [1.0], [2.0])
    assert np.isnan(one["r2"]) and one["mae"] == 1.0


def test_full_proba_puts_each_column_under_its_class():
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    want = [[0.2, 0.0, 0.8, 0.0], [0.6, 0.0, 0.4, 0.0], [0.5, 0.0, 0.5, 0.0]]
    assert metrics.full_proba(proba, [0, 2], 4).tolist() == want  # a subset that saw classes 0 and 2 of four
    assert metrics.full_proba(proba, np.array([0.0, 2.0]), 4).tolist() == want  # classes read back as floats


def test_primary_metric_defaults_by_task_and_keeps_a_choice():
    assert metrics.primary_metric("classification") == "accuracy"
    assert metrics.primary_metric("regression") == "rmse"
    assert metrics.primary_metric("classification", "macro_f1") == "macro_f1"
