"""Torch networks as scikit-learn estimators: the ladder's ranks 5 and 6 (DESIGN.md section 4)."""

from mvd.nn.base import TorchEstimator, describe_device, resolve_device
from mvd.nn.cnn import CNNClassifier
from mvd.nn.mlp import MLPClassifier, MLPRegressor
from mvd.nn.text import EmbeddingBagClassifier, TransformerClassifier

__all__ = ["TorchEstimator", "MLPClassifier", "MLPRegressor", "CNNClassifier",
           "EmbeddingBagClassifier", "TransformerClassifier", "resolve_device", "describe_device"]
