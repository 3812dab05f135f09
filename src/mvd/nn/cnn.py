"""Rank 6 for images: a small residual conv net with shift augmentation.

Rows arrive flattened (the engine's arrays are 2-D); ``image_shape``
(channels, height, width), set by the engine from the dataset, turns them
back into images.  Each stage is conv -> max-pool -> BatchNorm -> ReLU
followed by a residual conv block, as in airbench; global average pooling
and a linear head follow the last stage.

Augmentation runs on the device as batched tensor ops: every image is
translated by up to ``shift`` pixels (a random crop of the zero-padded
image).  No flips by default: a mirrored 2 is not a 2.  Pixels are
standardised inside the network with one mean and scale learnt from the
training rows, so padding with 0 pads with the raw background.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mvd.nn.base import TorchClassifierMixin, TorchEstimator, _check, _is_int

__all__ = ["CNNClassifier"]


class _Standardize(nn.Module):
    def __init__(self, mean: float, scale: float):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.scale


class _Stage(nn.Module):
    """conv -> pool -> BN -> ReLU, then x + ReLU(BN(conv(x)))."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        # ceil_mode keeps a 1x1 map at 1x1, so any image size works with any depth
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.norm = nn.BatchNorm2d(c_out)
        self.res_conv = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.res_norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = F.relu(self.norm(self.pool(self.conv(x))))
        return x + F.relu(self.res_norm(self.res_conv(x)))


class _ResNet(nn.Module):
    def __init__(self, channels: int, widths, n_outputs: int, mean: float, scale: float):
        super().__init__()
        self.standardize = _Standardize(mean, scale)
        stages, c = [], channels
        for width in widths:
            stages.append(_Stage(c, width))
            c = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(c, n_outputs)

    def forward(self, x):
        return self.head(self.stages(self.standardize(x)).mean(dim=(2, 3)))


def translate(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by its own random (dy, dx) in [-shift, shift]: a crop of the zero-padded batch."""
    n, c, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift)).permute(0, 2, 3, 1)  # n, h+2s, w+2s, c
    dy = torch.randint(0, 2 * shift + 1, (n, 1, 1), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * shift + 1, (n, 1, 1), device=x.device, generator=generator)
    rows = dy + torch.arange(h, device=x.device).view(1, h, 1)
    cols = dx + torch.arange(w, device=x.device).view(1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)  # n, c, h, w (channels-last strides)


class CNNClassifier(TorchClassifierMixin, TorchEstimator):
    """Small residual CNN with the scikit-learn API (see ``TorchEstimator`` for training knobs).

    ``image_shape``: (channels, height, width) of the flattened rows; None
    reads a square one-channel image off the number of features.
    ``widths``: channels per stage (each stage halves the resolution).
    ``shift``: largest translation in pixels, ``auto`` = a tenth of the
    side (1 on 8x8 digits, 2 on 28x28 MNIST), 0 = none.  ``flip``: random
    horizontal flips, for natural images only.  No early stopping by
    default: the short cosine schedule is the budget, every row trains, and
    on small subsets a noisy validation loss would stop a run while its
    learning rate is still high.
    """

    _channels_last = True

    def __init__(self, *, image_shape=None, widths=(32, 64, 128), shift="auto", flip=False,
                 max_epochs=15, min_steps=300, batch_size=64, lr=2e-3, weight_decay=5e-4,
                 early_stopping=False, validation_fraction=0.1, patience=5, time_limit=None,
                 device="auto", n_threads=None, random_state=None):
        self.image_shape = image_shape
        self.widths = widths
        self.shift = shift
        self.flip = flip
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
        shape = self.image_shape
        _check(shape is None or (isinstance(shape, (list, tuple)) and len(shape) == 3
                                 and all(_is_int(s, 1) for s in shape)),
               "image_shape", shape, "expected null or [channels, height, width] of positive integers")
        _check(isinstance(self.widths, (list, tuple)) and len(self.widths) >= 1
               and all(_is_int(s, 1) for s in self.widths),
               "widths", self.widths, "expected a non-empty list of positive integers, e.g. [32, 64, 128]")
        _check(self.shift == "auto" or _is_int(self.shift, 0), "shift", self.shift,
               "expected 'auto' or an integer >= 0")
        _check(isinstance(self.flip, bool), "flip", self.flip, "expected true or false")

    def _shape(self, n_features: int) -> tuple:
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if math.prod(shape) != n_features:
                raise ValueError(f"image_shape={list(shape)} holds {math.prod(shape)} pixels but X has "
                                 f"{n_features} features per row.")
            return shape
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(f"X has {n_features} features, not a square image; set image_shape.")
        return (1, side, side)

    def _fit_encoder(self, X) -> None:
        self.image_shape_ = self._shape(X.shape[1])
        self.pixel_mean_ = float(X.mean()) if X.size else 0.0
        std = float(X.std()) if X.size else 1.0
        self.pixel_scale_ = std if std > 0 else 1.0
        side = min(self.image_shape_[1:])
        self.shift_ = max(1, side // 10) if self.shift == "auto" else int(self.shift)

    def _to_tensor(self, X, device):
        x = torch.tensor(np.asarray(X), dtype=torch.float32, device=device).view(-1, *self.image_shape_)
        return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x

    def _augment(self, xb, generator):
        if self.shift_ > 0:
            xb = translate(xb, self.shift_, generator)
        if self.flip:
            flip = torch.rand(len(xb), device=xb.device, generator=generator) < 0.5
            xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(3), xb)
        return xb if xb.device.type == "cuda" else xb.contiguous()

    def _build(self, n_outputs: int) -> nn.Module:
        return _ResNet(self.image_shape_[0], [int(w) for w in self.widths], n_outputs,
                       self.pixel_mean_, self.pixel_scale_)
