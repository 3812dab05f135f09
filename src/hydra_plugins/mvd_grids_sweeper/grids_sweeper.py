"""A Hydra sweeper whose jobs are the union of several grids (``mvd.grid.union``).

One study, one command, when its parts need different axes: the atlas runs
each modality's own ladder, and cleaning only on noisy data.  Public Hydra
APIs only (the ``Sweeper`` interface, the configured launcher), so it works
with every launcher; mvd's callback plans every job before the first starts,
as under the basic sweeper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


class GridsSweeper(Sweeper):
    # jobs return their status, not a score to optimise (no validation fits)
    uses_job_return_value = False

    def __init__(self, grids: Optional[Dict[str, Dict[str, str]]] = None, params: Optional[Dict[str, str]] = None,
                 max_batch_size: Optional[int] = None) -> None:
        super().__init__()
        self.grids = {name: dict(axes or {}) for name, axes in (grids or {}).items()}
        self.params = dict(params or {})
        self.max_batch_size = max_batch_size
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        from mvd.grid import GridError, union
        from mvd.outcome import fail

        try:
            jobs = union(self.grids, self.params, arguments, self.hydra_context.config_loader)
        except GridError as exc:
            fail(str(exc))
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        size = self.max_batch_size or len(jobs) or 1
        returns = []
        for start in range(0, len(jobs), size):
            results = self.launcher.launch(jobs[start:start + size], initial_job_idx=start)
            for result in results:
                _ = result.return_value  # a job that raised re-raises here, as under the basic sweeper
            returns.append(results)
        return returns
