"""Benchmark: what more labels buy, forecast on real learning curves, against the simple rules.

    .venv/bin/python benchmarks/forecast_bench.py [--lcdb PATH/database-accuracy.csv] [--lcdb-datasets 40]
                                                  [--fit] [--no-family] [--interpolation] [--json OUT]
                                                  [--results DIR] [--spread-seed C] [--scale-size-power P]
                                                  [--blend-half W] [--quantile Q]

Corpus (real curves only; the synthetic families stay a unit test):
- LCDB 1.0 (Mohr et al. 2023; ``pip download lcdb==0.1.0 --no-deps`` and untar
  ``lcdb/database-accuracy.csv``): 20 scikit-learn learners on OpenML datasets,
  the five outer seeds (inner seed 0) as seeds, error = 1 - test accuracy;
  ``--lcdb-datasets K`` samples K datasets with seed 0 (default 40 of 248; 0 = all);
- every committed study's curves (``results/*/points``), accuracy-type metrics
  only (errors in points), each curve once.

Cut points: every measured size n of a curve where n/2 was measured (the last
doubling's gain is known; sizes between anchors are interpolated in log n)
and the target size was measured too (within 3%): the next doubling (x2),
two (x4) and three (x8) doublings, and a step (the next anchor, x1.2-x1.9).
The truth is always a measured mean.  Every rule predicts the gain (points;
positive = the error falls) from the sizes up to n only:

- ``forecast``: ``mvd.report.forecast`` (the gain model blended with half the
  last gain), every fitted constant (the model, the factor on later doublings,
  the interval scale and quantiles) refitted out of fold (5 folds grouped by
  dataset) so no dataset is scored by constants learned on itself; the blend's
  weight, the quantile and the interval's fixed shares are grid choices
  (``--blend-half``, ``--quantile``, ``--spread-seed``, ``--scale-size-power``);
- ``last``: zero gain (the ``last`` family);
- ``again``: the last doubling's gain again, for every doubling;
- ``half``: half of it, each doubling half the one before;
- ``family``: the report's family chosen by backtest (``families.choose``),
  grid fit (not polished) extrapolated.

Printed per rule: mean absolute error, bias (mean of forecast - truth),
"worth its price" accuracy (right about gain > 0.5 point), and for the
forecast its 80% and 95% interval coverage of the held-out means and median
width; grouped by reach, by model family, by curve regime and by size at the
cut (n <= 256, 256-2,048, > 2,048; alone and per regime).
Extrapolated crossings of two curves are scored against "the measured order
holds"; ``--interpolation`` checks the sizes inside the measured range only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mvd.report import families, forecast as fc

RULES = ("forecast", "last", "again", "half", "family")
REACH = {"x2": 2.0, "x4": 4.0, "x8": 8.0}
PRICE = 0.5          # "worth its price": a gain above 0.5 point
_TOL = 0.03
FOLDS = 5

_FAMILY = {  # model family of each learner
    "linear": ("logreg", "ridge", "SVC_linear", "LinearDiscriminantAnalysis", "LogisticRegression", "Perceptron",
               "PassiveAggressive", "RidgeClassifier", "SGDClassifier"),
    "trees": ("forest", "gbm", "lightgbm", "tree", "ExtraTrees", "GradientBoosting", "RandomForest",
              "DecisionTree", "ExtraTreeClassifier"),
    "kernel/neighbours": ("SVC_rbf", "SVC_poly", "SVC_sigmoid", "knn", "KNeighbors"),
    "bayes/QDA": ("nb", "BernoulliNB", "MultinomialNB", "QuadraticDiscriminant"),
    "neural": ("mlp", "cnn", "transformer", "MLPClassifier"),
    "dummy": ("dummy",),
}


def model_family(learner: str) -> str:
    base = learner.split(" (")[0]
    for fam, names in _FAMILY.items():
        if any(base == k or base.endswith("." + k) or k in base.split(".")[-1] for k in names):
            return fam
    return "other"


@dataclass
class Curve:
    source: str
    dataset: str
    learner: str
    n: np.ndarray
    wide: np.ndarray          # error in points, sizes x seeds
    mean: np.ndarray = field(init=False)

    def __post_init__(self):
        order = np.argsort(self.n)
        self.n, self.wide = np.asarray(self.n, float)[order], np.asarray(self.wide, float)[order]
        with np.errstate(invalid="ignore"):
            self.mean = np.nanmean(self.wide, axis=1)


def lcdb_corpus(path: str, datasets: int = 0, seed: int = 0) -> list[Curve]:
    frame = pd.read_csv(path, usecols=["openmlid", "learner", "size_train", "outer_seed", "inner_seed", "score_test"],
                        engine="pyarrow")
    frame = frame[frame["inner_seed"] == 0]
    ids = np.sort(frame["openmlid"].unique())
    if datasets:
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=min(datasets, len(ids)), replace=False))
        frame = frame[frame["openmlid"].isin(ids)]
    wide = frame.pivot_table(index=["openmlid", "learner", "size_train"], columns="outer_seed", values="score_test")
    out = []
    for (oid, learner), rows in wide.groupby(level=[0, 1], sort=True):
        rows = rows.dropna(axis=0, thresh=3)
        if len(rows) < 4:
            continue
        out.append(Curve("lcdb", f"openml-{oid}", learner.split(".")[-1], rows.index.get_level_values(2).to_numpy(float),
                         100.0 * (1.0 - rows.to_numpy(float))))
    return out


def study_corpus(root: str = "results") -> list[Curve]:
    from mvd import store
    from mvd.report.study import CURVE, LOWER_IS_BETTER, score_points

    out, seen = [], set()
    for study in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, study, "points")):
            continue
        ok, metric = score_points(store.load(os.path.join(root, study)))
        rate = [d for d, m in metric.items() if m not in LOWER_IS_BETTER and m != "r2"]
        ok = ok[ok["dataset"].isin(rate) & ~ok["quality"].astype(str).str.endswith("_mixed")]
        wide = ok.pivot_table(index=CURVE + ["train_size"], columns="seed", values="error")
        for key, rows in wide.groupby(level=list(range(len(CURVE))), sort=True):
            n = rows.index.get_level_values(-1).to_numpy(float)
            sig = (key, tuple(n), round(float(np.nanmean(rows.to_numpy())), 9))
            if len(n) < 4 or sig in seen:
                continue
            seen.add(sig)
            cond = "" if key[2] == "clean" and float(key[3]) == 0 and key[4] == "none" else f" {key[2]} {key[3]} {key[4]}"
            out.append(Curve(study, key[0], key[1] + cond, n, 100.0 * rows.to_numpy(float)))
    return out


def _find(n: np.ndarray, x: float) -> int | None:
    j = int(np.argmin(np.abs(np.log(n / x))))
    return j if abs(math.log(n[j] / x)) < _TOL else None


def cut_points(curves: list[Curve]) -> pd.DataFrame:
    """One row per (curve, cut, reach) with the measured truth and the visible gains."""
    rows = []
    for ci, c in enumerate(curves):
        fam = model_family(c.learner)
        for i in range(len(c.n)):
            if c.n[i] / 2 < c.n[0] * (1 - 1e-9):
                continue
            targets = {name: _find(c.n, c.n[i] * f) for name, f in REACH.items()}
            if i + 1 < len(c.n) and 1.2 <= c.n[i + 1] / c.n[i] <= 1.9:
                targets["step"] = i + 1
            targets = {k: j for k, j in targets.items() if j is not None and j > i}
            if not targets:
                continue
            g = fc.gains(c.n[:i + 1], c.wide[:i + 1])
            for reach, j in targets.items():
                diff = c.wide[i] - c.wide[j]
                ok = np.isfinite(diff)
                rows.append(dict(curve=ci, source=c.source, dataset=c.dataset, learner=c.learner, family_model=fam,
                                 n=c.n[i], target=c.n[j], factor=c.n[j] / c.n[i], reach=reach,
                                 truth=float(c.mean[i] - c.mean[j]),
                                 truth_se=float(np.std(diff[ok], ddof=1) / math.sqrt(ok.sum())) if ok.sum() > 1 else np.nan,
                                 level=g.level, last=g.last, last_se=g.last_se, before=g.before,
                                 before_se=g.before_se, regime=g.regime))
    return pd.DataFrame(rows)


def family_rule(curves: list[Curve], cuts: pd.DataFrame) -> np.ndarray:
    """The report's family (backtest-chosen, grid fit) extrapolated to each cut's target, batched by visible sizes."""
    pred = np.full(len(cuts), np.nan)
    keys = cuts[["curve", "n"]].drop_duplicates().to_numpy()
    groups: dict = {}
    for ci, n in keys:
        c = curves[int(ci)]
        vis = c.n <= n * (1 + 1e-9)
        if vis.sum() < 4:
            continue
        groups.setdefault(tuple(c.n[vis]), []).append(int(ci))
    index = {(int(ci), float(n)): [] for ci, n in keys}
    for r, (ci, n) in enumerate(zip(cuts["curve"].to_numpy(), cuts["n"].to_numpy())):
        index[(int(ci), float(n))].append(r)
    from mvd.report.fits import sigma_floor
    from mvd.report.aggregate import standard_error
    for sizes, members in groups.items():
        sizes = np.array(sizes)
        k = len(sizes)
        mean = np.stack([curves[m].mean[:k] for m in members])
        w = np.stack([1.0 / sigma_floor(standard_error(curves[m].wide[:k]), curves[m].mean[:k]) ** 2 for m in members])
        scores = families.backtest_scores(sizes, mean, w)
        chosen = [families.choose({f: scores[f][r] for f in families.FAMILIES}, families.noise_of(curves[m].wide[:k]))[0]
                  for r, m in enumerate(members)]
        for name in set(chosen):
            rows = [r for r, ch in enumerate(chosen) if ch == name]
            fits = families.fit(name, sizes, mean[rows], w[rows])
            for rr, r in enumerate(rows):
                m = members[r]
                for q in index[(m, float(sizes[-1]))]:
                    target = cuts["target"].iat[q]
                    one = families.Fits(name, fits.a[rr:rr + 1], fits.c[rr:rr + 1], fits.theta[rr:rr + 1],
                                        fits.last[rr:rr + 1])
                    pred[q] = float(mean[r, -1] - one.at([target])[0, 0])
    return pred


def _gain(cuts: pd.DataFrame, ratio) -> np.ndarray:
    """Geometric gain over log2(factor) doublings at ratio r (array or scalar), capped at the error left."""
    r = np.broadcast_to(np.asarray(ratio, dtype=float), (len(cuts),))
    k = np.log2(cuts["factor"].to_numpy())
    last = np.nan_to_num(cuts["last"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(np.abs(1 - r) < 1e-9, last * k, last * r * (1 - np.power(r, k)) / (1 - r))
    return np.minimum(total, np.maximum(cuts["level"].to_numpy(), 0.0))


def _fold(cuts: pd.DataFrame) -> np.ndarray:
    """Fold of each cut: datasets assigned to FOLDS folds by a fixed permutation."""
    names = np.sort(cuts["dataset"].unique())
    perm = np.random.default_rng(0).permutation(len(names))
    fold = dict(zip(names, perm % FOLDS))
    return cuts["dataset"].map(fold).to_numpy()


def _hat(x: np.ndarray, knots) -> np.ndarray:
    """Basis of ``np.interp(x, knots, values)``: one column per knot (flat beyond the ends)."""
    eye = np.eye(len(knots))
    return np.stack([np.interp(x, knots, eye[j]) for j in range(len(knots))], axis=1)


_DROP_LEVEL = 0                                   # the error-left term is 0 at L = 0
_DROP_BEFORE = fc.KNOTS_BEFORE.index(0.0)         # and the gain-before term at b = 0 (or unmeasured)


def _design(cuts: pd.DataFrame) -> np.ndarray:
    last = np.nan_to_num(cuts["last"].to_numpy())
    before = np.nan_to_num(cuts["before"].to_numpy())
    level = cuts["level"].to_numpy()
    return np.hstack([_hat(last, fc.KNOTS_LAST), np.delete(_hat(level, fc.KNOTS_LEVEL), _DROP_LEVEL, axis=1),
                      np.delete(_hat(before, fc.KNOTS_BEFORE), _DROP_BEFORE, axis=1)])


QUANTILE = 0.57       # the quantile the model is fitted as (``--quantile``; chosen by the bias it leaves)


def fit_model(cuts: pd.DataFrame, quantile: float | None = None, rows: int = 15000) -> dict:
    """The additive model's values: the quantile regression, on the basis, of what the next doubling gained beyond
    the blend's share of half the last gain, (truth - BLEND_HALF · half) / (1 - BLEND_HALF), so that the blend
    ``gain_over`` forecasts is the fitted quantile of the gain."""
    from sklearn.linear_model import QuantileRegressor

    one = cuts[(cuts["reach"] == "x2") & np.isfinite(cuts["truth"])]
    if len(one) > rows:
        one = one.iloc[np.sort(np.random.default_rng(0).choice(len(one), rows, replace=False))]
    w = fc.BLEND_HALF
    half = np.minimum(0.5 * np.maximum(np.nan_to_num(one["last"].to_numpy()), 0.0),
                      np.maximum(one["level"].to_numpy(), 0.0))
    target = (one["truth"].to_numpy() - w * half) / (1 - w)
    coef = QuantileRegressor(quantile=QUANTILE if quantile is None else quantile, alpha=0.0, fit_intercept=False,
                             solver="highs").fit(_design(one), target).coef_
    k1, k2 = len(fc.KNOTS_LAST), len(fc.KNOTS_LEVEL) - 1
    return {"VALUES_LAST": tuple(coef[:k1]), "VALUES_LEVEL": tuple(np.insert(coef[k1:k1 + k2], _DROP_LEVEL, 0.0)),
            "VALUES_BEFORE": tuple(np.insert(coef[k1 + k2:], _DROP_BEFORE, 0.0))}


def use(params: dict) -> None:
    """Set the forecast module's constants (the benchmark refits them per fold)."""
    for k, v in params.items():
        setattr(fc, k, v)


def predict_gain(cuts: pd.DataFrame) -> np.ndarray:
    ceiling = fc.flat_ceiling(cuts["regime"].to_numpy(), cuts["last_se"].to_numpy(), cuts["before_se"].to_numpy())
    return fc.gain_over(cuts["last"].to_numpy(), cuts["level"].to_numpy(), cuts["before"].to_numpy(),
                        cuts["factor"].to_numpy(), ceiling)


_KEY = {"step": 0.5, "x2": 1, "x4": 2, "x8": 3}
_MIN_CALIBRATE = 400     # cut points a regime needs for quantiles of its own (else it reads "all")


def fit_intervals(cuts: pd.DataFrame, pred: np.ndarray, levels=(0.8, 0.95)) -> dict:
    """s's coefficients (non-negative least squares of the squared residual on se², g² and
    L^LEVEL_POWER · (SIZE_REF / n)^SIZE_POWER), then the empirical quantiles of (truth - forecast) / s per reach,
    s with the seed noise's fixed share ``SPREAD_SEED`` added (``--spread-seed``)."""
    from scipy.optimize import nnls

    res = cuts["truth"].to_numpy() - pred
    along = (fc.SIZE_REF / np.maximum(cuts["n"].to_numpy(), fc.SIZE_REF)) ** fc.SIZE_POWER
    feats = np.stack([np.nan_to_num(cuts["last_se"].to_numpy()) ** 2, np.nan_to_num(cuts["last"].to_numpy()) ** 2,
                      np.maximum(cuts["level"].to_numpy(), 0.0) ** fc.LEVEL_POWER * along], axis=1)
    one = (cuts["reach"] == "x2").to_numpy() & np.isfinite(res)
    coef, _ = nnls(feats[one], res[one] ** 2)
    spread = dict(zip(("SPREAD_NOISE", "SPREAD_GAIN", "SPREAD_LEVEL"), np.sqrt(coef)))
    use(spread)
    s = np.maximum(fc._spread(cuts["last_se"].to_numpy(), cuts["last"].to_numpy(), cuts["level"].to_numpy(),
                              cuts["n"].to_numpy()), 1e-6)
    z = res / s
    quant = {lv: {} for lv in levels}
    regimes = cuts["regime"].to_numpy()
    for regime in ("all",) + fc.REGIMES:
        mine = np.ones(len(cuts), bool) if regime == "all" else regimes == regime
        if regime != "all" and mine.sum() < _MIN_CALIBRATE:
            continue
        for reach, key in _KEY.items():
            m = mine & (cuts["reach"] == reach).to_numpy() & np.isfinite(z)
            for lv in levels:
                quant[lv].setdefault(regime, {})[key] = (float(np.quantile(z[m], (1 - lv) / 2)),
                                                         float(np.quantile(z[m], (1 + lv) / 2)))
    return {**spread, "QUANTILES": quant}


def _bounds(cuts: pd.DataFrame, pred: np.ndarray, levels=(0.8, 0.95)) -> dict:
    s = fc._spread(cuts["last_se"].to_numpy(), cuts["last"].to_numpy(), cuts["level"].to_numpy(),
                   cuts["n"].to_numpy())
    k = np.log2(cuts["factor"].to_numpy())
    out = {lv: np.full((len(cuts), 2), np.nan) for lv in levels}
    doublings = np.where(cuts["reach"].to_numpy() == "step", 0.5, k)
    for regime in fc.REGIMES:
        m = (cuts["regime"] == regime).to_numpy()
        for lv in levels:
            lo, hi = fc.residual_quantiles(lv, doublings[m], regime)
            out[lv][m] = np.stack([pred[m] + lo * s[m], pred[m] + hi * s[m]], axis=1)
    return out


def fit_further(cuts: pd.DataFrame) -> dict:
    """FURTHER: the factor on each doubling after the first (two and three doublings ahead) that leaves their
    forecasts without bias, on a grid of 0.01 (the model is fitted on next doublings alone and, applied to its own
    forecasts, under-predicts the later ones)."""
    far = cuts[cuts["reach"].isin(["x4", "x8"]) & np.isfinite(cuts["truth"])].reset_index(drop=True)
    truth = far["truth"].to_numpy()

    def bias(a):
        use({"FURTHER": float(a)})
        return abs(float(np.mean(predict_gain(far) - truth)))

    best = min(np.round(np.arange(0.8, 1.61, 0.01), 2), key=bias)
    use({"FURTHER": float(best)})
    return {"FURTHER": float(best)}


def fit_all(cuts: pd.DataFrame) -> dict:
    params = fit_model(cuts)
    use(params)
    params.update(fit_further(cuts))
    return {**params, **fit_intervals(cuts, predict_gain(cuts))}


def forecast_rule(cuts: pd.DataFrame) -> dict:
    """Out-of-fold forecast: the model and its interval quantiles fitted on the other folds' datasets."""
    saved = {k: getattr(fc, k) for k in ("VALUES_LAST", "VALUES_LEVEL", "VALUES_BEFORE", "FURTHER", "SPREAD_NOISE",
                                         "SPREAD_GAIN", "SPREAD_LEVEL", "QUANTILES")}
    fold = _fold(cuts)
    pred = np.full(len(cuts), np.nan)
    bounds = {lv: np.full((len(cuts), 2), np.nan) for lv in (0.8, 0.95)}
    try:
        for f in range(FOLDS):
            train, test = fold != f, fold == f
            use(fit_all(cuts[train].reset_index(drop=True)))
            pred[test] = predict_gain(cuts[test])
            for lv, b in _bounds(cuts[test], pred[test]).items():
                bounds[lv][test] = b
    finally:
        use(saved)
    return {"pred": pred, "bounds": bounds}


def score(cuts: pd.DataFrame, preds: dict, bounds: dict | None = None) -> dict:
    truth = cuts["truth"].to_numpy()
    out = {"cuts": int(len(cuts))}
    for name, p in preds.items():
        ok = np.isfinite(p) & np.isfinite(truth)
        err = p[ok] - truth[ok]
        out[name] = {"mae": float(np.mean(np.abs(err))) if ok.any() else None,
                     "bias": float(np.mean(err)) if ok.any() else None,
                     "worth": float(np.mean((p[ok] > PRICE) == (truth[ok] > PRICE))) if ok.any() else None}
    if bounds:
        for lv, b in bounds.items():
            ok = np.isfinite(b).all(axis=1)
            inside = (b[ok, 0] <= truth[ok]) & (truth[ok] <= b[ok, 1])
            out["forecast"][f"cover{int(lv * 100)}"] = float(inside.mean()) if ok.any() else None
            out["forecast"][f"width{int(lv * 100)}"] = float(np.median(b[ok, 1] - b[ok, 0])) if ok.any() else None
    return out


def _table(title: str, groups: dict) -> str:
    lines = [f"\n{title}", f"{'group':<26}{'cuts':>7}  " + "  ".join(f"{r:>17}" for r in RULES)
             + "   cover80 cover95 width80 width95"]
    lines.append(f"{'':<26}{'':>7}  " + "  ".join(f"{'MAE bias worth':>17}" for _ in RULES))
    for name, s in groups.items():
        cells = []
        for r in RULES:
            v = s.get(r) or {}
            cells.append("       –         " if v.get("mae") is None else
                         f"{v['mae']:5.2f} {v['bias']:+5.2f} {100 * v['worth']:4.0f}%")
        f = s.get("forecast") or {}
        cov = "".join(f"{'–' if f.get(k) is None else (f'{100 * f[k]:.1f}%' if 'cover' in k else f'{f[k]:.2f}'):>8}"
                      for k in ("cover80", "cover95", "width80", "width95"))
        lines.append(f"{str(name):<26}{s['cuts']:>7}  " + "  ".join(f"{c:>17}" for c in cells) + "  " + cov)
    return "\n".join(lines)


SIZE_BANDS = ("n <= 256", "256 < n <= 2048", "n > 2048")


def size_band(n: np.ndarray) -> np.ndarray:
    """Each cut's size band (``SIZE_BANDS``): conditional coverage, not only the corpus average."""
    return np.where(n <= 256, SIZE_BANDS[0], np.where(n <= 2048, SIZE_BANDS[1], SIZE_BANDS[2]))


def report(cuts: pd.DataFrame, preds: dict, bounds: dict) -> dict:
    def sub(mask):
        return score(cuts[mask].reset_index(drop=True), {k: v[mask] for k, v in preds.items()},
                     {lv: b[mask] for lv, b in bounds.items()})

    one = (cuts["reach"] == "x2").to_numpy()
    result = {"by_reach": {r: sub((cuts["reach"] == r).to_numpy()) for r in ("x2", "step", "x4", "x8")},
              "by_family": {f: sub(one & (cuts["family_model"] == f).to_numpy())
                            for f in sorted(cuts["family_model"].unique())},
              "by_regime": {g: sub(one & (cuts["regime"] == g).to_numpy()) for g in fc.REGIMES
                            if (one & (cuts["regime"] == g).to_numpy()).any()},
              "by_source": {s: sub(one & (cuts["source"] == s).to_numpy()) for s in sorted(cuts["source"].unique())}}
    band = size_band(cuts["n"].to_numpy())
    result["by_size"] = {b: sub(one & (band == b)) for b in SIZE_BANDS if (one & (band == b)).any()}
    result["by_size_regime"] = {f"{g} {b}": sub(one & (band == b) & (cuts["regime"] == g).to_numpy())
                                for g in fc.REGIMES for b in SIZE_BANDS
                                if (one & (band == b) & (cuts["regime"] == g).to_numpy()).any()}
    print(_table("next doubling (x2), a step, two and three doublings", result["by_reach"]))
    print(_table("next doubling, by model family", result["by_family"]))
    print(_table("next doubling, by curve regime at the cut", result["by_regime"]))
    print(_table("next doubling, by source", result["by_source"]))
    print(_table("next doubling, by size at the cut", result["by_size"]))
    print(_table("next doubling, by regime and size at the cut", result["by_size_regime"]))
    return result


def crossings(cuts: pd.DataFrame, preds: dict) -> dict:
    """Pairs of curves on the same data (dataset, condition) cut at the same size n: where a rule's forecasts of the
    two errors at the target size reverse the order measured at n (a crossing), how often the truth reversed too,
    against "the measured order holds" on the same pairs.  Pairs whose measured errors tie at n or at the target
    are left out."""
    cond = cuts["learner"].str.partition(" ")[2]
    keys = [cuts["source"], cuts["dataset"], cond, cuts["n"], cuts["reach"]]
    level = cuts["level"].to_numpy()
    truth_err = level - cuts["truth"].to_numpy()
    out = {}
    for rule, gain in preds.items():
        pred_err = level - gain
        crossed = right = pairs = held = 0
        for _, idx in cuts.groupby(keys, sort=False).indices.items():
            if len(idx) < 2:
                continue
            i, j = np.triu_indices(len(idx), 1)
            a, b = idx[i], idx[j]
            d0, dt, df = level[a] - level[b], truth_err[a] - truth_err[b], pred_err[a] - pred_err[b]
            ok = (d0 != 0) & (dt != 0) & np.isfinite(df)
            cross = ok & (np.sign(df) != np.sign(d0)) & (df != 0)
            pairs += int(ok.sum())
            held += int((ok & (np.sign(dt) == np.sign(d0))).sum())
            crossed += int(cross.sum())
            right += int((cross & (np.sign(df) == np.sign(dt))).sum())
        out[rule] = {"pairs": pairs, "crossings": crossed, "crossings_right": right,
                     "share_right": right / crossed if crossed else None,
                     "order_held": held / pairs if pairs else None}
    return out


def order_held(cuts: pd.DataFrame) -> dict:
    """How often the order of two curves measured at the cut held at the target, per reach and per band of the
    lead at the cut (``forecast.ORDER_BANDS``, points of error): the same pairs as ``crossings``; the report's
    ``forecast.ORDER_HELD``."""
    cond = cuts["learner"].str.partition(" ")[2]
    keys = [cuts["source"], cuts["dataset"], cond, cuts["n"], cuts["reach"]]
    level, reach = cuts["level"].to_numpy(), cuts["reach"].to_numpy()
    truth_err = level - cuts["truth"].to_numpy()
    parts = []
    for _, idx in cuts.groupby(keys, sort=False).indices.items():
        if len(idx) < 2:
            continue
        i, j = np.triu_indices(len(idx), 1)
        a, b = idx[i], idx[j]
        d0, dt = level[a] - level[b], truth_err[a] - truth_err[b]
        ok = (d0 != 0) & (dt != 0) & np.isfinite(dt)
        parts.append(pd.DataFrame({"reach": reach[a][ok], "lead": np.abs(d0[ok]),
                                   "held": np.sign(dt[ok]) == np.sign(d0[ok])}))
    pairs = pd.concat(parts)
    pairs["band"] = np.searchsorted(fc.ORDER_BANDS, np.round(pairs["lead"].to_numpy(), 9), side="left")
    table = pairs.groupby(["reach", "band"])["held"].agg(["mean", "size"])
    return {r: [(round(float(table.loc[(r, b), "mean"]), 3), int(table.loc[(r, b), "size"]))
                for b in range(len(fc.ORDER_BANDS) + 1)] for r in ("step", "x2", "x4", "x8")}


def interpolation(curves: list[Curve], source: str = "atlas", seed: int = 0) -> dict:
    """Inside the measured sizes: leave out up to two interior anchors per curve (with at least 6 sizes) and
    read them off the backtest-chosen family and off linear interpolation in log n between the neighbours."""
    from mvd.report.aggregate import standard_error
    from mvd.report.fits import sigma_floor

    rng = np.random.default_rng(seed)
    family, linear, chosen = [], [], {}
    for c in curves:
        if c.source != source or len(c.n) < 6:
            continue
        for i in rng.choice(np.arange(2, len(c.n) - 1), size=min(2, len(c.n) - 3), replace=False):
            keep = np.arange(len(c.n)) != i
            n, m, wide = c.n[keep], c.mean[keep], c.wide[keep]
            w = 1.0 / sigma_floor(standard_error(wide), m) ** 2
            name, _ = families.choose(families.backtest_scores(n, m, w), families.noise_of(wide))
            fitted = families.polish(families.fit(name, n, m[None], w), n, m[None], w).at([c.n[i]])[0, 0]
            family.append(abs(fitted - c.mean[i]))
            linear.append(abs(np.interp(np.log(c.n[i]), np.log(n), m) - c.mean[i]))
            chosen[name] = chosen.get(name, 0) + 1
    return {"anchors": len(family), "family_mae": float(np.mean(family)), "family_median": float(np.median(family)),
            "linear_mae": float(np.mean(linear)), "linear_median": float(np.median(linear)), "chosen": chosen}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lcdb", help="path of LCDB's database-accuracy.csv")
    p.add_argument("--lcdb-datasets", type=int, default=40, help="sample this many LCDB datasets (seed 0); 0 = all")
    p.add_argument("--results", default="results")
    p.add_argument("--fit", action="store_true", help="print the constants fitted on the whole corpus")
    p.add_argument("--no-family", action="store_true", help="skip the report's family rule (the slow one)")
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--spread-seed", type=float, help="SPREAD_SEED for this run (chosen on a grid by coverage)")
    p.add_argument("--scale-size-power", type=float,
                   help="SCALE_SIZE_POWER for this run (chosen on a grid by coverage per size band)")
    p.add_argument("--blend-half", type=float, help="BLEND_HALF for this run (chosen on a grid by MAE)")
    p.add_argument("--quantile", type=float, help=f"the quantile the model is fitted as (default {QUANTILE})")
    p.add_argument("--interpolation", action="store_true",
                   help="only the check inside the measured sizes (the atlas's curves), then stop")
    args = p.parse_args()
    start = time.perf_counter()
    if args.spread_seed is not None:
        use({"SPREAD_SEED": args.spread_seed})
    if args.scale_size_power is not None:
        use({"SCALE_SIZE_POWER": args.scale_size_power})
    if args.blend_half is not None:
        use({"BLEND_HALF": args.blend_half})
    if args.quantile is not None:
        globals()["QUANTILE"] = args.quantile
    curves = study_corpus(args.results)
    if args.interpolation:
        print("inside the measured sizes:", json.dumps(interpolation(curves)), f"({time.perf_counter() - start:.0f} s)")
        return
    if args.lcdb:
        curves += lcdb_corpus(args.lcdb, args.lcdb_datasets)
    cuts = cut_points(curves)
    print(f"corpus: {len(curves)} curves ({sum(c.source == 'lcdb' for c in curves)} LCDB) on "
          f"{cuts['dataset'].nunique()} datasets; {len(cuts)} cut points "
          f"({(cuts['reach'] == 'x2').sum()} next doublings) ({time.perf_counter() - start:.0f} s)", flush=True)
    t = time.perf_counter()
    out = forecast_rule(cuts)
    preds = {"forecast": out["pred"], "last": np.zeros(len(cuts)), "again": _gain(cuts, 1.0),
             "half": _gain(cuts, 0.5)}
    if not args.no_family:
        preds["family"] = family_rule(curves, cuts)
        print(f"family rule: {time.perf_counter() - t:.0f} s", flush=True)
    else:
        preds["family"] = np.full(len(cuts), np.nan)
    result = report(cuts, preds, out["bounds"])
    result["crossings"] = crossings(cuts, {k: v for k, v in preds.items() if k in ("forecast", "again", "half", "family")})
    print("\nextrapolated crossings of two curves on the same data (x2, step, x4, x8 together):")
    for rule, c in result["crossings"].items():
        share = "–" if c["share_right"] is None else f"{100 * c['share_right']:.1f}%"
        print(f"  {rule:<9} {c['crossings']:>6} of {c['pairs']} pairs forecast to cross; right on {share} "
              f"(the measured order holds on the other {100 - float(share[:-1]) if share != '–' else '–'}%)")
    held = result["crossings"]["forecast"]["order_held"]
    print(f"  the order measured at the cut still held at the target on {100 * held:.1f}% of all pairs")
    result["order_held"] = order_held(cuts)
    print("  by reach and lead at the cut (forecast.ORDER_HELD: share held, pairs; bands up to "
          f"{', '.join(f'{b:g}' for b in fc.ORDER_BANDS)} points, then beyond):")
    for reach, row in result["order_held"].items():
        print(f"    {reach:<4} " + "  ".join(f"{share:.3f} ({k:,})" for share, k in row))
    if args.fit:
        params = fit_all(cuts)
        print("\nconstants for src/mvd/report/forecast.py, fitted on the whole corpus:")
        for k, v in params.items():
            if k == "QUANTILES":
                v = {lv: {g: {key: (round(a, 3), round(b, 3)) for key, (a, b) in t.items()} for g, t in q.items()}
                     for lv, q in v.items()}
                print(f"{k} = {v}")
            elif isinstance(v, tuple):
                print(f"{k} = ({', '.join(f'{x:.3f}' for x in v)})")
            else:
                print(f"{k} = {v:.3f}")
    print(f"\n{time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
