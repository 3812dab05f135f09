"""Writing a file so that a reader sees the old content or the new, never half of it.

Every file mvd writes for others to read (points, configs, cached datasets,
reports) goes through :func:`write_atomic`: the bytes go to a hidden
temporary file in the same folder (so the rename stays on one filesystem),
are flushed to disk, and the temporary file is renamed over the target.
A writer killed half-way leaves only a hidden ``.<name>.*.tmp`` file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Union

__all__ = ["write_atomic", "temporaries"]


def write_atomic(path: Union[str, Path], content: Union[bytes, str, Callable[[BinaryIO], None]], *,
                 suffix: str = ".tmp") -> Path:
    """Replace ``path`` by ``content`` (bytes, text as UTF-8, or a function writing to a binary handle)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def temporaries(path: Union[str, Path], suffix: str = ".tmp") -> list[Path]:
    """Temporary files :func:`write_atomic` may have left beside ``path`` (a killed writer's)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*{suffix}"))
