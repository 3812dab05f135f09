"""How a learning curve is named: one label, in an id form and a display form.

The id form (``digits-logreg-label_noise0.2-oracle``) heads every ``run_id``
(and so every points and config file name) and names the W&B run; the
display form (``digits · logreg · label_noise=0.2 +oracle``) titles progress
bars and the per-job lines of a multirun.
"""

from __future__ import annotations

import re
from pathlib import PurePath

__all__ = ["label", "label_of", "tuned", "TUNED_SUFFIX", "dataset_name", "FILE_LOADER"]

# how a tuned curve's model is displayed ("forest (tuned)"); its id form ends in "_tuned"
TUNED_SUFFIX = " (tuned)"


def label(dataset: str, model: str, quality: str, rate: float, cleaning: str, *, display: bool = False,
          tuned: bool = False) -> str:
    """The curve's label from its dataset, model (tuned or not), quality kind and rate, and cleaning method."""
    if tuned:
        model = f"{model}{TUNED_SUFFIX}" if display else f"{model}_tuned"
    if not display:
        return f"{dataset}-{model}-{quality}{float(rate):g}-{cleaning}"
    kind = "clean" if quality == "clean" else f"{quality}={float(rate):g}"
    clean = "" if cleaning == "none" else f" +{cleaning}"
    return f"{dataset} · {model} · {kind}{clean}"


# a user's own file (conf/dataset/file.yaml), and the name it has when dataset.name is left alone
FILE_LOADER = "mvd.sources.files.load"
FILE_NAME = "file"
# suffixes a file name loses when it names a dataset (data.csv.gz: data)
_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".gz", ".bz2", ".xz", ".zst", ".zip")


def dataset_name(name: str, path=None) -> str:
    """The name a dataset's curves carry: ``name``, except that a user's file left at the default name
    ``file`` is named after the file (``data/churn.csv`` -> ``churn``), so two files are told apart."""
    if name != FILE_NAME or not path:
        return name
    stem = PurePath(str(path)).name
    while PurePath(stem).suffix.lower() in _SUFFIXES and PurePath(stem).stem:
        stem = PurePath(stem).stem
    return re.sub(r"[^\w.]+", "_", stem).strip("_.") or name


def _dataset_name_of(node) -> str:
    if node.get("_target_") == FILE_LOADER:
        return dataset_name(node.name, node.get("path"))
    return node.name


def label_of(cfg, *, display: bool = False) -> str:
    """:func:`label` of a job's config."""
    return label(_dataset_name_of(cfg.dataset), cfg.model.name, cfg.quality.name, cfg.quality.rate, cfg.cleaning.name,
                 display=display, tuned=tuned(cfg))


def tuned(cfg) -> bool:
    """Whether a job's curve is tuned: tuning is on and its model has a space to search."""
    tuning = cfg.get("tuning")
    return bool(tuning is not None and tuning.get("name", "none") != "none" and cfg.model.get("search"))
