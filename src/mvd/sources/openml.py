"""OpenML datasets (``_target_: mvd.sources.openml.load``) through scikit-learn's ``fetch_openml``.

Give ``dataset.openml_id`` (preferred: an id names one immutable version) or
``dataset.openml_name`` with an optional ``dataset.openml_version``.
``fetch_openml`` keeps its downloads under ``dataset.root`` (else
``<cache>/openml``), and the prepared dataset is cached by mvd on top, so a
warm load never parses ARFF again.  The target is ``dataset.target``, else
the dataset's default target; nominal features become categorical columns.
OpenML datasets have no official test split: the engine draws one per seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from mvd.data import Dataset, Meta
from mvd.errors import ConfigError
from mvd.sources import cache as cache_
from mvd.sources.download import cache_home
from mvd.sources.files import from_frames

__all__ = ["load", "fetch"]


def fetch(*, data_id, name, version, data_home: str, target):
    """The network boundary: scikit-learn's fetch_openml, as a DataFrame bunch.

    The LIAC-ARFF parser, not pandas': with pandas 3, ``read_csv`` infers
    integer categories for nominal values such as ``{0,1}`` (covertype's 44
    binary columns, higgs' class), which scikit-learn's pandas ARFF parser
    cannot post-process, and its retry would delete the cached download.
    The slower parse happens once: mvd caches the prepared dataset.
    """
    from sklearn.datasets import fetch_openml

    return fetch_openml(
        name=name, version=version, data_id=data_id, data_home=data_home,
        target_column=target, as_frame=True, parser="liac-arff",
    )


def _identity(openml_id, openml_name, openml_version) -> dict:
    if (openml_id is None) == (openml_name is None):
        raise ConfigError(
            "an openml dataset needs exactly one of dataset.openml_id or dataset.openml_name "
            f"(got openml_id={openml_id!r}, openml_name={openml_name!r})."
        )
    if openml_id is not None:
        return {"data_id": int(openml_id), "name": None, "version": "active"}
    return {"data_id": None, "name": str(openml_name), "version": openml_version or "active"}


def _build(meta: Meta, identity: dict, *, root: Optional[str], target: Optional[str], table: dict) -> Dataset:
    data_home = str(Path(root).expanduser()) if root else str(cache_home() / "openml")
    try:
        # a named target is checked by from_frames (one sentence listing the columns)
        bunch = fetch(**identity, data_home=data_home, target=None if target else "default-target")
    except (OSError, ValueError, KeyError) as exc:
        what = identity["data_id"] or identity["name"]
        raise ConfigError(
            f"OpenML dataset {what!r} could not be fetched ({type(exc).__name__}: {exc}); without internet, "
            f"point dataset.root at a fetch_openml data_home that holds it."
        ) from exc
    if target:
        return from_frames(meta, bunch.frame, target=target, **table)
    targets = list(bunch.target_names)
    if len(targets) != 1:
        raise ConfigError(
            f"OpenML dataset {meta.name!r} has targets {targets}; set dataset.target to one column."
        )
    return from_frames(meta, bunch.frame, target=targets[0], **table)


def load(name: str, *, task: str = "classification", modality: str = "tabular",
         openml_id: Optional[int] = None, openml_name: Optional[str] = None, openml_version: str = "active",
         target: Optional[str] = None, columns: Optional[dict] = None,
         categorical: Optional[Sequence[str]] = None, numeric: Optional[Sequence[str]] = None,
         root: Optional[str] = None, cache: bool = True) -> Dataset:
    """An OpenML dataset by id (or by name and version); ``root`` is fetch_openml's data_home."""
    identity = _identity(openml_id, openml_name, openml_version)
    meta = Meta(name, task, modality)
    table = dict(columns=dict(columns or {}), categorical=categorical, numeric=numeric)
    content = {"meta": [name, task, modality], "target": target, **table}
    return cache_.cached(name, content, {"openml": identity},
                         lambda: _build(meta, identity, root=root, target=target, table=table), enabled=cache)
