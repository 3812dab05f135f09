"""RealMLP and TabM through pytabkit (the ``modern`` extra), with mvd's device and thread rules.

pytabkit's scikit-learn classes already list every parameter in ``__init__``
and clone, pickle and predict like scikit-learn's; these subclasses change
only how a fit reads two of them:

- ``device``: ``auto`` (mvd's default: CUDA when present, else CPU), ``cpu``,
  ``cuda`` or ``cuda:N``, resolved and checked by :func:`mvd.nn.resolve_device`
  (pytabkit's own default would take any GPU it finds);
- ``n_threads``: ``None`` means the job's thread limit (torch's current
  count), not pytabkit's default of every physical core, which would
  oversubscribe a machine running several jobs.

Each carves its validation split (``val_fraction``, 20%) from the rows given to
``fit``, picks its best epoch on it, and never sees the curve's test split.
pytabkit is imported at module import, so a missing extra shows up as a
missing module when a config names one of these classes.  Fitted attributes
added here: ``device_`` (``cpu`` or ``cuda:<GPU name>``, as mvd's nets) and
``n_params_`` (the weights of the fitted networks).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import torch

with warnings.catch_warnings():  # pytorch-lightning warns about its own use of torch at import
    warnings.simplefilter("ignore")
    import pytabkit

from mvd.errors import ConfigError
from mvd.nn.base import describe_device, resolve_device

__all__ = ["RealMLPClassifier", "RealMLPRegressor", "TabMClassifier", "TabMRegressor"]


class _MvdResources:
    """``get_config`` as pytabkit reads it in ``fit``, with mvd's device and thread rules."""

    def check_params(self, *, prefix: str = "") -> None:
        """Refuse a device this machine lacks, or a bad thread count, in one sentence before any work."""
        try:
            resolve_device(self.device if self.device is not None else "auto")
            if self.n_threads is not None and not (isinstance(self.n_threads, int) and self.n_threads >= 1):
                raise ConfigError(f"n_threads={self.n_threads!r} is not allowed; expected null (the job's "
                                  "thread limit) or an integer >= 1.")
        except ConfigError as exc:
            raise ConfigError(f"{prefix}{exc}") from None

    def get_config(self):
        config = super().get_config()
        device = resolve_device(config.get("device", "auto"))
        # pytabkit names the first GPU cuda:0 ('cuda' alone fails in parts of its code)
        config["device"] = "cpu" if device.type == "cpu" else f"cuda:{device.index or 0}"
        config["n_threads"] = int(config.get("n_threads") or torch.get_num_threads())
        return config

    def fit(self, X, y, **kwargs):
        device = resolve_device(self.device if self.device is not None else "auto")
        # TabM prints when it shrinks its bins to the rows; torch warns about pytorch-lightning's pytree use
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            super().fit(X, y, **kwargs)
        self.device_ = describe_device(device)
        self.n_params_ = sum(p.numel() for p in {id(p): p for m in _modules(self) for p in m.parameters()}.values())
        return self


def _modules(obj, depth: int = 0, seen=None) -> list:
    """The torch modules a fitted pytabkit estimator holds (its networks sit a few objects deep)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        return [obj]
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    else:
        children = getattr(obj, "__dict__", {}).values()
    skip = (str, bytes, int, float, np.ndarray, torch.Tensor, type(None))
    return [m for child in children if not isinstance(child, skip) for m in _modules(child, depth + 1, seen)]


class RealMLPClassifier(_MvdResources, pytabkit.RealMLP_TD_Classifier):
    """RealMLP-TD (Holzmüller et al., 2024): an MLP with tuned defaults, robust scaling and embeddings."""


class RealMLPRegressor(_MvdResources, pytabkit.RealMLP_TD_Regressor):
    """RealMLP-TD for regression."""


class TabMClassifier(_MvdResources, pytabkit.TabM_D_Classifier):
    """TabM (Gorishniy et al., 2025): an MLP that trains k weight-sharing members at once, averaged."""


class TabMRegressor(_MvdResources, pytabkit.TabM_D_Regressor):
    """TabM for regression."""
