"""Torch networks as scikit-learn estimators: sophistication 5 and 6 on the ladder."""

from mvd.nn.base import TorchEstimator, describe_device, resolve_device
from mvd.nn.cnn import CNNClassifier
from mvd.nn.mlp import MLPClassifier, MLPRegressor
from mvd.nn.text import EmbeddingBagClassifier, TransformerClassifier

__all__ = ["TorchEstimator", "MLPClassifier", "MLPRegressor", "CNNClassifier",
           "EmbeddingBagClassifier", "TransformerClassifier", "resolve_device", "describe_device"]
