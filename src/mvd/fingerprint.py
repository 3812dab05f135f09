"""What a user's data file holds, in 16 hex digits: the fingerprint that enters a curve's identity.

A named dataset is fixed by its name (its files are checksummed), but a file of
one's own can change under the same path.  So ``conf/dataset/file.yaml`` sets
``content: ${mvd.fingerprint:${.path},${.test_path}}``: the SHA-256 of the
files' bytes, resolved when a job's config is, saved with the curve's config
and hashed into its ``run_id`` and ``config_hash`` (:mod:`mvd.identity`).  An
edited file is a new curve, refitted; the report tells curves on different
contents apart (:mod:`mvd.report.pooling`).

Each file is read once per process for a given (path, size, modification
time), unless it was modified in the last two seconds.  This module imports nothing heavy: the ``mvd`` command registers the
resolver before Hydra composes anything.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Optional

__all__ = ["RESOLVER", "fingerprint", "register_resolver"]

# the OmegaConf resolver's name: ${mvd.fingerprint:path,test_path}
RESOLVER = "mvd.fingerprint"
# (resolved path, size, mtime_ns) -> SHA-256 of the file's bytes
_SEEN: dict = {}
_BLOCK = 1 << 20
_RACY_SECONDS = 2.0


def _file_digest(path: Path) -> Optional[str]:
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError:
        return None
    if not path.is_file():
        return None
    if key in _SEEN:
        return _SEEN[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    # a file written within the clock's last ticks may be written again with the same size and time
    # (git's "racy" files): only an older one is remembered
    if time.time() - stat.st_mtime > _RACY_SECONDS:
        _SEEN[key] = digest.hexdigest()
    return digest.hexdigest()


def fingerprint(*paths) -> Optional[str]:
    """16 hex digits of the SHA-256 of the given files' bytes (unset paths skipped); None when there is no
    file to read (an unset or missing path: the loader refuses it in one sentence)."""
    given = [Path(str(p)).expanduser() for p in paths if p not in (None, "")]
    if not given:
        return None
    digest = hashlib.sha256()
    for path in given:
        one = _file_digest(path)
        if one is None:
            return None
        digest.update(one.encode())
    return digest.hexdigest()[:16]


def register_resolver() -> None:
    """Make ``${mvd.fingerprint:...}`` resolvable (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, fingerprint)
