"""mvd's SLURM launcher for Hydra (``hydra/launcher=slurm``): submitit's, with a one-sentence failure.

submitit's launcher waits for every task of the array and raises
``UncompletedJobError`` with a traceback when one ends without a result
(``scancel``, a node failure, a requeue limit reached).  The points those
tasks stored are safe and a rerun of the same command resumes from them, so
this launcher says exactly that, in one sentence, and exits with status 1.
"""

from __future__ import annotations

import re

from hydra.errors import CompactHydraException

try:
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher as _submitit
    from submitit.core.utils import UncompletedJobError
except ImportError:  # the `launchers` extra is not installed; hydra/launcher=slurm then says so
    _submitit = None

__all__ = ["SlurmLauncher", "JobEnded", "ended_sentence"]


class JobEnded(CompactHydraException):
    """A SLURM task that ended without a result; Hydra prints its message alone."""


def ended_sentence(error: str) -> str:
    """'slurm: job 12_0 ended as CANCELLED ...' from submitit's UncompletedJobError text."""
    job = re.search(r"Job (\S+)", error)
    state = re.search(r"state: (\w+)", error)
    what = f"job {job.group(1)}" if job else "a job of the array"
    how = f" as {state.group(1)}" if state else ""
    watch = f" (see `sacct -j {job.group(1).split('_')[0]}`)" if job else ""
    return (f"slurm: {what} ended{how} before it finished; the points it stored are kept, "
            f"so rerun the same command to finish the study{watch}.")


if _submitit is not None:
    class SlurmLauncher(_submitit.SlurmLauncher):
        def launch(self, job_overrides, initial_job_idx):
            try:
                return super().launch(job_overrides, initial_job_idx)
            except UncompletedJobError as exc:
                raise JobEnded(ended_sentence(str(exc))) from None
