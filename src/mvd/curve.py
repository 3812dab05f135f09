"""One job = one learning curve.

``plan`` unpacks the config at the boundary: it builds every part (dataset,
model spec, corruption, cleaning method), checks them against each other and
the data, and fixes the sizes, all before anything is written.
``run_curve`` then walks seeds and sizes on those plain values, skipping
points already stored, and writes each new point as soon as it exists.  The
flow reads like the data flow:
data.load -> splits -> quality -> cleaning -> models -> metrics -> store.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from threadpoolctl import threadpool_limits

import mvd
from mvd import calibration, cleaning, costs, data, evaluation, metrics, models, prior, quality, splits, tuning
from mvd.business import check_business
from mvd.data import Dataset, take
from mvd.errors import ConfigError
from mvd.files import write_atomic
from mvd.identity import config_hash, run_id_of
from mvd.naming import label_of
from mvd.parts import plain
from mvd.store import CurveFile

__all__ = ["Plan", "plan", "run_curve", "run_id_of", "config_hash", "fit_and_score", "per_row"]


@dataclass
class Plan:
    """Everything a job needs, checked before any point is fitted: plain values, built once."""

    dataset: Dataset
    run_id: str
    config_hash: str
    # the curve's name as a person reads it (progress bar, table): mvd.naming.label_of
    label: str
    # the resolved config as plain values: saved beside the points (configs/<run_id>.yaml), which
    # make reproduce refits from; nothing else reads it
    config: dict
    study_dir: Path
    sizes: list
    seeds: list
    primary: str
    # whether pipelines impute: the data has NaNs, or the corruption makes them
    missing: bool = False
    model: Any = None
    corruption: quality.Corruption = field(default_factory=quality.Clean)
    cleaning: cleaning.Cleaning = field(default_factory=cleaning.NoCleaning)
    test_fraction: float = 0.25
    threads: int = 1
    study: str = "default"
    # sentences the job says once (rows the dataset left out, ...)
    notes: list = field(default_factory=list)
    # noisy copies of the test labels to score against, besides the true ones
    test_noise: evaluation.TestNoise = field(default_factory=evaluation.TestNoise)
    # the search each point runs on its training subset (mvd.tuning.settle); None: library defaults
    tuning: Optional[dict] = None

    @property
    def n_points(self) -> int:
        return len(self.sizes) * len(self.seeds)


def plan(cfg) -> Plan:
    """Validate the config against the data; raise ``ConfigError`` on bad input."""
    test_fraction = float(cfg.curve.test_fraction)
    splits.check_test_fraction(test_fraction)
    if cfg.threads < 1:
        raise ConfigError(f"threads={cfg.threads} must be a positive count of BLAS/OpenMP threads.")
    check_business(plain(cfg.business))  # negative costs are refused before any work
    seeds = [int(s) for s in cfg.curve.seeds]
    if not seeds:
        raise ConfigError("curve.seeds is empty; give at least one seed, e.g. curve.seeds=[0].")
    dataset = data.load(cfg.dataset)
    model = models.spec(cfg.model)
    models.check(model, dataset)
    corruption = quality.build(cfg.quality)
    corruption.check(dataset)
    method = cleaning.build(cfg.cleaning)
    wraps = hasattr(method, "wrap")  # a method that wraps the fitted model (prior correction)
    bare = models.estimator(model, dataset.task, seed=0, dataset=dataset) if method.needs_model or wraps else None
    method.check(dataset, corruption=corruption, estimator=bare, model=model.name)
    test_noise = evaluation.build(cfg.get("evaluation"))
    test_noise.check(dataset)
    primary = metrics.primary_metric(dataset.task, cfg.curve.primary)
    if primary not in metrics.METRICS[dataset.task]:
        raise ConfigError(
            f"curve.primary={primary!r} is not a {dataset.task} metric; "
            f"allowed: {', '.join(metrics.METRICS[dataset.task])}."
        )
    splits.check_split(dataset.y, test_fraction=test_fraction, task=dataset.task,
                       test_index=dataset.test_index, name=dataset.name, classes=dataset.classes)
    pools = [splits.split(dataset.y, seed=s, test_fraction=test_fraction, task=dataset.task,
                          test_index=dataset.test_index)[0] for s in seeds]
    # sizes fit the pool after corruption (imbalance thins it) for every seed
    c = cfg.curve
    sizes = splits.sizes(min(corruption.pool_rows(dataset, pool, seed=s) for pool, s in zip(pools, seeds)),
                         sizes=c.sizes,
                         fractions=c.fractions, start=c.start, growth=c.growth, max_size=c.max_size)
    notes = []
    sizes = _within_budget(sizes, model, dataset, notes)
    if dataset.rows_dropped:
        notes.append(f"dataset {dataset.name!r}: left out {dataset.rows_dropped} rows because "
                     f"{dataset.rows_dropped_reason}.")
    order = splits.nested_order(dataset.y[pools[0]], seed=seeds[0], task=dataset.task)
    tune = tuning.settle(plain(cfg.get("tuning")) or {}, space=plain(model.search) or {},
                         estimator=models.estimator(model, dataset.task, seed=0, dataset=dataset),
                         y_smallest=dataset.y[pools[0]][order[:min(sizes)]], task=dataset.task,
                         model=model.name, notes=notes)
    return Plan(
        dataset=dataset, run_id=run_id_of(cfg), config_hash=config_hash(cfg),
        label=label_of(cfg, display=True), config=plain(cfg),
        study_dir=Path(cfg.results_dir) / cfg.study, sizes=sizes, seeds=seeds, primary=primary,
        missing=isinstance(corruption, quality.Missing) or models.has_missing(dataset.X),
        model=model, corruption=corruption, cleaning=method, test_fraction=test_fraction,
        threads=int(cfg.threads), study=str(cfg.study), notes=notes, test_noise=test_noise, tuning=tune,
    )


def _within_budget(sizes: list, model, dataset, notes: list) -> list:
    """The sizes whose training rows x classes fit ``model.max_rows_classes`` (all where it is unset); the others
    are left out with one sentence in ``notes``, or the curve is refused when none fits."""
    budget = getattr(model, "max_rows_classes", None)
    if budget is None or dataset.task != "classification":
        return sizes
    classes = int(dataset.n_classes)
    kept = [n for n in sizes if n * classes <= budget]
    if len(kept) == len(sizes):
        return sizes
    over = min(n for n in sizes if n * classes > budget)
    why = (f"its cost grows with training rows x classes and its budget model.max_rows_classes={budget:,} is below "
           f"{over:,} rows x {classes:,} classes")
    if not kept:
        raise ConfigError(f"model={model.name!r} is skipped on dataset={dataset.name!r}: {why} (keep fewer classes "
                          f"with dataset.params.top_classes, or raise model.max_rows_classes).")
    notes.append(f"model={model.name!r} stops at {max(kept):,} rows on dataset={dataset.name!r}: {why}; "
                 f"{len(sizes) - len(kept)} larger size(s) left out (raise model.max_rows_classes to run them).")
    return kept


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


def fit_and_score(pipe, X_fit, y_fit, X_test, y_test, *, task: str, n_classes: int, primary: str,
                  noisy: Optional[dict] = None, pool_counts=None) -> dict:
    """Fit an unfitted pipeline and score it on the test rows; an exception becomes a failed point.

    Returns the point's columns: ``test_*`` scores, ``train_score`` (the
    primary metric on the fitted rows), times, and the model's size; with
    ``noisy`` (``{rate: (labels, flipped)}``), ``noisy_test_scores``: the
    primary metric against each noisy copy of the test labels.
    """
    out: dict = {"status": "ok", "error": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            pipe.fit(X_fit, y_fit)
            out["fit_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            binary = n_classes == 2
            pred, proba, decision = _predict(pipe, X_test, binary)
            out["predict_seconds"] = time.perf_counter() - start
            # the training score needs probabilities only when the primary metric does
            train_needs_proba = primary in ("log_loss", "roc_auc")
            start = time.perf_counter()
            train_pred, train_proba, train_dec = (
                _predict(pipe, X_fit, binary) if train_needs_proba else (pipe.predict(X_fit), None, None)
            )
            out["train_predict_seconds"] = time.perf_counter() - start
        if task == "classification":
            proba = _widen(proba, pipe, n_classes)
            train_proba = _widen(train_proba, pipe, n_classes)
        test = metrics.score(task, y_test, pred, proba, n_classes, decision)
        if task == "classification":
            test.update(calibration.scores(y_test, proba))
        train = metrics.score(task, y_fit, train_pred, train_proba, n_classes, train_dec, only=primary)
        out.update({f"test_{k}": v for k, v in test.items()})
        out.update(per_row(task, y_test, pred))
        if task == "classification":  # top-5, head/torso/tail by the pool's class counts, coverage, unseen
            out.update(metrics.long_tail(y_test, pred, proba, train_labels=y_fit, pool_counts=pool_counts,
                                         n_classes=n_classes))
        if noisy:
            out["noisy_test_scores"] = evaluation.noisy_scores(noisy, task=task, pred=pred, proba=proba,
                                                               n_classes=n_classes, decision=decision, metric=primary)
        out["train_score"] = train[primary]
        if task == "classification" and n_classes <= metrics.CONFUSION_MAX_CLASSES:  # the report's cost matrix
            out["confusion"] = json.dumps(metrics.confusion(y_test, pred, n_classes).tolist())
        est = pipe[-1]
        out["n_params"] = models.n_params(pipe)
        out.update(costs.measure(pipe, X_test))
        out["device"] = str(getattr(est, "device_", "cpu"))
        if hasattr(est, "n_epochs_"):
            out["epochs"] = int(est.n_epochs_)
    except Exception as exc:  # a failed fit is data, not a crash (LCDB's error_score)
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
    return out


def per_row(task: str, y_test, pred) -> dict:
    """The test rows' own scores, compact, in the test set's row order (the same for every model of a seed,
    and for every seed on a fixed test set): the report's paired bootstrap over test rows reads them.

    ``per_row_count`` (the count), and ``per_row_correct`` (classification: one bit per row, numpy.packbits,
    ``per_row_count / 8`` bytes) or ``per_row_residual`` (regression: prediction minus target, little-endian
    float32, ``4 * per_row_count`` bytes).
    """
    y, p = np.asarray(y_test), np.asarray(pred)
    if task == "classification":
        return {"per_row_count": int(len(y)), "per_row_correct": np.packbits(p == y).tobytes()}
    residual = (p.astype(float) - y.astype(float)).astype("<f4")
    return {"per_row_count": int(len(y)), "per_row_residual": residual.tobytes()}


def _fit_and_score(p: Plan, X_fit, y_fit, X_test, y_test, seed: int, target=None, pool_counts=None) -> dict:
    """One point of the plan: a fresh pipeline of the job's model, fitted and scored.

    ``target``: unlabelled rows of the unshifted pool, for a cleaning method that wraps the model.
    """
    ds = p.dataset
    fixed = ds.test_index is not None  # one official test set for every seed: the seeds share its sample
    try:
        pipe = models.build(p.model, ds, seed=seed, missing=p.missing, threads=p.threads)
        tuned = {}
        if p.tuning:  # the search sees this point's training rows only
            pipe, tuned = tuning.tune_point(pipe, p.tuning, X_fit, y_fit, seed=seed, task=ds.task, metric=p.primary)
        if hasattr(p.cleaning, "wrap"):
            pipe = p.cleaning.wrap(pipe, target=target, seed=seed)
    except Exception as exc:  # a model that cannot be built for this point is a failed point too
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000], "fixed_test_set": fixed}
    noisy = p.test_noise.labels(y_test, n_classes=ds.n_classes, seed=seed)
    out = fit_and_score(pipe, X_fit, y_fit, X_test, y_test, task=ds.task, n_classes=ds.n_classes,
                        primary=p.primary, noisy=noisy, pool_counts=pool_counts)
    out.update(prior.describe(pipe))
    out.update(tuned)
    out["fixed_test_set"] = fixed
    return out


def _base_row(p: Plan) -> dict:
    ds = p.dataset
    row = {
        "study": p.study,
        "run_id": p.run_id,
        "dataset": ds.name,
        "task": ds.task,
        "modality": ds.modality,
        "model": p.model.name,
        "sophistication": int(p.model.sophistication),
        "quality": p.corruption.name,
        "quality_rate": float(p.corruption.rate),
        "cleaning": p.cleaning.name,
        "primary_metric": p.primary,
        "config_hash": p.config_hash,
        "mvd_version": mvd.__version__,
    }
    for name in metrics.METRICS["classification"] + metrics.METRICS["regression"]:
        row[f"test_{name}"] = np.nan
    row.update(train_score=np.nan, fit_seconds=np.nan, predict_seconds=np.nan, n_params=0, device="cpu")
    row["tuned"] = p.tuning is not None
    if ds.rows_dropped:
        row.update(rows_dropped=int(ds.rows_dropped), rows_dropped_reason=ds.rows_dropped_reason)
    if p.test_noise.rates:
        row["test_noise_mode"] = p.test_noise.mode
    return row


def _save_config(p: Plan) -> None:
    """The job's resolved config beside its points, atomically: the config of the job that wrote last,
    as the points' config hash is (a job that widens the curve's seeds or sizes rewrites it)."""
    path = p.study_dir / "configs" / f"{p.run_id}.yaml"
    text = OmegaConf.to_yaml(OmegaConf.create(p.config))
    if not path.exists() or path.read_text() != text:
        write_atomic(path, text)


_SAID: set = set()


def _say_once(note: str) -> None:
    if note not in _SAID:
        _SAID.add(note)
        print(f"mvd: {note}", file=sys.stderr, flush=True)


def run_curve(cfg=None, *, on_point: Optional[Callable[[dict, bool], None]] = None,
              prepared: Optional[Plan] = None) -> pd.DataFrame:
    """Fit every (seed, size) point of one curve not already stored; return all its points.

    ``prepared``: the curve's plan, when the caller has one; else ``cfg`` is
    planned.  ``on_point(point, skipped)`` is called after each point (for
    progress bars and loggers); skipped points come from the store.
    """
    p = prepared or plan(cfg)
    for note in p.notes:
        _say_once(note)
    ds = p.dataset
    store = CurveFile(p.study_dir, p.run_id)
    done = store.done()
    stored = {(int(r["seed"]), int(r["train_size"])): r for r in store.records}
    base = _base_row(p)
    saved = False  # the job's config, written beside its first new point
    with threadpool_limits(limits=p.threads):
        for seed in p.seeds:
            if all((seed, n) in done for n in p.sizes):
                for n in p.sizes:
                    on_point and on_point(stored[(seed, n)], True)
                continue
            pool, test = splits.split(ds.y, seed=seed, test_fraction=p.test_fraction, task=ds.task,
                                      test_index=ds.test_index)
            X_test, y_test = take(ds.X, test), ds.y[test]
            pooled = p.corruption.corrupt(take(ds.X, pool), ds.y[pool], ds, seed=seed)
            target = None
            if hasattr(p.cleaning, "wrap"):  # unlabelled rows of the pool before any shift (never the test set)
                unshifted = splits.nested_order(ds.y[pool], seed=seed, task=ds.task)[: p.cleaning.target_rows]
                target = take(ds.X, pool[np.sort(unshifted)])
            order = pooled.order if pooled.order is not None else splits.nested_order(pooled.y, seed=seed,
                                                                                      task=ds.task)
            for n in p.sizes:
                if (seed, n) in done:
                    on_point and on_point(stored[(seed, n)], True)
                    continue
                X_sub, y_sub, bad = pooled.subset(order, n)
                model = None
                if p.cleaning.needs_model:  # a model of the job, imputing if the subset has gaps
                    model = models.build(p.model, ds, seed=seed, missing=True if models.has_missing(X_sub) else None)
                keep, clean_info = p.cleaning.clean(X_sub, y_sub, bad, seed=seed, model=model)
                point = dict(base, seed=seed, train_size=n, n_fit=int(keep.sum()),
                             n_corrupted=int(bad.sum()), **pooled.info, **clean_info)
                extra = {"target": target} if target is not None else {}
                if ds.task == "classification":  # the pool's class counts: the head/torso/tail groups
                    extra["pool_counts"] = np.bincount(ds.y[pool], minlength=ds.n_classes)
                point.update(_fit_and_score(p, take(X_sub, np.flatnonzero(keep)), y_sub[keep],
                                            X_test, y_test, seed, **extra))
                point["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                if not saved:
                    _save_config(p)
                    saved = True
                store.append(point)
                on_point and on_point(point, False)
    return store.frame
