"""A tiny optimising sweeper for the tests: random search over ``interval(...)``
and choice sweeps that reads every job's return value as a float, as Optuna's and
Nevergrad's sweepers do (a failed job is a failed trial).  It records each trial
in ``<sweep dir>/optimiser.json``.  Tests put ``tests/plugins`` on PYTHONPATH
so Hydra finds it among its ``hydra_plugins``.
"""

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper


@dataclass
class TestOptimiserConf:
    _target_: str = "hydra_plugins.mvd_test_optimiser.TestOptimiser"
    n_trials: int = 3
    seed: int = 0
    params: Dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/sweeper", name="test_optimiser", node=TestOptimiserConf,
                             provider="mvd-tests")


class TestOptimiser(Sweeper):
    def __init__(self, n_trials: int, seed: int, params: Dict[str, Any]) -> None:
        self.n_trials, self.seed, self.params = n_trials, seed, dict(params or {})

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments):
        parsed = OverridesParser.create().parse_overrides(
            [f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        rng = random.Random(self.seed)
        trials = []
        for _ in range(self.n_trials):
            job = []
            for override in parsed:
                key = override.get_key_element()
                if override.is_interval_sweep():
                    interval = override.value()
                    job.append(f"{key}={rng.uniform(interval.start, interval.end)}")
                elif override.is_sweep_override():
                    job.append(f"{key}={rng.choice(list(override.sweep_string_iterator()))}")
                else:
                    job.append(f"{key}={override.get_value_element_as_str()}")
            trials.append(job)
        returns = self.launcher.launch(trials, initial_job_idx=0)
        record = [{"overrides": job, "value": float(ret.return_value) if ret.status == JobStatus.COMPLETED else None}
                  for job, ret in zip(trials, returns)]
        Path(self.config.hydra.sweep.dir, "optimiser.json").write_text(json.dumps(record))
        return returns
