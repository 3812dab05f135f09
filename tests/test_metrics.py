"""mvd's metrics equal scikit-learn's, including the awkward cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

from mvd import metrics


def _case(seed, n_classes, n=200, missing_pred=False, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    y[:n_classes] = np.arange(n_classes)  # every class present in the truth
    proba = rng.dirichlet(np.ones(n_classes), n)
    if ties:
        proba = np.round(proba, 1)
        proba = proba / proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    if missing_pred:
        pred[pred == n_classes - 1] = 0  # a class never predicted
    return y, pred, proba


@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("missing_pred", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_classification_metrics_equal_sklearn(n_classes, missing_pred, ties):
    y, pred, proba = _case(n_classes * 7 + missing_pred, n_classes, missing_pred=missing_pred, ties=ties)
    got = metrics.score("classification", y, pred, proba, n_classes)
    labels = np.arange(n_classes)
    auc = (skm.roc_auc_score(y, proba[:, 1]) if n_classes == 2
           else skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels))
    want = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "macro_f1": skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0),
        "log_loss": skm.log_loss(y, proba, labels=labels),
        "roc_auc": auc,
    }
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert metrics.confusion(y, pred, n_classes).tolist() == skm.confusion_matrix(y, pred, labels=labels).tolist()


def test_binary_decision_function_gives_roc_auc():
    y, _, proba = _case(1, 2)
    decision = np.log(proba[:, 1] / proba[:, 0])
    got = metrics.score("classification", y, (decision > 0).astype(int), None, 2, decision)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, decision), abs=1e-12)
    assert np.isnan(got["log_loss"])


def test_auc_undefined_when_a_class_is_absent_from_the_truth():
    y = np.array([0, 0, 1, 1])
    proba = np.full((4, 3), 1 / 3)
    got = metrics.score("classification", y, y, proba, 3)
    assert np.isnan(got["roc_auc"]) and got["accuracy"] == 1.0


def test_only_computes_the_one_metric():
    y, pred, proba = _case(3, 3)
    assert metrics.score("classification", y, pred, proba, 3, only="accuracy") == {
        "accuracy": skm.accuracy_score(y, pred)}
    assert list(metrics.score("regression", [1.0, 2.0], [1.0, 3.0], only="rmse")) == ["rmse"]


def test_regression_metrics():
    got = metrics.score("regression", [1.0, 2.0, 4.0], [1.0, 3.0, 3.0])
    assert got["rmse"] == pytest.approx(np.sqrt(2 / 3)) and got["mae"] == pytest.approx(2 / 3)
    assert got["r2"] == pytest.approx(skm.r2_score([1.0, 2.0, 4.0], [1.0, 3.0, 3.0]))
