"""Named UCI datasets, parsed from the files the UCI repository publishes.

``_target_: mvd.sources.uci.load`` with ``name`` one of :data:`DATASETS`.  Files
are found under ``<root>/<folder>/`` (see :mod:`mvd.sources.download`),
verified by MD5, and parsed once into a cached :class:`~mvd.data.Dataset`.

=========  ==========================  ================  ==============================
name       rows x features             classes           notes
=========  ==========================  ================  ==============================
adult      32,561 + 16,281 x 14        2 (<=50K, >50K)   official test; 8 categorical;
                                                         ``?`` is missing
adult_hours  the same rows x 13           3 hours bands     adult's second target: weekly hours
                                                         < 40, 40, > 40 (hours and income left out)
letter     20,000 x 16                 26 (A-Z)          integer features 0-15
magic      19,020 x 10                 2 (g, h)          real features
optdigits  3,823 + 1,797 x 64          10                official test; 8x8 counts 0-16
spambase   4,601 x 57                  2 (0, 1)          1 = spam
sms_spam   5,574 texts                 2 (ham, spam)     tab-separated label, text
=========  ==========================  ================  ==============================
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from mvd.data import Dataset, Meta, encode_labels
from mvd.errors import ConfigError
from mvd.sources import cache as cache_
from mvd.sources.download import RemoteFile, data_root, ensure

__all__ = ["DATASETS", "Named", "load", "load_named"]

_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/"
_STATIC = "https://archive.ics.uci.edu/static/public/"


@dataclass(frozen=True)
class Named:
    """A dataset published as files: where they live, their checksums and their parser."""

    folder: str
    files: tuple
    task: str
    modality: str
    parse: Callable[[dict, Meta], Dataset]


def load_named(meta: Meta, spec: Named, *, root: Optional[str] = None, download: bool = False,
               cache: bool = True, files=None) -> Dataset:
    """Verify (or fetch) ``files`` (default: all of ``spec.files``) and parse them, through the cache."""
    files = spec.files if files is None else files
    if meta.task != spec.task or meta.modality != spec.modality:
        raise ConfigError(
            f"dataset {meta.name!r} is a {spec.task} dataset of modality {spec.modality!r}; "
            f"got dataset.task={meta.task!r}, dataset.modality={meta.modality!r}."
        )
    folder = data_root(root) / spec.folder
    found = ensure(folder, files, download=download, dataset=meta.name)
    paths = {name: path for name, (path, _) in found.items()}
    checksums = {name: digest for name, (_, digest) in found.items()}
    content = {"name": meta.name, "task": meta.task, "modality": meta.modality,
               "image_shape": list(meta.image_shape) if meta.image_shape else None}
    return cache_.cached(meta.name, content, checksums, lambda: spec.parse(paths, meta), enabled=cache)


def _read_csv(path: Path, dataset: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, header=None, **kwargs)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"dataset {dataset!r}: {path} is not the expected CSV ({exc}).") from exc


def _expect(frame: pd.DataFrame, path: Path, n_cols: int, dataset: str) -> pd.DataFrame:
    if frame.shape[1] != n_cols:
        raise ConfigError(
            f"dataset {dataset!r}: {path} has {frame.shape[1]} columns, expected {n_cols}."
        )
    return frame


def _numeric(meta: Meta, frame: pd.DataFrame, label_col: int, names: list, test_rows=None, **extra) -> Dataset:
    """A table of numeric features and one label column."""
    y, classes = encode_labels(frame.iloc[:, label_col].astype(str).str.strip())
    X = frame.drop(columns=frame.columns[label_col]).to_numpy(dtype=np.float64)
    return Dataset(name=meta.name, task=meta.task, modality=meta.modality, X=X, y=y, classes=classes,
                   feature_names=names, test_index=test_rows, **extra)


# --- adult ---------------------------------------------------------------------------

_ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
]
_ADULT_CATEGORICAL = [
    "workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
    "native-country",
]


def _adult(paths: dict, meta: Meta) -> Dataset:
    names = _ADULT_COLUMNS + ["income"]
    read = dict(names=names, skipinitialspace=True, na_values=["?"], keep_default_na=False)
    train = _read_csv(paths["adult.data"], meta.name, **read)
    # adult.test opens with the banner "|1x3 Cross validator"; its labels end in "."
    test = _read_csv(paths["adult.test"], meta.name, skiprows=1, **read)
    frame = pd.concat([train, test], ignore_index=True)
    income = frame.pop("income").astype(str).str.rstrip(".")
    y, classes = encode_labels(income)
    for col in frame.columns:
        if col in _ADULT_CATEGORICAL:
            frame[col] = frame[col].astype("category")
        else:
            frame[col] = frame[col].astype(np.float64)
    return Dataset(
        name=meta.name, task=meta.task, modality=meta.modality, X=frame, y=y, classes=classes,
        feature_names=list(frame.columns), categorical=list(_ADULT_CATEGORICAL),
        test_index=np.arange(len(train), len(frame)),
    )


# the second target of adult's rows: weekly hours as part time (< 40), full time (40) or more (> 40)
HOURS_BANDS = ("part time (<40)", "full time (40)", "over time (>40)")


def _adult_hours(paths: dict, meta: Meta) -> Dataset:
    """Adult's rows with a second target, the hours-per-week band, from the other 13 features (income is
    neither feature nor target): two objectives of one table, each with its own curve."""
    income = _adult(paths, meta)
    X = income.X.copy()
    hours = X.pop("hours-per-week").to_numpy()
    band = np.where(hours < 40, 0, np.where(hours == 40, 1, 2))
    return Dataset(name=meta.name, task=meta.task, modality=meta.modality, X=X, y=band.astype(np.int64),
                   classes=list(HOURS_BANDS), feature_names=list(X.columns), categorical=list(_ADULT_CATEGORICAL),
                   test_index=income.test_index)


# --- numeric tables ------------------------------------------------------------------


def _letter(paths: dict, meta: Meta) -> Dataset:
    path = paths["letter-recognition.data"]
    frame = _expect(_read_csv(path, meta.name), path, 17, meta.name)
    names = ["x-box", "y-box", "width", "high", "onpix", "x-bar", "y-bar", "x2bar", "y2bar",
             "xybar", "x2ybr", "xy2br", "x-ege", "xegvy", "y-ege", "yegvx"]
    return _numeric(meta, frame, 0, names)


def _magic(paths: dict, meta: Meta) -> Dataset:
    path = paths["magic04.data"]
    frame = _expect(_read_csv(path, meta.name), path, 11, meta.name)
    names = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans",
             "fAlpha", "fDist"]
    return _numeric(meta, frame, 10, names)


_SPAM_WORDS = (
    "make address all 3d our over remove internet order mail receive will people report addresses "
    "free business email you credit your font 000 money hp hpl george 650 lab labs telnet 857 data "
    "415 85 technology 1999 parts pm direct cs meeting original project re edu table conference"
).split()


def _spambase(paths: dict, meta: Meta) -> Dataset:
    path = paths["spambase.data"]
    frame = _expect(_read_csv(path, meta.name), path, 58, meta.name)
    names = ([f"word_freq_{w}" for w in _SPAM_WORDS] + [f"char_freq_{c}" for c in ";([!$#"]
             + ["capital_run_length_average", "capital_run_length_longest", "capital_run_length_total"])
    return _numeric(meta, frame, 57, names)


def _optdigits(paths: dict, meta: Meta) -> Dataset:
    parts = []
    for name in ("optdigits.tra", "optdigits.tes"):
        parts.append(_expect(_read_csv(paths[name], meta.name), paths[name], 65, meta.name))
    frame = pd.concat(parts, ignore_index=True)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return _numeric(meta, frame, 64, names, test_rows=np.arange(len(parts[0]), len(frame)),
                    image_shape=(1, 8, 8), value_range=(0.0, 16.0))


# --- text ----------------------------------------------------------------------------


def _sms_spam(paths: dict, meta: Meta) -> Dataset:
    """Lines ``label<TAB>text``; texts hold quotes, so no CSV quoting is applied."""
    path = paths["SMSSpamCollection"]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"dataset {meta.name!r}: {path} is not UTF-8 text ({exc}).") from exc
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise ConfigError(f"dataset {meta.name!r}: {path} line {bad[0]} is not 'label<TAB>text'.")
    y, classes = encode_labels([r[0] for r in rows])
    X = np.array([r[1] for r in rows], dtype=object)
    return Dataset(name=meta.name, task=meta.task, modality=meta.modality, X=X, y=y, classes=classes,
                   feature_names=["text"])


def _uci(path: str, md5: str, zip_url: str) -> RemoteFile:
    """A file at its classic UCI address, with the current zip archive as fallback."""
    name = path.rsplit("/", 1)[-1]
    return RemoteFile(name, (_UCI + path, f"{_STATIC}{zip_url}#{name}"), md5)


DATASETS: dict[str, Named] = {
    "adult": Named("adult", (
        _uci("adult/adult.data", "5d7c39d7b8804f071cdd1f2a7c460872", "2/adult.zip"),
        _uci("adult/adult.test", "35238206dfdf7f1fe215bbb874adecdc", "2/adult.zip"),
    ), "classification", "tabular", _adult),
    "adult_hours": Named("adult", (
        _uci("adult/adult.data", "5d7c39d7b8804f071cdd1f2a7c460872", "2/adult.zip"),
        _uci("adult/adult.test", "35238206dfdf7f1fe215bbb874adecdc", "2/adult.zip"),
    ), "classification", "tabular", _adult_hours),
    "letter": Named("letter", (
        _uci("letter-recognition/letter-recognition.data", "6a2d740def5d13ea6096272546f6d41e",
             "59/letter+recognition.zip"),
    ), "classification", "tabular", _letter),
    "magic": Named("magic_gamma", (
        _uci("magic/magic04.data", "bb3888bd588c4b15b24351218f74491e", "159/magic+gamma+telescope.zip"),
    ), "classification", "tabular", _magic),
    "optdigits": Named("optdigits", (
        _uci("optdigits/optdigits.tra", "268ce7771f3f15afbc54402478b1d454",
             "80/optical+recognition+of+handwritten+digits.zip"),
        _uci("optdigits/optdigits.tes", "a0339c30a8a5312a1b6f9e5c719dcce5",
             "80/optical+recognition+of+handwritten+digits.zip"),
    ), "classification", "tabular", _optdigits),
    "spambase": Named("spambase", (
        _uci("spambase/spambase.data", "e7368d48fa690b0331a09b430d55fb6a", "94/spambase.zip"),
    ), "classification", "tabular", _spambase),
    "sms_spam": Named("sms_spam_collection", (
        RemoteFile("SMSSpamCollection", (
            _UCI + "00228/smsspamcollection.zip#SMSSpamCollection",
            _STATIC + "228/sms+spam+collection.zip#SMSSpamCollection",
        ), "1949b64a224790d01335c2bf8a0e48b2"),
    ), "classification", "text", _sms_spam),
}


def load(name: str, *, task: str = "classification", modality: str = "tabular",
         image_shape: Optional[Sequence[int]] = None, root: Optional[str] = None, download: bool = False,
         cache: bool = True) -> Dataset:
    """A named UCI dataset; ``root`` holds its folder, ``download`` fetches missing files."""
    spec = DATASETS.get(name)
    if spec is None:
        raise ConfigError(
            f"dataset.name={name!r} is not a named UCI dataset; allowed: {', '.join(DATASETS)}."
        )
    meta = Meta(name, task, modality, tuple(image_shape) if image_shape else None)
    return load_named(meta, spec, root=root, download=download, cache=cache)
