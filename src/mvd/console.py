"""What a person sees in the terminal: a progress bar per job, a table per curve,
and one line per job at the end of a multirun."""

from __future__ import annotations

import sys

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

__all__ = ["label", "JobProgress", "curve_table", "multirun_summary"]

console = Console(stderr=False, highlight=False)


def label(cfg) -> str:
    from mvd.naming import label_of

    return label_of(cfg, display=True)


class JobProgress:
    """A progress bar over a job's points (stored points count as done at once)."""

    def __init__(self, plan, enabled: bool = True):
        self.enabled = enabled and sys.stdout.isatty()
        self.total = plan.n_points
        self.title = plan.label
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False, disable=not self.enabled,
        )

    def __enter__(self):
        self._progress.start()
        self._task = self._progress.add_task(self.title, total=self.total, note="")
        return self

    def advance(self, point: dict, skipped: bool) -> None:
        note = "stored" if skipped else f"n={point['train_size']} seed={point['seed']}"
        self._progress.update(self._task, advance=1, note=note)

    def __exit__(self, *exc):
        self._progress.stop()
        return False


def curve_table(frame: pd.DataFrame, plan) -> None:
    """Size x mean ± sd of the primary metric (over seeds) for the job's model."""
    metric = f"test_{plan.primary}"
    ok = frame[frame["status"] == "ok"]
    table = Table(title=f"{plan.label}  ({plan.primary}, mean ± sd over seeds)", title_justify="left")
    table.add_column("train_size", justify="right")
    table.add_column("n_fit", justify="right")
    table.add_column(plan.model.name, justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("seeds", justify="right")
    for n, group in ok.groupby("train_size"):
        values = group[metric].astype(float)
        sd = values.std(ddof=1) if len(values) > 1 else 0.0
        table.add_row(str(n), f"{group['n_fit'].mean():.0f}", f"{values.mean():.3f} ± {sd:.3f}",
                      f"{group['fit_seconds'].mean():.3f}", str(len(values)))
    failed = frame[frame["status"] != "ok"]
    console.print(table)
    if len(failed):
        console.print(f"[red]{len(failed)} failed point(s)[/red]: {failed['error'].iloc[0]}")


def multirun_summary(statuses: list[dict]) -> None:
    """One line per job (never wrapped, so a log keeps one line a job): new, stored (skipped) and failed points."""
    console.print(f"[bold]{len(statuses)} job(s)[/bold]")
    for s in statuses:
        state = "failed" if s.get("failed") or s.get("job_failed") else ("skipped" if not s.get("new") else "done")
        colour = {"done": "green", "skipped": "cyan", "failed": "red"}[state]
        line = (f"[{colour}]{state:>7}[/{colour}]  {s['label']}: {s['new']} new, "
                f"{s['skipped']} stored, {s['failed']} failed")
        if s.get("errors"):
            line += f"  ({escape(s['errors'][0])})"
        console.print(line, soft_wrap=True)
