"""What machine a benchmark ran on, for the figures written beside it."""

from __future__ import annotations

import platform
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
