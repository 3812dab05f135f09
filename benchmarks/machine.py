"""What machine a benchmark ran on, for the figures written beside it."""

from __future__ import annotations

import platform
import time
from pathlib import Path


def cpu() -> str:
    """The processor's model name (Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_seconds(fn) -> float:
    """CPU time of this process spent in one call of ``fn`` (other sessions' load does not count)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def best_cpu_seconds(fn, repeats: int) -> float:
    """The least CPU time of ``repeats`` calls: the figure least disturbed by other load."""
    return min(cpu_seconds(fn) for _ in range(repeats))
