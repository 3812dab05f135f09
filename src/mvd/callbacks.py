"""Hydra callback: check every job of a multirun before the first one starts,
summarise the jobs at the end, and build the study's report."""

from __future__ import annotations

import json
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

__all__ = ["MvdCallback", "sweep_overrides"]


def sweep_overrides(config: DictConfig) -> list[list[str]]:
    """The override list of every job the basic sweep will launch, as Hydra expands it."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [job for batch in batches for job in batch]


class MvdCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        """Plan every job (all input checks, data loads) so bad input stops the sweep before any work."""
        from hydra import compose

        from mvd import curve
        from mvd.cli import fail
        from mvd.errors import ConfigError

        for overrides in sweep_overrides(config):
            cfg = compose(config_name="config", overrides=overrides)
            try:
                curve.plan(cfg)
            except ConfigError as exc:
                fail(f"{exc} (job: {' '.join(overrides)})")

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from mvd import console
        from mvd.cli import JOB_FILE

        sweep_dir = Path(config.hydra.sweep.dir)
        files = sorted(sweep_dir.glob(f"*/{JOB_FILE}"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        statuses = [json.loads(p.read_text()) for p in files]
        console.multirun_summary(statuses)
        study_dir = Path(config.results_dir) / config.study
        if config.report.build and (study_dir / "points").exists():
            build_report(study_dir, OmegaConf.to_container(config, resolve=False))
        print(f"points: {study_dir / 'points'}")


def build_report(study_dir: Path, config: dict) -> None:
    """Build the report if the report package is present; a failure is reported, never raised."""
    try:
        from mvd.report import build
    except ImportError:
        return
    try:
        out = build(study_dir)
        print(f"report: {out}")
    except Exception as exc:  # the points are safe; the report can be rebuilt with mvd-report
        print(f"mvd: report not built ({type(exc).__name__}: {exc}); rebuild with: mvd-report {study_dir}")
