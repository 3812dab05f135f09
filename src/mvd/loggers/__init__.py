"""Where points go besides the store: nothing, or Weights & Biases.

A logger config is a ``_target_`` node like every part (:mod:`mvd.parts`):
``conf/logger/none.yaml`` names :class:`NullLogger`,
``conf/logger/wandb.yaml`` names :class:`mvd.loggers.wandb.WandbLogger`.  A
logger of your own implements the three methods of :class:`NullLogger`.
"""

from __future__ import annotations

__all__ = ["make", "build", "NullLogger", "BUILTIN"]

# the class of each built-in logger (configs saved without a _target_ name only the logger)
BUILTIN = {"none": "mvd.loggers.NullLogger", "wandb": "mvd.loggers.wandb.WandbLogger"}


class NullLogger:
    """Logs nothing; the interface every logger implements."""

    def __init__(self, name: str = "none"):
        self.name = name

    def start(self, cfg, run_id: str) -> None: ...

    def log_point(self, point: dict) -> None: ...

    def finish(self, frame) -> None: ...


def build(node):
    """The logger a ``logger`` config node names (a node without ``_target_``: the built-in of its name)."""
    from mvd import parts

    return parts.build(node, key="logger", builtin=BUILTIN)


def make(cfg):
    """The logger of a job's config."""
    return build(cfg.logger)
