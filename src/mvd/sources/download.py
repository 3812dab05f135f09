"""Where dataset files live, and fetching them safely (torchvision-style).

A named dataset's files are looked up under a data root: ``dataset.root``,
else the ``MVD_DATA`` environment variable, else a per-user cache directory.
Files that are present are verified against their pinned MD5 (the checksums
published for the originals); missing ones are downloaded only when
``dataset.download`` is true, verified in memory and only then written
(:func:`mvd.files.write_atomic`), so a half-finished or tampered download
never becomes a dataset file.  Otherwise the error names the files and where
to put them.

Why not ``pooch``: mvd's pinned checksums are those of the published files,
which some publishers now ship only inside a zip (the MD5 is the member's, not
the archive's), and each file has a fallback address; pooch hashes the
downloaded archive and takes one address per file, so it would need both
worked around.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from mvd.errors import ConfigError
from mvd.files import write_atomic

__all__ = ["RemoteFile", "data_root", "cache_home", "md5sum", "ensure", "missing"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name on disk, the addresses to try in turn, its MD5.

    An address ending in ``archive.zip#member`` fetches the zip and keeps
    ``member`` (publishers that only ship archives); the MD5 is the member's.
    """

    name: str
    urls: tuple
    md5: str


def cache_home() -> Path:
    """mvd's per-user cache: ``$MVD_CACHE``, else the platform's user cache dir."""
    env = os.environ.get("MVD_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mvd"))


def data_root(root: Optional[str]) -> Path:
    """``dataset.root``, else ``$MVD_DATA``, else ``<cache>/data``."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("MVD_DATA")
    if env:
        return Path(env).expanduser()
    return cache_home() / "data"


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def missing(folder: Path, files: Sequence[RemoteFile]) -> list[RemoteFile]:
    return [f for f in files if not (folder / f.name).is_file()]


def ensure(folder: Path, files: Sequence[RemoteFile], *, download: bool, dataset: str) -> dict:
    """Verified paths of ``files`` under ``folder``: ``{name: (path, md5)}``.

    Raises ``ConfigError`` (before writing anything) when files are missing
    and ``download`` is off, or when a present file fails its checksum.
    """
    absent = missing(folder, files)
    if absent and not download:
        names = ", ".join(f.name for f in absent)
        verb = "is" if len(absent) == 1 else "are"
        raise ConfigError(
            f"dataset {dataset!r} needs {names} in {folder}, which {verb} missing; put the files there, "
            f"point dataset.root or MVD_DATA at a folder holding {folder.name}/, or set dataset.download=true."
        )
    out = {}
    for f in files:  # present files first: a damaged one is refused before any download
        if f in absent:
            continue
        path = folder / f.name
        digest = md5sum(path)
        if digest != f.md5:
            raise ConfigError(
                f"dataset {dataset!r}: {path} has MD5 {digest}, expected {f.md5}; the file is damaged "
                f"or not the published one: delete it and set dataset.download=true, or restore the original."
            )
        out[f.name] = (path, digest)
    for f in absent:
        _download(f, folder / f.name, dataset=dataset)  # verified before it is renamed into place
        out[f.name] = (folder / f.name, f.md5)
    return {f.name: out[f.name] for f in files}


def _download(f: RemoteFile, path: Path, *, dataset: str) -> None:
    """Fetch ``f``: try each address, verify the bytes, then write them to ``path`` atomically."""
    errors = []
    for address in f.urls:
        url, _, member = address.partition("#")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                body = response.read()
            if member:
                with zipfile.ZipFile(io.BytesIO(body)) as zf:
                    body = zf.read(member)
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            errors.append(f"{address}: {exc}")
            continue
        digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
        if digest != f.md5:
            errors.append(f"{address}: MD5 {digest}, expected {f.md5}")
            continue
        try:
            write_atomic(path, body, suffix=".part")
        except OSError as exc:
            raise ConfigError(
                f"dataset {dataset!r}: cannot write {f.name} into {path.parent} ({exc.strerror}); "
                f"set dataset.root or MVD_DATA to a writable folder."
            ) from exc
        return
    raise ConfigError(
        f"dataset {dataset!r}: could not download {f.name} ({'; '.join(errors)}); nothing was saved."
    )
