"""Bring your own table: ``dataset=file`` reads a CSV, TSV or parquet file.

    mvd dataset=file dataset.path=churn.csv dataset.target=churned
    mvd dataset=file dataset.path=train.parquet dataset.test_path=test.parquet dataset.target=y

The format comes from the suffix (``.csv``, ``.tsv``/``.tab``, ``.parquet``/
``.pq``; ``.gz`` etc. are decompressed) or ``dataset.format``.  Column
types are inferred (numbers are numeric, anything else categorical) and
overridden with ``dataset.categorical`` / ``dataset.numeric``;
``dataset.columns.features`` picks a subset of columns and
``dataset.columns.text`` names the text column of a text dataset.  A test
file, when given, is the official test split.  Rows whose target is empty
are left out; the dataset records how many (``rows_dropped``) and the job
says so.

The curves are labelled with the file's name (``churn.csv``: ``churn``) unless
``dataset.name`` names them.  ``content`` is the files' fingerprint
(:mod:`mvd.fingerprint`) that the curve's identity holds; a saved config whose
file has changed since is refused in one sentence instead of measuring other data.

:func:`from_frames` turns any pair of frames into a :class:`~mvd.data.Dataset`
and is shared with the ``hf`` and ``openml`` sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from mvd.data import Dataset, Meta, encode_labels
from mvd.errors import ConfigError
from mvd.fingerprint import fingerprint
from mvd.naming import dataset_name
from mvd.sources import cache as cache_
from mvd.sources.download import md5sum

__all__ = ["load", "read_table", "from_frames", "FORMATS"]

FORMATS = ("csv", "tsv", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")


def _format(path: Path, override: Optional[str], key: str) -> str:
    if override:
        if override not in FORMATS:
            raise ConfigError(
                f"dataset.format={override!r} is not known; allowed: {', '.join(FORMATS)}."
            )
        return override
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise ConfigError(
            f"{key}={str(path)!r} has no known suffix; name it .csv, .tsv or .parquet, "
            f"or set dataset.format to one of {', '.join(FORMATS)}."
        )
    return fmt


def read_table(path: Path, fmt: str, key: str) -> pd.DataFrame:
    """Read one file; a file that is not the format it claims is refused in one sentence."""
    if not path.is_file():
        raise ConfigError(f"{key}={str(path)!r} does not exist or is not a file.")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise ConfigError(f"{key}={str(path)!r} is not a parquet file ({exc}).") from exc
    if head.startswith(b"PAR1") or b"\x00" in head:
        raise ConfigError(f"{key}={str(path)!r} is binary, not a {fmt.upper()} text file.")
    try:
        return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
        raise ConfigError(f"{key}={str(path)!r} is not a readable {fmt.upper()} file ({exc}).") from exc


def _unknown(key: str, names, columns) -> None:
    bad = [n for n in names if n not in set(columns)]
    if bad:
        raise ConfigError(
            f"{key} names column {bad[0]!r}, which is not in the data; columns: {', '.join(map(str, columns))}."
        )


def from_frames(meta: Meta, train: pd.DataFrame, test: Optional[pd.DataFrame] = None, *,
                target: Optional[str] = None, columns: Optional[dict] = None,
                categorical: Optional[Sequence[str]] = None, numeric: Optional[Sequence[str]] = None,
                label_names: Optional[list] = None, fmt: str = "", default_target: Optional[str] = None) -> Dataset:
    """A Dataset from a training frame and an optional official test frame.

    ``columns`` may name ``features`` (a subset) and ``text`` (the text
    column); ``label_names`` maps integer label codes to names (Hugging Face
    ClassLabel, for instance); ``default_target`` stands in for an unset
    ``target`` (a source's default label column).  Rows whose target is empty
    are left out and counted in ``rows_dropped``.
    """
    columns_opt = dict(columns or {})
    train = train.rename(columns=str)
    names = list(train.columns)
    target = target or default_target
    if target is None:
        raise ConfigError(f"dataset.target is not set; name the label column, one of: {', '.join(names)}.")
    if target not in names:
        hint = " (the file has one column: is the separator right?)" if len(names) == 1 and fmt else ""
        raise ConfigError(
            f"dataset.target={target!r} is not a column{hint}; columns: {', '.join(names)}."
        )
    if test is not None:
        test = test.rename(columns=str)
        if list(test.columns) != names:
            raise ConfigError(
                f"the test data's columns {list(test.columns)} differ from the training data's {names}."
            )
    features = list(columns_opt.get("features") or [c for c in names if c != target])
    _unknown("dataset.columns.features", features, names)
    _unknown("dataset.categorical", categorical or [], features)
    _unknown("dataset.numeric", numeric or [], features)
    frame = train if test is None else pd.concat([train, test], ignore_index=True)
    label = frame[target]
    keep = label.notna().to_numpy()
    n_train = int(keep[: len(train)].sum())
    frame, label = frame.loc[keep].reset_index(drop=True), label[keep].reset_index(drop=True)
    test_index = None if test is None else np.arange(n_train, len(frame))
    y, classes = _labels(meta.task, label, label_names, target)
    text = _text_column(columns_opt.get("text"), features) if meta.modality == "text" else None
    X, cats = _features(meta, frame[features], text=text, categorical=categorical, numeric=numeric)
    dropped = int((~keep).sum())
    return Dataset(
        name=meta.name, task=meta.task, modality=meta.modality, X=X, y=y, classes=classes,
        feature_names=features if text is None else [text],
        test_index=test_index, categorical=cats, image_shape=meta.image_shape, value_range=None,
        rows_dropped=dropped, rows_dropped_reason=f"their target {target!r} is empty" if dropped else "",
    )


def _labels(task: str, label: pd.Series, label_names: Optional[list], target: str):
    if task == "regression":
        try:
            return pd.to_numeric(label).to_numpy(dtype=np.float64), None
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"dataset.target={target!r} is not numeric, so it cannot be a regression target "
                f"({exc}); set dataset.task=classification."
            ) from exc
    values = label.to_numpy()
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)  # 0/1 read as floats (a column with gaps): names "0", "1"
    if label_names is not None:
        values = np.asarray(label_names, dtype=object)[values.astype(np.int64)]
    return encode_labels(np.asarray([str(v) for v in values], dtype=object))


def _text_column(name: Optional[str], features: list) -> str:
    if name is None:
        if len(features) != 1:
            raise ConfigError(
                f"a text dataset needs one text column; set dataset.columns.text to one of: {', '.join(features)}."
            )
        name = features[0]
    _unknown("dataset.columns.text", [name], features)
    return name


def _features(meta: Meta, frame: pd.DataFrame, *, text: Optional[str], categorical, numeric):
    """Features as the engine wants them: float array, mixed DataFrame, or strings."""
    if text is not None:
        return np.array(["" if pd.isna(v) else str(v) for v in frame[text]], dtype=object), []
    numeric = set(numeric or [])
    if categorical is not None:
        categorical = [c for c in frame.columns if c in set(categorical)]
    else:
        categorical = [c for c in frame.columns if c not in numeric and (
            pd.api.types.is_bool_dtype(frame[c]) or not pd.api.types.is_numeric_dtype(frame[c]))]
    out = {}
    for col in frame.columns:
        if col in categorical:
            out[col] = frame[col].astype(str).where(frame[col].notna()).astype("category")
        else:
            try:
                out[col] = pd.to_numeric(frame[col]).astype(np.float64)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"column {col!r} is not numeric ({exc}); list it in dataset.categorical."
                ) from exc
    X = pd.DataFrame(out, columns=list(frame.columns))
    if meta.modality == "image" and (categorical or not meta.image_shape):
        raise ConfigError("an image dataset from a table needs numeric pixel columns and dataset.image_shape.")
    if not categorical:
        return X.to_numpy(dtype=np.float64), []
    return X, categorical


def load(name: str = "file", *, task: str = "classification", modality: str = "tabular",
         image_shape: Optional[Sequence[int]] = None, path: Optional[str] = None,
         test_path: Optional[str] = None, target: Optional[str] = None, columns: Optional[dict] = None,
         categorical: Optional[Sequence[str]] = None, numeric: Optional[Sequence[str]] = None,
         format: Optional[str] = None, cache: bool = True, content: Optional[str] = None) -> Dataset:
    """Your own table: ``path`` (and an optional official ``test_path``) with a ``target`` column."""
    if not path:
        raise ConfigError(
            "dataset.path is not set; give your file, e.g. "
            "mvd dataset=file dataset.path=data.csv dataset.target=label."
        )
    paths = {"dataset.path": Path(path).expanduser()}
    if test_path:
        paths["dataset.test_path"] = Path(test_path).expanduser()
    formats = {key: _format(p, format, key) for key, p in paths.items()}
    for key, p in paths.items():
        if not p.is_file():
            raise ConfigError(f"{key}={str(p)!r} does not exist or is not a file.")
    if content and content != fingerprint(*paths.values()):
        raise ConfigError(
            f"dataset.content={content!r} is not the fingerprint of dataset.path={path!r}"
            f"{f' and dataset.test_path={test_path!r}' if test_path else ''} any more: the file changed after "
            "this curve's config was saved; restore the file to refit this curve, or run the command again to fit a "
            "new curve on today's file."
        )
    name = dataset_name(name, path)
    checksums = {str(p.resolve()): md5sum(p) for p in paths.values()}
    meta = Meta(name, task, modality, tuple(image_shape) if image_shape else None)
    options = dict(target=target, columns=dict(columns or {}), categorical=categorical, numeric=numeric)

    def build() -> Dataset:
        frames = {key: read_table(p, formats[key], key) for key, p in paths.items()}
        return from_frames(meta, frames["dataset.path"], frames.get("dataset.test_path"),
                           fmt=formats["dataset.path"], **options)

    content = {"meta": [meta.name, meta.task, meta.modality, meta.image_shape], "format": formats, **options}
    return cache_.cached(name, content, checksums, build, enabled=cache)
