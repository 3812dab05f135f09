"""``hydra/sweeper=grids``: its settings, registered in Hydra's ConfigStore.

Hydra imports every module of the ``hydra_plugins`` namespace package when it
looks for plugins, so this registration happens before the config is composed.
"""

from dataclasses import dataclass
from typing import Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class GridsSweeperConf:
    _target_: str = "hydra_plugins.mvd_grids_sweeper.grids_sweeper.GridsSweeper"
    # name -> axes (key -> comma-separated values, as the basic sweeper's params): one grid each
    grids: Optional[Dict[str, Dict[str, str]]] = None
    # axes every grid shares (a grid's own value of a key replaces it; the command line replaces both)
    params: Optional[Dict[str, str]] = None
    # jobs handed to the launcher at once (null: all)
    max_batch_size: Optional[int] = None


ConfigStore.instance().store(group="hydra/sweeper", name="grids", node=GridsSweeperConf, provider="mvd")
