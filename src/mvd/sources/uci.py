"""Named UCI datasets, parsed from the files the UCI repository publishes.

``dataset.source=uci`` with ``dataset.name`` one of :data:`DATASETS`.  Files
are found under ``<root>/<folder>/`` (see :mod:`mvd.sources.download`),
verified by MD5, and parsed once into a cached :class:`~mvd.data.Dataset`.

=========  ==========================  ================  ==============================
name       rows x features             classes           notes
=========  ==========================  ================  ==============================
adult      32,561 + 16,281 x 14        2 (<=50K, >50K)   official test; 8 categorical;
                                                         ``?`` is missing
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
from typing import Any, Callable

import numpy as np
import pandas as pd

from mvd.data import Dataset, encode_labels
from mvd.errors import ConfigError
from mvd.sources import cache
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
    parse: Callable[[dict, Any], Dataset]


def load_named(cfg, spec: Named, files=None) -> Dataset:
    """Verify (or fetch) ``files`` (default: all of ``spec.files``) and parse them, through the cache."""
    files = spec.files if files is None else files
    if cfg.task != spec.task or cfg.modality != spec.modality:
        raise ConfigError(
            f"dataset {cfg.name!r} is a {spec.task} dataset of modality {spec.modality!r}; "
            f"got dataset.task={cfg.task!r}, dataset.modality={cfg.modality!r}."
        )
    folder = data_root(cfg.root) / spec.folder
    found = ensure(folder, files, download=cfg.download, dataset=cfg.name)
    paths = {name: path for name, (path, _) in found.items()}
    checksums = {name: digest for name, (_, digest) in found.items()}
    return cache.cached(cfg, checksums, lambda: spec.parse(paths, cfg))


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


def _numeric(cfg, frame: pd.DataFrame, label_col: int, names: list, test_rows=None, **extra) -> Dataset:
    """A table of numeric features and one label column."""
    y, classes = encode_labels(frame.iloc[:, label_col].astype(str).str.strip())
    X = frame.drop(columns=frame.columns[label_col]).to_numpy(dtype=np.float64)
    return Dataset(name=cfg.name, task=cfg.task, modality=cfg.modality, X=X, y=y, classes=classes,
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


def _adult(paths: dict, cfg) -> Dataset:
    names = _ADULT_COLUMNS + ["income"]
    read = dict(names=names, skipinitialspace=True, na_values=["?"], keep_default_na=False)
    train = _read_csv(paths["adult.data"], cfg.name, **read)
    # adult.test opens with the banner "|1x3 Cross validator"; its labels end in "."
    test = _read_csv(paths["adult.test"], cfg.name, skiprows=1, **read)
    frame = pd.concat([train, test], ignore_index=True)
    income = frame.pop("income").astype(str).str.rstrip(".")
    y, classes = encode_labels(income)
    for col in frame.columns:
        if col in _ADULT_CATEGORICAL:
            frame[col] = frame[col].astype("category")
        else:
            frame[col] = frame[col].astype(np.float64)
    return Dataset(
        name=cfg.name, task=cfg.task, modality=cfg.modality, X=frame, y=y, classes=classes,
        feature_names=list(frame.columns), categorical=list(_ADULT_CATEGORICAL),
        test_index=np.arange(len(train), len(frame)),
    )


# --- numeric tables ------------------------------------------------------------------


def _letter(paths: dict, cfg) -> Dataset:
    path = paths["letter-recognition.data"]
    frame = _expect(_read_csv(path, cfg.name), path, 17, cfg.name)
    names = ["x-box", "y-box", "width", "high", "onpix", "x-bar", "y-bar", "x2bar", "y2bar",
             "xybar", "x2ybr", "xy2br", "x-ege", "xegvy", "y-ege", "yegvx"]
    return _numeric(cfg, frame, 0, names)


def _magic(paths: dict, cfg) -> Dataset:
    path = paths["magic04.data"]
    frame = _expect(_read_csv(path, cfg.name), path, 11, cfg.name)
    names = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans",
             "fAlpha", "fDist"]
    return _numeric(cfg, frame, 10, names)


_SPAM_WORDS = (
    "make address all 3d our over remove internet order mail receive will people report addresses "
    "free business email you credit your font 000 money hp hpl george 650 lab labs telnet 857 data "
    "415 85 technology 1999 parts pm direct cs meeting original project re edu table conference"
).split()


def _spambase(paths: dict, cfg) -> Dataset:
    path = paths["spambase.data"]
    frame = _expect(_read_csv(path, cfg.name), path, 58, cfg.name)
    names = ([f"word_freq_{w}" for w in _SPAM_WORDS] + [f"char_freq_{c}" for c in ";([!$#"]
             + ["capital_run_length_average", "capital_run_length_longest", "capital_run_length_total"])
    return _numeric(cfg, frame, 57, names)


def _optdigits(paths: dict, cfg) -> Dataset:
    parts = []
    for name in ("optdigits.tra", "optdigits.tes"):
        parts.append(_expect(_read_csv(paths[name], cfg.name), paths[name], 65, cfg.name))
    frame = pd.concat(parts, ignore_index=True)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return _numeric(cfg, frame, 64, names, test_rows=np.arange(len(parts[0]), len(frame)),
                    image_shape=(1, 8, 8), value_range=(0.0, 16.0))


# --- text ----------------------------------------------------------------------------


def _sms_spam(paths: dict, cfg) -> Dataset:
    """Lines ``label<TAB>text``; texts hold quotes, so no CSV quoting is applied."""
    path = paths["SMSSpamCollection"]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"dataset {cfg.name!r}: {path} is not UTF-8 text ({exc}).") from exc
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise ConfigError(f"dataset {cfg.name!r}: {path} line {bad[0]} is not 'label<TAB>text'.")
    y, classes = encode_labels([r[0] for r in rows])
    X = np.array([r[1] for r in rows], dtype=object)
    return Dataset(name=cfg.name, task=cfg.task, modality=cfg.modality, X=X, y=y, classes=classes,
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


def load(cfg) -> Dataset:
    """The ``uci`` source."""
    spec = DATASETS.get(cfg.name)
    if spec is None:
        raise ConfigError(
            f"dataset.name={cfg.name!r} is not a named UCI dataset; allowed: {', '.join(DATASETS)}."
        )
    return load_named(cfg, spec)
