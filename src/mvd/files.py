"""Writing a file so that a reader sees the old content or the new, never half of it.

Every file mvd writes for others to read (points, configs, cached datasets,
reports) goes through :func:`write_atomic`: the bytes go to a hidden
temporary file in the same folder (so the rename stays on one filesystem),
are flushed to disk, and the temporary file is renamed over the target.
A writer killed half-way leaves only a hidden ``.<name>.*.tmp`` file.
The file gets the mode any new file gets (``0o666`` less the umask), not the
private ``0o600`` of a temporary file, so teammates on a shared filesystem
can read results written under their usual umask.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Union

__all__ = ["write_atomic", "temporaries", "umask"]


def umask() -> int:
    """The process's umask, read without changing it where Linux shows it (``os.umask`` sets it to read it,
    and a thread creating a file in that instant would get the wrong mode)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Union[str, Path], content: Union[bytes, str, Callable[[BinaryIO], None]], *,
                 suffix: str = ".tmp") -> Path:
    """Replace ``path`` by ``content`` (bytes, text as UTF-8, or a function writing to a binary handle)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0o600 would make results private to their writer
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
