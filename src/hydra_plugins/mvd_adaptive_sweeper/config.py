"""``hydra/sweeper=adaptive``: the sweeper's settings, registered in Hydra's ConfigStore.

Hydra imports every module of the ``hydra_plugins`` namespace package when it
looks for plugins, so this registration happens before the config is composed.
"""

from dataclasses import dataclass
from typing import Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class AdaptiveSweeperConf:
    _target_: str = "hydra_plugins.mvd_adaptive_sweeper.adaptive_sweeper.AdaptiveSweeper"
    # the sweep axes, as for the basic sweeper: one curve job per combination
    params: Optional[Dict[str, str]] = None
    # the chosen lever's advantage must exclude 0 at this level to stop early
    confidence: float = 0.95
    # the whole study's budget in `budget_unit` (points, or cpu_seconds of stored fit + predict + tune); null: no cap
    budget: Optional[float] = None
    budget_unit: str = "points"
    # round 1: seeds per curve, and sizes about this factor apart below n_now (0: only the decision's sizes)
    initial_seeds: int = 2
    coarse_factor: float = 4.0
    # seeds the intervals' resamples: the same seed makes the same choices
    seed: int = 0


ConfigStore.instance().store(group="hydra/sweeper", name="adaptive", node=AdaptiveSweeperConf, provider="mvd")
