"""The model ladder: a model config becomes a scikit-learn Pipeline.

Preprocessing lives inside the pipeline, so it is fitted on the training
subset only: imputation where values are missing, standard scaling for
scale-sensitive models, one-hot or ordinal codes for categorical columns,
TF-IDF for text.  The estimator is the config's ``_target_`` for the task,
seeded through ``random_state`` when it has one.  Functions take the model
spec as a plain :class:`mvd.config.ModelConfig` (or its config node):
``spec(cfg.model)`` converts once at the boundary.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import pandas as pd
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mvd.data import Dataset
from mvd.errors import ConfigError

__all__ = ["build", "check", "estimator", "has_missing", "n_params", "spec"]


def spec(node):
    """A model config node as a plain ``ModelConfig`` (estimator nodes as dicts); a spec as it is."""
    if OmegaConf.is_config(node):
        return OmegaConf.to_object(node) if OmegaConf.get_type(node) is not dict else _Spec(node)
    return node


class _Spec:
    """Attribute access over a plain model dict (a model node composed without the typed schema)."""

    def __init__(self, node):
        self.__dict__.update(OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node)


def _node(model_cfg, task: str):
    return getattr(spec(model_cfg), task, None)


def check(model_cfg, dataset: Dataset) -> None:
    """Refuse a model that cannot handle the dataset's task or modality."""
    model_cfg = spec(model_cfg)
    node = _node(model_cfg, dataset.task)
    if node is None:
        raise ConfigError(
            f"model={model_cfg.name!r} does not support task {dataset.task!r} "
            f"(dataset={dataset.name!r}); pick a model with a `{dataset.task}` estimator."
        )
    modalities = list(model_cfg.modalities)
    as_image = "image" in modalities and dataset.image_shape is not None
    if dataset.modality not in modalities and not as_image:
        raise ConfigError(
            f"model={model_cfg.name!r} supports modalities {modalities}, "
            f"not {dataset.modality!r} (dataset={dataset.name!r})."
        )
    limit = getattr(model_cfg, "max_classes", None)
    if limit is not None and dataset.n_classes > limit:
        raise ConfigError(
            f"model={model_cfg.name!r} is skipped on dataset={dataset.name!r}: its cost grows with the number of "
            f"classes and its budget is model.max_classes={limit}, below the dataset's {dataset.n_classes} classes "
            f"(keep fewer with dataset.params.top_classes, or raise model.max_classes)."
        )
    if str(dict(node).get("_target_", "")).startswith(("mvd.nn.", "mvd.modern_nets.")):  # torch nets: device, sizes, before any work
        estimator(model_cfg, dataset.task, seed=0, dataset=dataset).check_params(prefix=f"model.{dataset.task}.")


def has_missing(X: Any) -> bool:
    """Whether a feature table holds missing values (NaN)."""
    if isinstance(X, pd.DataFrame):
        return bool(X.isna().to_numpy().any())
    if isinstance(X, np.ndarray) and X.dtype.kind == "f":
        return bool(np.isnan(X).any())
    return False


def _tabular_steps(model_cfg, missing: bool) -> list:
    steps = []
    if missing:
        steps.append(SimpleImputer(strategy="median"))
    if model_cfg.scale:
        steps.append(StandardScaler())
    return steps


def _frame_preprocessor(model_cfg, X: pd.DataFrame, categorical: list, missing: bool):
    """Numeric and categorical columns of a mixed table, each encoded for the model."""
    cats = [c for c in X.columns if c in set(categorical)]
    nums = [c for c in X.columns if c not in set(cats)]
    numeric = _tabular_steps(model_cfg, missing) or ["passthrough"]
    if model_cfg.categorical == "onehot":
        cat_step = make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
    else:  # ordinal codes; gradient boosting reads them as native categories
        cat_step = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
    transformers = [("num", numeric[0] if len(numeric) == 1 else make_pipeline(*numeric), nums)]
    if cats:
        transformers.append(("cat", cat_step, cats))
    return ColumnTransformer(transformers, verbose_feature_names_out=False)


@functools.lru_cache(maxsize=64)
def _prototype(node_json: str):
    """One instantiation per estimator config; points get clones (Hydra's instantiate costs ms)."""
    return instantiate(json.loads(node_json), _convert_="all")


def estimator(model_cfg, task: str, *, seed: int, dataset: Dataset | None = None, threads: int | None = None):
    """The bare estimator for ``task``, seeded, with the dataset's image shape if it takes one.

    ``threads``: the job's thread count, given to an estimator whose config sets its own
    ``n_jobs`` or ``thread_count`` (LightGBM would otherwise take every core).
    """
    model_cfg = spec(model_cfg)
    node = _node(model_cfg, task)
    if dataset is not None:  # a modality's own estimator, when the model names one
        node = (getattr(model_cfg, "per_modality", None) or {}).get(dataset.modality, {}).get(task, node)
    if OmegaConf.is_config(node):
        node = OmegaConf.to_container(node, resolve=True)
    est = clone(_prototype(json.dumps(node, sort_keys=True)))
    params = est.get_params(deep=False)
    updates = {}
    if "random_state" in params:
        updates["random_state"] = seed
    if dataset is not None and "image_shape" in params and dataset.image_shape is not None:
        updates["image_shape"] = tuple(dataset.image_shape)
    if dataset is not None and "class_names" in params and dataset.classes is not None:  # nested labels
        updates["class_names"] = list(dataset.classes)
    for key in ("n_jobs", "thread_count"):
        if threads and params.get(key) is not None:
            updates[key] = int(threads)
    return est.set_params(**updates) if updates else est


def build(model_cfg, dataset: Dataset, *, seed: int, missing: bool | None = None,
          threads: int | None = None) -> Pipeline:
    """A fresh, unfitted pipeline for one point.

    ``missing`` says whether the training data may hold missing values (a
    ``missing`` corruption); by default it is read off the dataset.  The
    model is assumed to fit the dataset (``check`` runs once per job, in
    ``curve.plan``).
    """
    model_cfg = spec(model_cfg)
    missing = has_missing(dataset.X) if missing is None else missing
    est = estimator(model_cfg, dataset.task, seed=seed, dataset=dataset, threads=threads)
    if dataset.modality == "text":
        if model_cfg.text == "tfidf":
            from sklearn.feature_extraction.text import TfidfVectorizer

            return make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=1), est)
        return make_pipeline(est)
    if isinstance(dataset.X, pd.DataFrame):
        pre = _frame_preprocessor(model_cfg, dataset.X, dataset.categorical, missing)
        if model_cfg.categorical == "native" and hasattr(est, "categorical_features"):
            cats = [c for c in dataset.X.columns if c in set(dataset.categorical)]
            nums = [c for c in dataset.X.columns if c not in set(cats)]
            est.set_params(categorical_features=[False] * len(nums) + [True] * len(cats))
        elif model_cfg.categorical == "native" and type(est).__module__.startswith("lightgbm"):
            cats = [c for c in dataset.X.columns if c in set(dataset.categorical)]
            if cats:  # the ordinal codes come after the numeric columns
                est.set_params(categorical_column=list(range(len(dataset.X.columns) - len(cats),
                                                             len(dataset.X.columns))))
        return make_pipeline(pre, est)
    return make_pipeline(*_tabular_steps(model_cfg, missing), est)


def n_params(pipeline: Pipeline) -> int:
    """Learned numbers in the final estimator (coefficients, tree nodes, weights); 0 if unknown."""
    est = pipeline[-1]
    if hasattr(est, "n_params_"):
        return int(est.n_params_)
    total = 0
    for attr in ("coef_", "intercept_", "theta_", "var_", "support_vectors_", "dual_coef_"):
        value = getattr(est, attr, None)
        if value is not None:
            total += int(np.size(value))
    if hasattr(est, "tree_"):
        total += int(est.tree_.node_count)
    if hasattr(est, "estimators_"):
        for member in np.ravel(est.estimators_):
            if hasattr(member, "tree_"):
                total += int(member.tree_.node_count)
    if hasattr(est, "_predictors"):
        total += sum(p.nodes.shape[0] for stage in est._predictors for p in stage)
    if hasattr(est, "_fit_X"):
        total += int(np.size(est._fit_X))
    return total
