"""One training loop for every torch net, behind the scikit-learn estimator API.

Why a loop of our own and no ``DataLoader``: a learning-curve point fits in
memory, so its rows live on the device as one tensor and each batch is an
index slice of a ``torch.randperm`` drawn on that device (airbench; on MNIST
that alone is ~4x faster than a DataLoader).  Subclasses say only how rows
become a tensor (``_check_X``, ``_to_tensor``), which network to build
(``_build``) and how to augment a batch (``_augment``); device choice,
seeding, threads, mixed precision, early stopping and the budget live here
once.

The validation split for early stopping is carved from the rows passed to
``fit`` (the training subset), never from anything else, so the test set of
a curve cannot steer training.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mvd.errors import ConfigError

__all__ = ["TorchEstimator", "TorchClassifierMixin", "TorchRegressorMixin",
           "resolve_device", "describe_device"]

DEVICES = ("auto", "cpu", "cuda")
# rows per forward pass when predicting: bounds memory, not a hyperparameter
_PREDICT_CHUNK = 4096
# early stopping needs a validation split of at least this many rows (and two
# per class); below that its loss is noise and the rows are worth more as training data
_MIN_VALIDATION = 20


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cpu``/``cuda``/``cuda:N`` as asked."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise ConfigError(f"device={device!r} is not allowed; allowed: auto, cpu, cuda (or cuda:N).")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={device!r} needs a CUDA GPU and none is available here; "
                              "use device=auto or device=cpu.")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={device!r} does not exist: {torch.cuda.device_count()} CUDA GPU(s) here.")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """``cpu``, or ``cuda:<GPU name>`` so a point says which card it ran on."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type


def _amp_dtype(device: torch.device):
    """Mixed precision on CUDA only: bfloat16 where the card has it (no loss scaling), else float16."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device, dtype):
    return torch.autocast(device_type="cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()


@contextlib.contextmanager
def _threads(n_threads):
    """Torch's intra-op threads: ``n_threads``, or the job's threadpoolctl limit (torch reads OpenMP's)."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads) if n_threads is not None else before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fork_rng(device: torch.device):
    """Seed inside a fork so a fit neither reads nor disturbs the caller's global torch RNG."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    return torch.random.fork_rng(devices=cuda)


def _check(ok: bool, name: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{name}={value!r} is not allowed; {allowed}.")


def _is_int(value, low: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class TorchEstimator(BaseEstimator):
    """Training loop shared by the nets; subclasses list every parameter in ``__init__``.

    Training parameters every net has: ``max_epochs``, ``min_steps`` (small
    subsets train for more epochs, up to this many optimizer steps: a 64-row
    subset is one batch per epoch), ``batch_size``, ``lr`` (AdamW,
    cosine-decayed over the epochs), ``weight_decay``,
    ``early_stopping`` with ``validation_fraction`` and ``patience``,
    ``time_limit`` (seconds: after the first epoch the schedule is re-planned
    to end within it, and training stops once it is spent), ``device``
    (auto | cpu | cuda), ``n_threads`` (None: the job's threadpoolctl limit)
    and ``random_state``.

    Fitted attributes: ``module_`` (the network, in eval mode), ``n_params_``,
    ``device_`` (``cpu`` or ``cuda:<GPU name>``), ``n_epochs_``,
    ``best_epoch_``, ``stopped_by_`` (max_epochs | early_stopping |
    time_limit), ``loss_curve_`` and ``validation_loss_curve_`` (empty when no
    validation split was held out).
    """

    # subclasses with image inputs use channels_last on CUDA, where it helps convolutions
    _channels_last = False

    # --- hooks --------------------------------------------------------------------
    def _check_X(self, X, *, reset: bool):
        """Validated features as a numpy array (numeric by default)."""
        return validate_data(self, X, reset=reset, dtype=np.float32)

    def _check_X_y(self, X, y):
        return validate_data(self, X, y, dtype=np.float32, y_numeric=not self._is_classifier())

    def _fit_encoder(self, X) -> None:
        """Learn input statistics or a vocabulary from the training rows (none by default)."""

    def _to_tensor(self, X, device: torch.device) -> torch.Tensor:
        return torch.tensor(X, dtype=torch.float32, device=device)

    def _build(self, n_outputs: int) -> torch.nn.Module:
        raise NotImplementedError

    def _augment(self, xb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return xb

    def _check_extra(self) -> None:
        """Parameters of the network itself."""

    # --- parameters ---------------------------------------------------------------
    def check_params(self, *, prefix: str = "") -> None:
        """Refuse bad parameters with one sentence (``ConfigError``), before any work.

        The engine calls this from ``models.check`` with ``prefix`` the
        config path of the estimator node (``model.classification.``), so a
        bad config (e.g. ``device=cuda`` on a machine without a GPU) stops a
        job before its first point and the message names the key.
        """
        try:
            self._check_params()
        except ConfigError as exc:
            raise ConfigError(f"{prefix}{exc}") from None

    def _check_params(self) -> None:
        _check(_is_int(self.max_epochs, 1), "max_epochs", self.max_epochs, "expected an integer >= 1")
        _check(_is_int(self.min_steps, 0), "min_steps", self.min_steps, "expected an integer >= 0")
        _check(_is_int(self.batch_size, 1), "batch_size", self.batch_size, "expected an integer >= 1")
        _check(_is_number(self.lr) and self.lr > 0, "lr", self.lr, "expected a number > 0")
        _check(_is_number(self.weight_decay) and self.weight_decay >= 0, "weight_decay",
               self.weight_decay, "expected a number >= 0")
        _check(isinstance(self.early_stopping, bool), "early_stopping", self.early_stopping,
               "expected true or false")
        _check(_is_number(self.validation_fraction) and 0 < self.validation_fraction < 1,
               "validation_fraction", self.validation_fraction, "expected a number in (0, 1)")
        _check(_is_int(self.patience, 1), "patience", self.patience, "expected an integer >= 1")
        _check(self.time_limit is None or (_is_number(self.time_limit) and self.time_limit > 0),
               "time_limit", self.time_limit, "expected null or a number of seconds > 0")
        _check(self.n_threads is None or _is_int(self.n_threads, 1), "n_threads", self.n_threads,
               "expected null (the job's thread limit) or an integer >= 1")
        resolve_device(self.device)
        self._check_extra()

    def _is_classifier(self) -> bool:
        return isinstance(self, ClassifierMixin)

    def _seed(self) -> int:
        if _is_int(self.random_state, 0):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _split(self, targets: np.ndarray, seed: int):
        """Training and validation rows, both from the rows given to ``fit``."""
        n = len(targets)
        rows = np.arange(n)
        n_val = math.ceil(self.validation_fraction * n)
        if not self.early_stopping or n_val < _MIN_VALIDATION or n - n_val < 2:
            return rows, None
        stratify = None
        if self._is_classifier():
            counts = np.bincount(targets)
            if counts.min() < 2 or min(n_val, n - n_val) < len(counts):
                return rows, None
            stratify = targets
        train, val = train_test_split(rows, test_size=n_val, random_state=seed, stratify=stratify)
        return np.sort(train), np.sort(val)

    # --- fit ----------------------------------------------------------------------
    def fit(self, X, y):
        """Train on (X, y); early stopping, if on, holds out part of these rows only."""
        self.check_params()
        X, y = self._check_X_y(X, y)
        targets, n_outputs = self._encode_y(y)
        device = resolve_device(self.device)
        seed = self._seed()
        train, val = self._split(targets, seed)
        self._fit_encoder(X[train])
        with _threads(self.n_threads), _fork_rng(device):
            torch.manual_seed(seed)
            module = self._build(n_outputs).to(device)
            if self._channels_last and device.type == "cuda":
                module = module.to(memory_format=torch.channels_last)
            held = None
            if val is not None:
                held = (self._to_tensor(X[val], device), torch.as_tensor(targets[val], device=device))
            self.module_ = module
            self._train(module, self._to_tensor(X[train], device),
                        torch.as_tensor(targets[train], device=device), held, device, seed)
        self.n_params_ = sum(p.numel() for p in module.parameters())
        self.device_ = describe_device(device)
        return self

    def _train(self, module, X, y, held, device, seed) -> None:
        """Epochs of shuffled batches; cosine-decayed AdamW; early stopping on ``held``.

        The cosine runs over ``planned`` epochs: ``max_epochs`` (more if that
        gives fewer than ``min_steps`` steps), or fewer when
        the first epoch shows that ``time_limit`` allows fewer, so a budgeted
        fit still ends at a small learning rate instead of being cut mid-schedule.
        """
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        amp = _amp_dtype(device)
        scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
        optimizer = torch.optim.AdamW(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n = len(y)
        # equal batches (sizes differ by at most one row), so no tail batch of one row reaches BatchNorm
        n_batches = max(1, round(n / self.batch_size))
        epochs = max(self.max_epochs, math.ceil(self.min_steps / n_batches))
        planned = epochs
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda e: 0.5 * (1.0 + math.cos(math.pi * min(e, planned) / planned)))
        start = time.perf_counter()
        best, best_state, best_epoch, waited = math.inf, None, 0, 0
        self.loss_curve_, self.validation_loss_curve_ = [], []
        self.stopped_by_ = "max_epochs"
        epoch = 0
        cast = _autocast(device, amp)  # one reusable context: no per-batch set-up
        for epoch in range(1, epochs + 1):
            module.train()
            losses = []
            for idx in torch.randperm(n, device=device, generator=generator).tensor_split(n_batches):
                xb = self._augment(X[idx], generator)
                with cast:
                    loss = self._loss(module(xb), y[idx])
                optimizer.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    optimizer.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                losses.append(loss.detach())  # summed once per epoch: no per-batch sync or arithmetic
            schedule.step()
            self.loss_curve_.append(torch.stack(losses).mean().item())
            if held is not None:
                val_loss = self._loss(self._forward(module, held[0], device), held[1]).item()
                self.validation_loss_curve_.append(val_loss)
                if val_loss < best:
                    best, best_epoch, waited = val_loss, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    waited += 1
                    if waited >= self.patience:
                        self.stopped_by_ = "early_stopping"
                        break
            if self.time_limit is not None:
                spent = time.perf_counter() - start
                if epoch == 1:
                    planned = max(1, min(epochs, int(self.time_limit // spent)))
                if spent > self.time_limit or epoch >= planned:
                    self.stopped_by_ = "time_limit" if epoch < epochs else self.stopped_by_
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.n_epochs_ = epoch
        self.best_epoch_ = best_epoch if best_state is not None else epoch

    # --- predict ------------------------------------------------------------------
    @staticmethod
    def _forward(module, X: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Outputs in float32, in chunks, in eval mode, without autograd."""
        was_training = module.training
        module.eval()
        amp = _amp_dtype(device)
        with torch.no_grad(), _autocast(device, amp):
            out = torch.cat([module(chunk).float() for chunk in X.split(_PREDICT_CHUNK)])
        module.train(was_training)
        return out

    def _outputs(self, X) -> torch.Tensor:
        check_is_fitted(self, "module_")
        X = self._check_X(X, reset=False)
        device = next(self.module_.parameters()).device
        with _threads(self.n_threads):
            return self._forward(self.module_, self._to_tensor(X, device), device).cpu()


class TorchClassifierMixin(ClassifierMixin):
    """Cross-entropy over ``classes_``; probabilities by softmax."""

    @staticmethod
    def _loss(logits, target):
        return F.cross_entropy(logits.float(), target)

    def _encode_y(self, y):
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {self.classes_[0]!r}.")
        return codes.astype(np.int64), len(self.classes_)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return torch.softmax(self._outputs(X).double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        best = self._outputs(X).argmax(dim=1).numpy()
        return self.classes_[best]


class TorchRegressorMixin(RegressorMixin):
    """Squared error on a standardised target (so one learning rate fits any unit)."""

    @staticmethod
    def _loss(output, target):
        return F.mse_loss(output.float().squeeze(1), target)

    def _encode_y(self, y):
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        std = float(y.std())
        self.y_scale_ = std if std > 0 else 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32), 1

    def predict(self, X) -> np.ndarray:
        return self._outputs(X).double().squeeze(1).numpy() * self.y_scale_ + self.y_mean_
