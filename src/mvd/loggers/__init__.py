"""Where points go besides the store: nothing, or Weights & Biases."""

from __future__ import annotations

from mvd.errors import ConfigError

__all__ = ["make", "NullLogger"]

NAMES = ("none", "wandb")


class NullLogger:
    """Logs nothing; the interface every logger implements."""

    def start(self, cfg, run_id: str) -> None: ...

    def log_point(self, point: dict) -> None: ...

    def finish(self, frame) -> None: ...


def make(cfg):
    """The logger a config names."""
    name = cfg.logger.name
    if name == "none":
        return NullLogger()
    if name == "wandb":
        from mvd.loggers.wandb import WandbLogger

        return WandbLogger(cfg.logger)
    raise ConfigError(f"logger={name!r} is not known; allowed: {', '.join(NAMES)}.")
