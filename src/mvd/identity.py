"""What identifies a curve: its ``run_id`` and ``config_hash``, from a canonical view of its config.

Points carry both, and a rerun finds its stored points by ``run_id``, so the
two must not move when only the *shape* of the config changes.  They are
computed from a canonical view of the measured groups (dataset, model,
quality, cleaning, curve) that keeps the layout configs had before parts
were built from ``_target_`` nodes: a dataset is the old flat record
(``source`` instead of ``_target_``, every option with its old default,
source options under ``params``), and a corruption or cleaning method is
its name and options.  An option added later enters the view only when it
is set (not null, not empty), so points stored before it existed keep their
ids.  (Jobs take ``_target_`` nodes only: :func:`mvd.data.load` refuses an
old flat record.  The view still reads one, and a saved config without a
dataset section, because the report compares saved configs through it.)

What the data *is* belongs to a curve too.  A named dataset is fixed by its
name; a user's file (``dataset=file``) can change under the same path, so its
view holds ``content``, the files' fingerprint (:mod:`mvd.fingerprint`):
``conf/dataset/file.yaml`` resolves it, and a file node without one gets it
computed here.  Only the file source has it, so every other curve keeps its id.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from mvd import cleaning, naming, quality
from mvd.data import IN_PARAMS, PARAM_DEFAULTS, SOURCES
from mvd.fingerprint import fingerprint, register_resolver
from mvd.parts import plain

register_resolver()  # a job config that travelled to a worker resolves ${mvd.fingerprint:...} there

__all__ = ["config_hash", "run_id_of", "canonical"]

# config groups that change what a point measures (logger, threads etc. do not)
MEASURED = ("dataset", "model", "quality", "cleaning", "curve")
# curve keys a run_id leaves out: one curve, whatever sizes and seeds it has
_NOT_IN_RUN_ID = ("sizes", "fractions", "start", "growth", "max_size", "seeds")

# the flat dataset record and its defaults
_DATASET = {
    "name": None, "source": "sklearn", "task": "classification", "modality": "tabular",
    "image_shape": None, "params": {}, "root": None, "download": False, "path": None,
    "test_path": None, "target": None, "columns": {}, "categorical": None, "numeric": None,
    "train_split": None, "test_split": None, "openml_id": None, "official_split": True, "cache": True,
}
# options of corruptions and cleaning methods, with their defaults, as the view keeps them
_QUALITY = {"name": "clean", "rate": 0.0, "mode": "symmetric"}
_CLEANING = {"name": "none", "folds": 5, "params": {}}
# keys of the model and curve groups that are always in the view
_MODEL = ("name", "sophistication", "modalities", "scale", "categorical", "text", "classification",
          "regression", "per_modality", "tune")
# tuning options added after tuned curves were stored: in the view only when set
_TUNING_ADDED = ("keep_default_within", "small_n")
_CURVE = ("sizes", "fractions", "start", "growth", "max_size", "seeds", "test_fraction", "primary")


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, (dict, list)) and not value)


def _dataset_view(node: dict) -> dict:
    if "_target_" not in node:  # a saved config the report reads: no dataset section, or an old flat record
        return {**copy.deepcopy(_DATASET), **node}
    view = copy.deepcopy(_DATASET)
    target = node["_target_"]
    source = next((s for s, t in SOURCES.items() if t == target), target)
    view["source"] = source
    for key, value in node.items():
        if key == "_target_":
            continue
        moved = IN_PARAMS.get((source, key))
        if moved is not None:
            if not _unset(value) and value != PARAM_DEFAULTS.get(key):
                view["params"][moved] = value
        elif key in _DATASET:
            view[key] = value
        elif not _unset(value):
            view[key] = value
    return view


def _as(kind, value):
    """``value`` as the old typed schema held it (``quality.rate=0`` was 0.0); anything else as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return kind(value)
    return value


def _part_view(node: dict, defaults: dict, builtin: dict) -> dict:
    view = dict(defaults)
    for key, value in node.items():
        if key == "_target_":
            if value != builtin.get(node.get("name", defaults["name"])):
                view[key] = value
        elif key in defaults or not _unset(value):
            view[key] = value
    return view


def _group_view(node: dict, keys: tuple) -> dict:
    return {k: v for k, v in node.items() if k in keys or not _unset(v)}


def canonical(cfg, *, content: bool = True) -> dict:
    """The measured groups of a config in the view its hashes are computed from.

    ``content=False``: a user file's fingerprint is not computed where the config lacks one (the report
    compares saved configs without reading the files again).
    """
    node = {k: plain(cfg[k]) for k in MEASURED}
    node["dataset"] = _dataset_view(node["dataset"])
    data = node["dataset"]
    if content and data["source"] == "file" and _unset(data.get("content")):
        found = fingerprint(data.get("path"), data.get("test_path"))
        if found is not None:
            data["content"] = found
    node["quality"] = _part_view(node["quality"], _QUALITY, quality.BUILTIN)
    node["quality"]["rate"] = _as(float, node["quality"]["rate"])
    node["cleaning"] = _part_view(node["cleaning"], _CLEANING, cleaning.BUILTIN)
    node["cleaning"]["folds"] = _as(int, node["cleaning"]["folds"])
    node["dataset"]["openml_id"] = _as(int, node["dataset"]["openml_id"])
    node["model"] = _group_view(node["model"], _MODEL)
    for budget in ("max_classes", "max_rows_classes"):  # a budget decides what runs, not the numbers
        node["model"].pop(budget, None)
    # a search space changes nothing until a curve is tuned; a tuned curve is identified by its budget too
    if naming.tuned(cfg):
        node["tuning"] = {k: v for k, v in plain(cfg.tuning).items()
                          if k != "untunable" and not (k in _TUNING_ADDED and _unset(v))}
    else:
        node["model"].pop("search", None)
    node["curve"] = _group_view(node["curve"], _CURVE)
    # test-label noise changes what a point records; it enters the view only when set
    evaluation = plain(cfg.get("evaluation")) if "evaluation" in cfg else None
    if evaluation and evaluation.get("rates"):
        node["evaluation"] = evaluation
    return node


def _digest(node: dict) -> str:
    return hashlib.sha256(json.dumps(node, sort_keys=True, default=str).encode()).hexdigest()


def config_hash(cfg) -> str:
    """Hash of everything that determines the points' numbers."""
    return _digest(canonical(cfg))[:16]


def run_id_of(cfg) -> str:
    """Readable id of a curve: its label, and its config minus sizes and seeds, hashed."""
    node = canonical(cfg)
    for key in _NOT_IN_RUN_ID:
        node["curve"].pop(key, None)
    return f"{naming.label_of(cfg)}-{_digest(node)[:10]}"
