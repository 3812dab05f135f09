"""``hydra/sweeper=adaptive``: the sweeper's settings, registered in Hydra's ConfigStore.

Hydra imports every module of the ``hydra_plugins`` namespace package when it
looks for plugins, so this registration happens before the config is composed.
The keys are the sweep axes (``params``, as for the basic sweeper: one curve
job per combination) and the fields of ``mvd.adaptive.Settings``, with its
defaults and comments: one list of knobs for the sweeper and ``mvd-replay``.
"""

from dataclasses import fields, make_dataclass
from typing import Dict, Optional, get_type_hints

from hydra.core.config_store import ConfigStore

from mvd.adaptive import Settings

_TYPES = get_type_hints(Settings)

AdaptiveSweeperConf = make_dataclass(
    "AdaptiveSweeperConf",
    [("_target_", str, "hydra_plugins.mvd_adaptive_sweeper.adaptive_sweeper.AdaptiveSweeper"),
     ("params", Optional[Dict[str, str]], None)]
    + [(f.name, _TYPES[f.name], f.default) for f in fields(Settings)],
)

ConfigStore.instance().store(group="hydra/sweeper", name="adaptive", node=AdaptiveSweeperConf, provider="mvd")
