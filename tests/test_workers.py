"""The report's fork map: parts run in forked workers that inherit the parent's memory, in order."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from mvd.report.workers import fork_map

_STATE: dict = {}

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="this platform cannot fork: fork_map runs in-process there")


def _where(item):
    return os.getpid(), _STATE.get("study"), item * 2


def test_parts_run_in_forked_workers_that_inherit_the_parents_memory_and_come_back_in_order():
    _STATE["study"] = "in memory"  # set after import: only a forked worker sees it
    try:
        out = fork_map(_where, range(6), workers=2)
    finally:
        _STATE.clear()
    assert [o[2] for o in out] == [0, 2, 4, 6, 8, 10]
    assert all(o[1] == "in memory" for o in out)
    pids = {o[0] for o in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_one_worker_or_one_item_runs_in_this_process():
    here = os.getpid()
    assert {o[0] for o in fork_map(_where, range(4), workers=1)} == {here}
    assert fork_map(_where, [3]) == [(here, None, 6)]
    assert fork_map(_where, []) == []
