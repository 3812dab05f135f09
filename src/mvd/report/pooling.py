"""Which curves the report may pool: one name stands for one config, but for sizes and seeds.

The report compares curves by their labels (dataset, model, quality, rate,
cleaning).  Two curves can share a label without sharing a config: two files
both called ``file``, a file edited between runs, a sweep over ``C`` whose
twenty logreg curves are all ``logreg``.  Pooled, they would give a verdict
about data or models that were never compared.  So, from the saved configs
(``configs/<run_id>.yaml``), before anything is computed:

- within one dataset name, curves whose data differ (the dataset's options,
  a file's content, the test fraction) get the dataset named by what differs:
  ``churn[path=a.csv]``, ``churn[data=3f2a9c01]``;
- within one curve label, curves whose other settings differ get the model
  named by what differs: ``logreg[C=0.1]``, ``logreg[C=1]``;
- curves that share a label and whose saved configs show no difference (a
  config saved without the file's content, then the file edited) cannot be
  told apart, and are refused in one sentence.

Curves that share their whole config (but for sizes and seeds) share their
``run_id`` too, so a study whose labels are each one ``run_id`` reads exactly
as before, without a config being opened beyond those of shared dataset names.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath

import pandas as pd

from mvd.errors import ConfigError

__all__ = ["separate", "LABEL"]

# what a curve is called before the report appends " (tuned)" (the tuned flag is part of the name)
LABEL = ["dataset", "model", "tuned", "quality", "quality_rate", "cleaning"]
# how a key reads in a name when it is not its last part ("content" is the files' fingerprint)
_SHOWN = {"content": "data"}
# keys of the curve group that decide the data a curve is scored on (the rest are sizes and seeds)
_DATA_CURVE_KEYS = ("test_fraction",)
# the data keys the dataset's name already told apart (the curve step names what is left)
_DATA_KEYS = tuple(f"curve.{k}" for k in _DATA_CURVE_KEYS)


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out: dict = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: json.dumps(node, sort_keys=True, default=str) if isinstance(node, list) else node}


def _yaml(path: Path):
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path) as handle:
        return yaml.load(handle, Loader=loader)


def _data_text(path: Path) -> str:
    """The ``dataset`` and ``curve`` sections of a saved config, as text (parsed once per distinct text)."""
    keep, lines = False, []
    for line in path.read_text().splitlines():
        if line and not line[0].isspace():
            keep = line.split(":", 1)[0] in ("dataset", "curve")
        if keep:
            lines.append(line)
    return "\n".join(lines)


def _data_view(config: dict) -> dict:
    """The part of a saved config that decides the data: the dataset's canonical view and the test split."""
    from mvd.identity import _dataset_view

    view = {"dataset": _dataset_view(dict(config.get("dataset") or {}))}
    curve = config.get("curve") or {}
    view["curve"] = {k: curve.get(k) for k in _DATA_CURVE_KEYS}
    return _flat(view)


def _data_views(study_dir: Path, runs) -> dict:
    """run_id -> :func:`_data_view` of its saved config, for the runs that have one."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    texts = {}
    for run in runs:
        path = Path(study_dir) / "configs" / f"{run}.yaml"
        if path.is_file():
            texts[run] = _data_text(path)
    parsed = {text: _data_view(yaml.load(text, Loader=loader) or {}) for text in set(texts.values())}
    return {run: parsed[text] for run, text in texts.items()}


def _curve_view(config: dict) -> dict:
    """A saved config's canonical view (mvd.identity) without sizes and seeds, flattened."""
    from omegaconf import OmegaConf

    from mvd.identity import _NOT_IN_RUN_ID, MEASURED, canonical

    try:
        node = canonical(OmegaConf.create(config), content=False)
    except Exception:  # a config this mvd cannot read as a curve's: compared as it was saved
        node = {k: config.get(k) for k in MEASURED}
    for key in _NOT_IN_RUN_ID:
        (node.get("curve") or {}).pop(key, None)
    return _flat(node)


def _differing(views: dict) -> list:
    keys = sorted({k for view in views.values() for k in view})
    return [k for k in keys if len({json.dumps(view.get(k), sort_keys=True, default=str)
                                    for view in views.values()}) > 1]


def _show(key: str, value, short: bool = True) -> str:
    if key.endswith(".content") and value is not None:
        return str(value)[:8]
    if isinstance(value, float):
        return f"{value:g}"
    if short and isinstance(value, str) and "/" in value:
        return PurePath(value).name
    return str(value)


def _distinct(views: dict, keys: list) -> int:
    return len({json.dumps([view.get(k) for k in keys], default=str) for view in views.values()})


def _suffixes(views: dict, keys: list) -> dict:
    """run_id -> "[k=v,...]" naming what differs, each key by its last part unless two share it, and a
    path by its file name unless two share that."""
    without = [k for k in keys if not k.endswith(".content")]
    if without and without != keys and _distinct(views, without) == _distinct(views, keys):
        keys = without  # a changed path says it already
    keys = sorted(keys, key=lambda k: k.endswith(".content"))  # the data's fingerprint last
    last = [k.rsplit(".", 1)[-1] for k in keys]
    names = [_SHOWN.get(part, part) if last.count(part) == 1 else k for k, part in zip(keys, last)]
    short = {k: len({_show(k, v.get(k)) for v in views.values()}) == len({str(v.get(k)) for v in views.values()})
             for k in keys}
    return {run: "[" + ",".join(f"{name}={_show(k, view.get(k), short[k])}" for k, name in zip(keys, names)) + "]"
            for run, view in views.items()}


def _configs(study_dir: Path, runs) -> dict:
    """run_id -> its saved config (plain), for the runs that have one."""
    out = {}
    for run in runs:
        path = Path(study_dir) / "configs" / f"{run}.yaml"
        if path.is_file():
            out[run] = _yaml(path) or {}
    return out


def separate(points: pd.DataFrame, study_dir) -> pd.DataFrame:
    """``points`` with datasets and models renamed where curves share a name but not a config (see the
    module); a label whose curves cannot be told apart is refused in one sentence."""
    if points.empty or "run_id" not in points or points["run_id"].isna().all():
        return points
    points = points.copy()
    runs_of = points.groupby("dataset", sort=True)["run_id"].unique()
    shared = {name: [r for r in runs if isinstance(r, str)] for name, runs in runs_of.items() if len(runs) > 1}
    if shared:
        data = _data_views(study_dir, sorted({r for runs in shared.values() for r in runs}))
        for name, runs in shared.items():
            views = {r: data[r] for r in runs if r in data}
            keys = _differing(views)
            if keys:
                suffix = _suffixes(views, keys)
                rows = points["dataset"] == name
                points.loc[rows, "dataset"] = points.loc[rows, "run_id"].map(
                    lambda r: f"{name}{suffix.get(r, '')}")
    label = [c for c in LABEL if c in points]
    group = points.groupby(label, dropna=False, sort=True).ngroup()
    counts = points.groupby(group)["run_id"].nunique()
    for code in counts.index[counts > 1]:
        rows = group == code
        runs = sorted(r for r in points.loc[rows, "run_id"].unique() if isinstance(r, str))
        configs = _configs(study_dir, runs)
        views = {r: _curve_view(configs[r]) for r in runs if r in configs}
        keys = [k for k in _differing(views) if not k.startswith("dataset.") and k not in _DATA_KEYS] \
            if len(views) == len(runs) else []
        first = points.loc[rows].iloc[0]
        if not keys:
            raise ConfigError(
                f"curves {', '.join(runs)} share dataset {first['dataset']!r}, model {first['model']!r}, "
                f"quality {first.get('quality', 'clean')!r} and cleaning {first.get('cleaning', 'none')!r} "
                f"but not their run_id, and their saved configs in {Path(study_dir) / 'configs'} do not say how "
                "they differ (a data file edited between runs?); delete the stale curve's points file or run "
                "each in a study of its own (study=NAME)."
            )
        suffix = _suffixes(views, keys)
        points.loc[rows, "model"] = points.loc[rows].apply(
            lambda row: f"{row['model']}{suffix[row['run_id']]}", axis=1)
    return points
