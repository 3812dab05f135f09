"""Independent parts of a report built in forked processes.

A report's datasets are analysed independently and its figures are drawn
independently; on a machine with several CPUs each part goes to a forked
worker, which inherits the study already in memory (nothing is pickled on
the way in).  Results come back in the order of the items, and each part is
computed exactly as it would be alone, so the output does not depend on the
number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence

__all__ = ["fork_map"]


def fork_map(fn: Callable, items: Sequence, workers: int | None = None) -> list:
    """``[fn(item) for item in items]``, in up to ``workers`` forked processes (default: one per CPU).

    ``fn`` must be a module-level function; what it reads besides its item is
    inherited through the fork.  Where the platform cannot fork (Windows), or
    with one worker or one item, it runs in this process.
    """
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1) if workers is None else min(workers, len(items))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    with warnings.catch_warnings():  # 3.12+ warns on fork in a threaded process; the workers only compute
        warnings.simplefilter("ignore", DeprecationWarning)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, items))
