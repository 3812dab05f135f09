"""A sweep's jobs: the cartesian product of its axes, or the union of several such products.

Hydra's basic sweeper crosses ``hydra.sweeper.params`` with the command
line; mvd's adaptive sweeper crosses the same axes; mvd's grids sweeper
(``hydra/sweeper=grids``) takes the union of several named products, for a
study whose parts need different axes (each modality its own ladder, noisy
data with cleaning and clean data without).  All three expand a grid here,
with Hydra's public override parser, so a study plans the jobs it launches.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Mapping, Optional

__all__ = ["GridError", "expand", "union"]


class GridError(ValueError):
    """A sweep that is not a finite list of values (e.g. ``interval(...)``): named by its key."""


def _arguments(params: Optional[Mapping[str, str]]) -> list[str]:
    return [f"{k}={v}" for k, v in (params or {}).items()]


def expand(arguments: Iterable[str], config_loader=None) -> list[list[str]]:
    """Every job of one grid: per key its values (a later override of a key replaces an earlier one),
    crossed in the order the keys first appear, as Hydra's basic sweeper launches them.

    ``config_loader`` lets ``glob(...)`` list a config group's options.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    axes: dict[str, list[str]] = {}
    for override in OverridesParser.create(config_loader=config_loader).parse_overrides(list(arguments)):
        key = override.get_key_element()
        if not override.is_sweep_override():
            axes[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            axes[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise GridError(f"{key}: a grid expands lists and choice/range/glob sweeps only, "
                            f"not {override.value_type.name}.")
    return [list(job) for job in itertools.product(*axes.values())]


def union(grids: Mapping[str, Mapping[str, str]], params: Optional[Mapping[str, str]] = None,
          arguments: Iterable[str] = (), config_loader=None) -> list[list[str]]:
    """The jobs of every named grid in turn, each grid being ``params``, then its own axes, then
    ``arguments`` (the command line, which applies to every grid); a job two grids share runs once."""
    arguments = list(arguments)
    if not grids:
        return expand(_arguments(params) + arguments, config_loader)
    jobs, seen = [], set()
    for axes in grids.values():
        for job in expand(_arguments(params) + _arguments(axes) + arguments, config_loader):
            key = frozenset(job)
            if key not in seen:
                seen.add(key)
                jobs.append(job)
    return jobs
