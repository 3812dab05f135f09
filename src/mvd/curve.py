"""One job = one learning curve (DESIGN.md section 2).

``plan`` checks every input and loads the data before anything is written;
``run_curve`` then walks seeds and sizes, skipping points already stored,
and writes each new point as soon as it exists.  The flow reads like the
design: data.load -> splits -> quality -> cleaning -> models -> metrics -> store.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

import mvd
from mvd import cleaning, data, metrics, models, quality, splits
from mvd.data import Dataset, take
from mvd.errors import ConfigError
from mvd.store import CurveFile

__all__ = ["Plan", "plan", "run_curve", "run_id_of"]

# config groups that change what a point measures (logger, threads etc. do not)
_MEASURED = ("dataset", "model", "quality", "cleaning", "curve")
_NOT_IN_RUN_ID = ("sizes", "fractions", "start", "growth", "max_size", "seeds")


def _digest(node: dict) -> str:
    return hashlib.sha256(json.dumps(node, sort_keys=True, default=str).encode()).hexdigest()


def config_hash(cfg) -> str:
    """Hash of everything that determines the points' numbers."""
    return _digest({k: OmegaConf.to_container(cfg[k], resolve=True) for k in _MEASURED})[:16]


def run_id_of(cfg) -> str:
    """Readable id of a curve: its config minus sizes and seeds, hashed."""
    node = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in _MEASURED}
    for key in _NOT_IN_RUN_ID:
        node["curve"].pop(key, None)
    q = cfg.quality
    label = f"{cfg.dataset.name}-{cfg.model.name}-{q.name}{q.rate:g}-{cfg.cleaning.name}"
    return f"{label}-{_digest(node)[:10]}"


@dataclass
class Plan:
    """Everything a job needs, checked before any point is fitted."""

    cfg: object
    dataset: Dataset
    run_id: str
    config_hash: str
    study_dir: Path
    sizes: list
    seeds: list
    primary: str
    # whether pipelines impute: the data has NaNs, or the corruption makes them
    missing: bool = False

    @property
    def n_points(self) -> int:
        return len(self.sizes) * len(self.seeds)


def plan(cfg) -> Plan:
    """Validate the config against the data; raise ``ConfigError`` on bad input."""
    splits.check_test_fraction(cfg.curve.test_fraction)
    if cfg.threads < 1:
        raise ConfigError(f"threads={cfg.threads} must be a positive count of BLAS/OpenMP threads.")
    from mvd.report.study import check_business  # negative costs are refused before any work (issue 4)
    check_business(OmegaConf.to_container(cfg.business, resolve=True))
    seeds = [int(s) for s in cfg.curve.seeds]
    if not seeds:
        raise ConfigError("curve.seeds is empty; give at least one seed, e.g. curve.seeds=[0].")
    dataset = data.load(cfg.dataset)
    models.check(cfg.model, dataset)
    quality.check(cfg.quality, dataset)
    cleaning.check(cfg.cleaning, cfg.model, dataset, quality_cfg=cfg.quality)
    primary = metrics.primary_metric(dataset.task, cfg.curve.primary)
    if primary not in metrics.METRICS[dataset.task]:
        raise ConfigError(
            f"curve.primary={primary!r} is not a {dataset.task} metric; "
            f"allowed: {', '.join(metrics.METRICS[dataset.task])}."
        )
    official = dataset.test_index if cfg.dataset.official_split else None
    pools = [splits.split(dataset.y, seed=s, test_fraction=cfg.curve.test_fraction,
                          task=dataset.task, test_index=official)[0] for s in seeds]
    # sizes fit the pool after corruption (imbalance thins it) for every seed
    sizes = splits.sizes(cfg.curve, min(quality.pool_size(dataset.y[pool], cfg.quality) for pool in pools))
    return Plan(
        cfg=cfg,
        dataset=dataset,
        run_id=run_id_of(cfg),
        config_hash=config_hash(cfg),
        study_dir=Path(cfg.results_dir) / cfg.study,
        sizes=sizes,
        seeds=seeds,
        primary=primary,
        missing=cfg.quality.name == "missing" or models.has_missing(dataset.X),
    )


def _predict(pipe, X, binary: bool = False):
    """Predictions, probabilities (if any) and, for a binary task, the decision function (if any)."""
    pred = pipe.predict(X)
    proba = decision = None
    if hasattr(pipe, "predict_proba"):
        try:
            proba = pipe.predict_proba(X)
        except (AttributeError, NotImplementedError):
            proba = None
    if proba is None and binary and hasattr(pipe, "decision_function"):
        try:
            decision = pipe.decision_function(X)
        except (AttributeError, NotImplementedError):
            decision = None
    return pred, proba, decision


def _widen(proba, pipe, n_classes: int):
    return None if proba is None else metrics.full_proba(proba, pipe.classes_, n_classes)


def _fit_and_score(p: Plan, X_fit, y_fit, X_test, y_test, seed: int) -> dict:
    """Fit one pipeline and score it; an exception becomes a failed point."""
    ds = p.dataset
    out: dict = {"status": "ok", "error": ""}
    try:
        pipe = models.build(p.cfg.model, ds, seed=seed, missing=p.missing)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            pipe.fit(X_fit, y_fit)
            out["fit_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            binary = ds.n_classes == 2
            pred, proba, decision = _predict(pipe, X_test, binary)
            out["predict_seconds"] = time.perf_counter() - start
            # the training score needs probabilities only when the primary metric does
            train_needs_proba = p.primary in ("log_loss", "roc_auc")
            start = time.perf_counter()
            train_pred, train_proba, train_dec = (
                _predict(pipe, X_fit, binary) if train_needs_proba else (pipe.predict(X_fit), None, None)
            )
            out["train_predict_seconds"] = time.perf_counter() - start
        if ds.task == "classification":
            proba = _widen(proba, pipe, ds.n_classes)
            train_proba = _widen(train_proba, pipe, ds.n_classes)
        test = metrics.score(ds.task, y_test, pred, proba, ds.n_classes, decision)
        train = metrics.score(ds.task, y_fit, train_pred, train_proba, ds.n_classes, train_dec, only=p.primary)
        out.update({f"test_{k}": v for k, v in test.items()})
        out["train_score"] = train[p.primary]
        if ds.task == "classification":  # test counts [true][predicted]: the report's cost matrix
            out["confusion"] = json.dumps(metrics.confusion(y_test, pred, ds.n_classes).tolist())
        est = pipe[-1]
        out["n_params"] = models.n_params(pipe)
        out["device"] = str(getattr(est, "device_", "cpu"))
        if hasattr(est, "n_epochs_"):
            out["epochs"] = int(est.n_epochs_)
    except Exception as exc:  # a failed fit is data, not a crash (LCDB's error_score)
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
    return out


def _base_row(p: Plan) -> dict:
    cfg, ds = p.cfg, p.dataset
    row = {
        "study": cfg.study,
        "run_id": p.run_id,
        "dataset": ds.name,
        "task": ds.task,
        "modality": ds.modality,
        "model": cfg.model.name,
        "sophistication": int(cfg.model.sophistication),
        "quality": cfg.quality.name,
        "quality_rate": float(cfg.quality.rate),
        "cleaning": cfg.cleaning.name,
        "primary_metric": p.primary,
        "config_hash": p.config_hash,
        "mvd_version": mvd.__version__,
    }
    for name in metrics.METRICS["classification"] + metrics.METRICS["regression"]:
        row[f"test_{name}"] = np.nan
    row.update(train_score=np.nan, fit_seconds=np.nan, predict_seconds=np.nan, n_params=0, device="cpu")
    return row


def _save_config(p: Plan) -> None:
    """The job's resolved config beside its points (written once, atomically)."""
    path = p.study_dir / "configs" / f"{p.run_id}.yaml"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # jobs sharing a curve never share a temp file
    tmp.write_text(OmegaConf.to_yaml(p.cfg, resolve=True))
    tmp.replace(path)


def run_curve(cfg, *, on_point: Optional[Callable[[dict, bool], None]] = None,
              prepared: Optional[Plan] = None) -> pd.DataFrame:
    """Fit every (seed, size) point of one curve not already stored; return all its points.

    ``on_point(point, skipped)`` is called after each point (for progress
    bars and loggers); skipped points come from the store.
    """
    p = prepared or plan(cfg)
    ds = p.dataset
    store = CurveFile(p.study_dir, p.run_id)
    done = store.done()
    stored = {(int(r["seed"]), int(r["train_size"])): r for r in store.records}
    base = _base_row(p)
    official = ds.test_index if cfg.dataset.official_split else None
    with threadpool_limits(limits=int(cfg.threads)):
        for seed in p.seeds:
            if all((seed, n) in done for n in p.sizes):
                for n in p.sizes:
                    on_point and on_point(stored[(seed, n)], True)
                continue
            pool, test = splits.split(ds.y, seed=seed, test_fraction=cfg.curve.test_fraction,
                                      task=ds.task, test_index=official)
            X_test, y_test = take(ds.X, test), ds.y[test]
            pooled = quality.corrupt(take(ds.X, pool), ds.y[pool], cfg.quality, ds, seed=seed)
            order = splits.nested_order(pooled.y, seed=seed, task=ds.task)
            for n in p.sizes:
                if (seed, n) in done:
                    on_point and on_point(stored[(seed, n)], True)
                    continue
                X_sub, y_sub, bad = pooled.subset(order, n)
                keep, clean_info = cleaning.apply(X_sub, y_sub, bad, cfg.cleaning,
                                                  model_cfg=cfg.model, dataset=ds, seed=seed)
                point = dict(base, seed=seed, train_size=n, n_fit=int(keep.sum()),
                             n_corrupted=int(bad.sum()), **pooled.info, **clean_info)
                point.update(_fit_and_score(p, take(X_sub, np.flatnonzero(keep)), y_sub[keep],
                                            X_test, y_test, seed))
                point["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                _save_config(p)
                store.append(point)
                on_point and on_point(point, False)
    return store.frame
