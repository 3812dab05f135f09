"""OpenML datasets (``dataset.source=openml``) through scikit-learn's ``fetch_openml``.

Give ``dataset.openml_id`` (preferred: an id names one immutable version) or
``dataset.params.name`` with an optional ``dataset.params.version``.
``fetch_openml`` keeps its downloads under ``dataset.root`` (else
``<cache>/openml``), and the prepared dataset is cached by mvd on top, so a
warm load never parses ARFF again.  The target is ``dataset.target``, else
the dataset's default target; nominal features become categorical columns.
OpenML datasets have no official test split: the engine draws one per seed.
"""

from __future__ import annotations

from pathlib import Path

from mvd.data import Dataset
from mvd.errors import ConfigError
from mvd.sources import cache
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


def _identity(cfg) -> dict:
    params = dict(cfg.params)
    unknown = set(params) - {"name", "version"}
    if unknown:
        raise ConfigError(f"dataset.params has {sorted(unknown)} for source 'openml'; allowed: name, version.")
    if (cfg.openml_id is None) == (params.get("name") is None):
        raise ConfigError(
            "an openml dataset needs exactly one of dataset.openml_id or dataset.params.name "
            f"(got openml_id={cfg.openml_id!r}, params.name={params.get('name')!r})."
        )
    if cfg.openml_id is not None:
        return {"data_id": int(cfg.openml_id), "name": None, "version": "active"}
    return {"data_id": None, "name": str(params["name"]), "version": params.get("version", "active")}


def _build(cfg, identity: dict) -> Dataset:
    data_home = str(Path(cfg.root).expanduser()) if cfg.root else str(cache_home() / "openml")
    try:
        # a named target is checked by from_frames (one sentence listing the columns)
        bunch = fetch(**identity, data_home=data_home, target=None if cfg.target else "default-target")
    except (OSError, ValueError, KeyError) as exc:
        what = identity["data_id"] or identity["name"]
        raise ConfigError(
            f"OpenML dataset {what!r} could not be fetched ({type(exc).__name__}: {exc}); without internet, "
            f"point dataset.root at a fetch_openml data_home that holds it."
        ) from exc
    if cfg.target:
        return from_frames(cfg, bunch.frame)
    targets = list(bunch.target_names)
    if len(targets) != 1:
        raise ConfigError(
            f"OpenML dataset {cfg.name!r} has targets {targets}; set dataset.target to one column."
        )
    return from_frames(cfg, bunch.frame, target=targets[0])


def load(cfg) -> Dataset:
    """The ``openml`` source."""
    identity = _identity(cfg)
    return cache.cached(cfg, {"openml": identity}, lambda: _build(cfg, identity))
