"""Hyperparameter search for one point, inside its training subset only.

A model upgrade in practice comes with tuning, so a ladder of library
defaults understates the "mind".  ``tune`` searches a model's space with
Optuna (TPE sampler seeded from the point's seed, median pruning over the
inner folds) and scores each trial by an inner stratified K-fold
cross-validation of the rows it is given -- the caller hands it the training
subset and nothing else, then refits the best parameters on the whole subset.

The search space is plain data, as written in a model's YAML::

    C: {low: 0.001, high: 1000, log: true}     # float (int when low and high are ints)
    weights: {choices: [uniform, distance]}      # categorical; any YAML value, lists too

The estimator's own values are tried first (when they lie in the space), so
the search starts from the default curve's model.  With ``trials`` as the
budget the search is reproducible on CPU; a ``timeout`` caps wall-clock time
but makes the number of trials depend on the machine.

Where fits are cheap (subsets of at most ``small_n`` rows, opt-in) the inner
CV holds out one twentieth instead of one K-th: with two folds of 45 rows
the inner fits see 22 rows, where a default that needs 20 rows per leaf
cannot split although it splits on the whole subset, so any trial that
splits "beats" the default and loses to it on the test split (LightGBM's
default still loses on 40-row fits of 45 rows; on 42-43 it does not).  The
search then costs 20 / K times as many fits, recorded in the point's tuning
columns (``tune_folds``, ``tune_seconds``, ``tune_note``).
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from mvd.errors import ConfigError

__all__ = ["tune", "settle", "tune_point", "check_space", "check_budget", "check_keep", "check_small_n", "inner_folds",
           "small_n_folds", "configure", "SCORERS", "SMALL_N_FOLDS"]

# mvd's metric names -> scikit-learn scorers (all greater-is-better; losses are negated)
SCORERS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "macro_f1": "f1_macro",
    "log_loss": "neg_log_loss",
    "roc_auc": "roc_auc_ovr",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}
_MIN_FOLDS = 2
# inner folds at a small subset (tuning.small_n): each inner fit trains on 95% of the subset
SMALL_N_FOLDS = 20


def _final(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _param_names(estimator) -> set:
    """Every constructor argument: get_params() plus the signature (CatBoost lists only set ones)."""
    est = _final(estimator)
    names = set(est.get_params(deep=False))
    try:
        names |= {p for p in inspect.signature(type(est).__init__).parameters
                  if p not in ("self", "args", "kwargs")}
    except (TypeError, ValueError):
        pass
    return names


def _is_num(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_space(estimator, space: dict, *, key: str = "model.search") -> None:
    """Refuse, in one sentence, a space the estimator cannot take (before any work)."""
    if not space:
        raise ConfigError(f"{key} is empty: {type(_final(estimator)).__name__} has nothing to tune; "
                          f"declare ranges in the model's `search:` or turn tuning off (tuning=none).")
    allowed = _param_names(estimator)
    for name, spec in space.items():
        where = f"{key}.{name}"
        if name not in allowed:
            raise ConfigError(f"{where} is not a parameter of {type(_final(estimator)).__name__}; "
                              f"allowed: {', '.join(sorted(allowed))}.")
        if not isinstance(spec, dict) or not ({"low", "high"} <= set(spec) or "choices" in spec):
            raise ConfigError(f"{where}={spec!r} must be {{low, high[, log]}} or {{choices: [...]}}.")
        extra = set(spec) - {"low", "high", "log", "choices"}
        if extra:
            raise ConfigError(f"{where} has unknown key(s) {sorted(extra)}; allowed: low, high, log, choices.")
        if "choices" in spec:
            if {"low", "high"} & set(spec):
                raise ConfigError(f"{where} gives both choices and a range; give one of them.")
            if not isinstance(spec["choices"], (list, tuple)) or not spec["choices"]:
                raise ConfigError(f"{where}.choices={spec['choices']!r} must be a non-empty list.")
            continue
        low, high = spec["low"], spec["high"]
        if not (_is_num(low) and _is_num(high)):
            raise ConfigError(f"{where} has low={low!r}, high={high!r}; both must be numbers.")
        if not low < high:
            raise ConfigError(f"{where} has low={low} >= high={high}: an empty or inverted range; "
                              f"give low < high.")
        if spec.get("log") and low <= 0:
            raise ConfigError(f"{where} has log: true with low={low}; a log range needs low > 0.")


def check_keep(value, *, key: str = "tuning.keep_default_within") -> None:
    """Refuse a margin for keeping the model's own values that is not a number >= 0 (null: off)."""
    if value is not None and (not _is_num(value) or not math.isfinite(value) or value < 0):
        raise ConfigError(f"{key}={value!r} must be a number of standard errors >= 0 (1 is the one-standard-"
                          f"error rule), or null to let the best trial win.")


def check_small_n(value, *, key: str = "tuning.small_n") -> None:
    """Refuse a small-subset bound that is not a positive whole number of rows (null: off)."""
    if value is not None and (not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{key}={value!r} must be a positive number of rows (subsets up to it are tuned with "
                          f"{SMALL_N_FOLDS} inner folds), or null to use tuning.folds at every size.")


def check_budget(trials: int | None, timeout: float | None, folds: int, *, key: str = "tuning") -> None:
    """Refuse a budget that cannot run one trial, or fewer than two inner folds."""
    if trials is None and timeout is None:
        raise ConfigError(f"{key}.trials and {key}.timeout are both null; give a number of trials "
                          f"(reproducible) and/or a time cap in seconds.")
    if trials is not None and (not isinstance(trials, numbers.Integral) or trials < 1):
        raise ConfigError(f"{key}.trials={trials!r} must be a positive number of trials (or null with a timeout).")
    if timeout is not None and (not _is_num(timeout) or timeout <= 0):
        raise ConfigError(f"{key}.timeout={timeout!r} must be a positive number of seconds (or null).")
    if not isinstance(folds, numbers.Integral) or folds < _MIN_FOLDS:
        raise ConfigError(f"{key}.folds={folds!r} must be an integer >= {_MIN_FOLDS}.")


def inner_folds(y, folds: int, task: str, *, shrink: bool = True) -> tuple[int, str]:
    """The number of inner folds at this subset, and a note when it had to shrink.

    Stratified K-fold wants every class in every fold: k is cut to the
    smallest class count (never below 2).  A class with a single row then
    sits in one validation fold only; with fewer than 4 rows, or one class,
    no two-fold split exists and the search is refused.  When every class
    has a single row (26 letters at n = 16) no stratified split exists at
    all: k is 0 and the note says the model's own values are kept.
    """
    y = np.asarray(y)
    n = len(y)
    if task == "classification":
        counts = np.unique(y, return_counts=True)[1]
        if len(counts) < 2:
            raise ValueError(f"inner cross-validation needs two classes; the subset of {n} rows has one.")
        cap, why = int(counts.min()), f"its smallest class has {int(counts.min())} row(s)"
    else:
        cap, why = n // 2, f"it has {n} rows"
    if n < 2 * _MIN_FOLDS:
        raise ValueError(f"inner cross-validation needs at least {2 * _MIN_FOLDS} rows; the subset has {n}.")
    if cap >= folds:
        return folds, ""
    if task == "classification" and counts.max() < _MIN_FOLDS:
        if not shrink:
            raise ValueError(f"no stratified split of {n} rows exists: every class has one row (shrinking is off).")
        return 0, f"no inner split: each of the {n} rows is its own class's only row, so the model's own values are kept"
    if not shrink:
        raise ValueError(f"{folds} inner folds do not fit a subset of {n} rows: {why} (shrinking is off).")
    k = max(_MIN_FOLDS, cap)
    if k == folds:
        return k, f"a class has {cap} row: it sits in one of the {k} validation folds only"
    return k, f"{folds} inner folds shrunk to {k}: {why}"


def small_n_folds(y, task: str) -> tuple[int, bool, str]:
    """Inner folds at a small subset: (k, stratified, note).

    ``SMALL_N_FOLDS`` folds (at most n // 2, so a validation fold has two
    rows), stratified when the smallest class has a row for every fold, else
    plain shuffled K-fold: stratifying would cut k to the smallest class
    (4 at 45 rows of digits) and the inner fits back below the size where the
    default can split.  Then a class can be missing from a validation fold.
    """
    y = np.asarray(y)
    n = len(y)
    if n < 2 * _MIN_FOLDS:
        raise ValueError(f"inner cross-validation needs at least {2 * _MIN_FOLDS} rows; the subset has {n}.")
    k = max(_MIN_FOLDS, min(SMALL_N_FOLDS, n // 2))
    fit = f"each fit on at least {n - -(-n // k)} of {n} rows"
    if task != "classification":
        return k, False, f"small subset: {k} inner folds, {fit}"
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2:
        raise ValueError(f"inner cross-validation needs two classes; the subset of {n} rows has one.")
    stratified = int(counts.min()) >= k
    how = "stratified" if stratified else f"not stratified: the smallest class has {int(counts.min())} row(s)"
    return k, stratified, f"small subset: {k} inner folds ({how}), {fit}"


def _encode(choices: list) -> tuple[list, dict]:
    """Optuna takes None/bool/int/float/str choices; others (lists) travel as JSON strings."""
    if all(c is None or isinstance(c, (bool, int, float, str)) for c in choices):
        return list(choices), {}
    keys = [json.dumps(c) for c in choices]
    return keys, dict(zip(keys, choices))


def _suggest(trial, name: str, spec: dict):
    if "choices" in spec:
        keys, decode = _encode(list(spec["choices"]))
        value = trial.suggest_categorical(name, keys)
        return decode.get(value, value) if decode else value
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
        return trial.suggest_int(name, int(low), int(high), log=log)
    return trial.suggest_float(name, float(low), float(high), log=log)


def _start(estimator, space: dict) -> dict:
    """The estimator's current values that lie inside the space (tried as the first trial)."""
    current = _final(estimator).get_params(deep=False)
    start = {}
    for name, spec in space.items():
        if name not in current:
            continue
        value = current[name]
        if "choices" in spec:
            keys, decode = _encode(list(spec["choices"]))
            value = list(value) if isinstance(value, tuple) else value
            key = json.dumps(value) if decode else value
            if key in keys:
                start[name] = key
        elif _is_num(value) and spec["low"] <= value <= spec["high"]:
            start[name] = value
    return start


def configure(estimator, params: dict):
    """A clone of ``estimator`` (or of a pipeline's final step) with ``params`` set."""
    est = clone(estimator)
    _final(est).set_params(**params)
    return est


def tune(estimator, space: dict, X, y, *, trials: int | None = 20, timeout: float | None = None,
         folds: int = 3, seed: int = 0, task: str = "classification", metric: str = "accuracy",
         shrink_folds: bool = True, prune: bool = True,
         keep_default_within: float | None = None, small_n: int | None = None) -> tuple[dict, dict]:
    """Search ``space`` by inner K-fold CV on (X, y); return the best parameters and what it cost.

    ``estimator`` may be a Pipeline: preprocessing is refitted inside every
    inner fold and the space names the final step's parameters.  The
    returned parameters are keyed as in ``space``; ``info`` holds the
    inner-CV score of the best trial (in the metric's own sign), the trial
    counts, the folds used (and why they shrank), the wall-clock seconds and
    the part of them spent outside fitting and scoring (the library's
    overhead).  If every trial fails, the estimator's own values are kept.

    With ``keep_default_within`` = z, the estimator's own values (the first
    trial) are kept unless the best trial's inner-CV mean beats theirs by more
    than z standard errors of the best trial's fold scores: the one-standard-
    error rule (Hastie et al., ESL 7.10) with the untuned model as the simple
    one.  At small n the best of a few noisy trials is often a winner's curse.

    With ``small_n`` = m, a subset of at most m rows is cross-validated with
    ``SMALL_N_FOLDS`` folds instead of ``folds`` (``small_n_folds``): inner
    fits close to the subset's size, for (20 / folds) times the fits.
    """
    check_keep(keep_default_within)
    check_small_n(small_n)
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - exercised through the config check
        raise ConfigError("tuning needs Optuna; install it with `pip install 'mvd[tune]'`.") from exc
    check_space(estimator, space)
    check_budget(trials, timeout, folds)
    if metric not in SCORERS:
        raise ConfigError(f"tuning metric {metric!r} is unknown; allowed: {', '.join(SCORERS)}.")
    y = np.asarray(y)
    if small_n is not None and len(y) <= small_n:
        k, stratified, note = small_n_folds(y, task)
    else:
        k, note = inner_folds(y, folds, task, shrink=shrink_folds)
        stratified = task == "classification"
    if k == 0:
        return {}, {"trials": 0, "pruned": 0, "failed": 0, "folds": 0, "folds_note": note, "seconds": 0.0,
                    "overhead_seconds": 0.0, "score": float("nan")}
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a one-row class: StratifiedKFold warns, and splits the rest
        warnings.simplefilter("ignore")
        cv = list(splitter.split(np.zeros(len(y)), y))
    name = SCORERS[metric]
    if metric == "roc_auc" and task == "classification" and len(np.unique(y)) == 2:
        name = "roc_auc"
    scorer = get_scorer(name)
    sign = -1.0 if name.startswith("neg_") else 1.0
    busy = [0.0]  # seconds inside fit and score

    def objective(trial) -> float:
        params = {p: _suggest(trial, p, spec) for p, spec in space.items()}
        scores = []
        for step, (fit_idx, val_idx) in enumerate(cv):
            start = time.perf_counter()
            try:
                est = configure(estimator, params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(_safe_indexing(X, fit_idx), y[fit_idx])
                    scores.append(float(scorer(est, _safe_indexing(X, val_idx), y[val_idx])))
            except Exception:  # a fold that cannot be fitted or scored fails the trial, not the point
                return float("nan")
            finally:
                busy[0] += time.perf_counter() - start
            trial.report(float(np.mean(scores)), step)
            if prune and trial.should_prune():
                raise optuna.TrialPruned()
        trial.set_user_attr("scores", scores)
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    budget = trials if trials is not None else 10
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(3, min(10, budget // 3)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    first = _start(estimator, space)
    if first:
        study.enqueue_trial(first)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN objective values are logged as failed trials
        study.optimize(objective, n_trials=trials, timeout=timeout, catch=())
    seconds = time.perf_counter() - start
    states = [t.state for t in study.trials]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    info = {
        "trials": len(study.trials),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "failed": states.count(optuna.trial.TrialState.FAIL),
        "folds": k,
        "folds_note": note,
        "seconds": seconds,
        "overhead_seconds": max(0.0, seconds - busy[0]),
        "score": float("nan"),
    }
    if not done:
        info["folds_note"] = _and(note, "every trial failed: the model's own values are kept")
        return {}, info
    best = study.best_trial
    own = study.trials[0]
    if first and len(first) == len(space) and own.state == optuna.trial.TrialState.COMPLETE:
        # how far the best trial leads the model's own values, in units of the best trial's fold spread
        scores = np.asarray(best.user_attrs["scores"])
        info["lead"] = float(best.value - own.value)
        info["lead_se"] = float(scores.std(ddof=1) / np.sqrt(len(scores)))  # a completed trial ran k >= 2 folds
        if keep_default_within is not None and best.number != own.number \
                and info["lead"] <= keep_default_within * info["lead_se"]:
            best = own
            info["folds_note"] = _and(note, f"the model's own values kept: the best trial led them by "
                                            f"{info['lead']:.3g}, within {keep_default_within:g} SE "
                                            f"({info['lead_se']:.3g}) of its inner-CV score")
    info["score"] = sign * float(best.value)
    params = {p: _suggest_value(best.params[p], space[p]) for p in space if p in best.params}
    return params, info


def _and(note: str, more: str) -> str:
    """A tuning note with one more remark."""
    return "; ".join(part for part in (note, more) if part)


def _suggest_value(value, spec: dict):
    """A stored trial value back to what the estimator takes (JSON-encoded choices decoded)."""
    if "choices" in spec:
        keys, decode = _encode(list(spec["choices"]))
        return decode.get(value, value) if decode else value
    return value


def settle(settings: dict, *, space: dict, estimator, y_smallest, task: str, model: str,
           notes: list) -> dict | None:
    """A job's tuning, checked before any work: the plain settings a point needs, or None (untuned).

    ``settings`` are the ``tuning`` config's values, ``space`` the model's
    ``search``, ``estimator`` the model's bare estimator and ``y_smallest``
    the labels of the smallest training subset (its folds are checked here).
    """
    name = settings.get("name", "none")
    if name == "none":
        return None
    if name != "optuna":
        raise ConfigError(f"tuning={name!r} is unknown; allowed: none, optuna.")
    untunable = settings.get("untunable", "refuse")
    if untunable not in ("refuse", "default"):
        raise ConfigError(f"tuning.untunable={untunable!r} is unknown; allowed: refuse, default.")
    if not space and untunable == "default":
        notes.append(f"model={model!r} has nothing to tune: its default curve runs (tuning.untunable=default).")
        return None
    if not space:
        raise ConfigError(f"model={model!r} has nothing to tune (model.search is empty); use tuning=none for it, "
                          f"or tuning.untunable=default to run its default curve.")
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("tuning=optuna needs Optuna, which is not installed; pip install 'mvd[tune]'.") from None
    check_space(estimator, space)
    trials, timeout, folds = settings.get("trials"), settings.get("timeout"), settings.get("folds", 3)
    check_budget(trials, timeout, folds)
    keep = settings.get("keep_default_within")
    check_keep(keep)
    small_n = settings.get("small_n")
    check_small_n(small_n)
    shrink = bool(settings.get("shrink_folds", True))
    try:
        if small_n is not None and len(y_smallest) <= small_n:
            k, _, note = small_n_folds(y_smallest, task)
        else:
            k, note = inner_folds(y_smallest, folds, task, shrink=shrink)
    except ValueError as exc:
        raise ConfigError(f"tuning.folds={folds} cannot split the smallest training subset "
                          f"({len(y_smallest)} rows): {str(exc).rstrip('.')}; lower tuning.folds, raise the "
                          f"smallest curve size{'' if shrink else ' or set tuning.shrink_folds=true'}.") from None
    if note:
        notes.append(f"tuning at {len(y_smallest)} rows: {note}" + ("." if k == 0 else " (fewer where a class is smaller)."))
    return {"space": dict(space), "trials": trials, "timeout": timeout, "folds": int(folds), "shrink_folds": shrink,
            "keep_default_within": keep, "small_n": small_n}


def tune_point(pipe, settings: dict, X, y, *, seed: int, task: str, metric: str):
    """Tune ``pipe`` on one training subset: the pipeline with the best parameters, and the point's columns."""
    best, info = tune(pipe, settings["space"], X, y, trials=settings["trials"], timeout=settings["timeout"],
                      folds=settings["folds"], seed=seed, task=task, metric=metric,
                      shrink_folds=settings["shrink_folds"], keep_default_within=settings.get("keep_default_within"),
                      small_n=settings.get("small_n"))
    columns = {
        "tuned": True,
        "tune_trials": int(info["trials"]),
        "tune_seconds": float(info["seconds"]),
        "tune_params": json.dumps(best, sort_keys=True, default=str),
        "tune_score": float(info["score"]),
        "tune_folds": int(info["folds"]),
        "tune_overhead_seconds": float(info["overhead_seconds"]),
        "tune_note": info["folds_note"],
    }
    return configure(pipe, best), columns
