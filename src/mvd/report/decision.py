"""The decision at the user's operating point: what the next unit of effort buys.

A team has ``n_now`` labelled rows of some quality and a current model.  Per
dataset, ``decide`` measures the marginal gain of every lever the study can
speak to, from that point:

- more labels: twice the data (and the user's own ``step``, e.g. +5,000 labels),
  at the same quality, with the same model;
- a model upgrade: the next rung of the sophistication ladder and the best
  rung at ``n_now``, default and tuned where the study has both, and tuning
  the current model;
- each cleaning method the study measured, and relabelling (clean data) when
  the current data are noisy;
- the combinations the study measured (the best rung with each data lever).

A gain is the primary metric's improvement (metric points: x100 for rates
such as accuracy) with an interval from the seed resamples, paired across
levers.  Where a lever's size was not measured, the value comes from the
curve's family chosen by backtest (``families``): interpolated inside the
measured range, extrapolated beyond it (and said so).  Each lever is priced
with the business costs (new labels, cleaning per row, compute including
tuning time) into points per unit of money and value per 1,000 decisions.

``decide(points, ...)`` is pure and fast (no fitting beyond the curves the
levers touch): the adaptive sweeper calls it between rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mvd.errors import ConfigError
from mvd.report import families
from mvd.report.aggregate import SeedResamples, cells, standard_error
from mvd.report.business import seconds_at
from mvd.report.fits import sigma_floor
from mvd.report.study import CURVE, LOWER_IS_BETTER, TUNED_SUFFIX, SHIFT_KINDS, check_business, clean_counterpart, mixed_pool, score_points

__all__ = ["Lever", "Decision", "decide", "operating_defaults", "condition_label", "hidden", "revealed",
           "EXTRAPOLATION_RESAMPLES"]

CONFIDENCE = 0.95
# the kind of answer a lever gives to "mind or data?"
ROUTE = {"labels": "more data", "step": "more data", "cleaning": "cleaner data", "relabel": "cleaner data",
         "model": "a better model", "tune": "a better model", "combined": "cleaner data and a better model"}
EXTRAPOLATION_RESAMPLES = 100


def condition_label(q) -> str:
    """'clean', 'label_noise 0.4' or 'label_noise 0.4 +confident_learning'."""
    base = "clean" if float(q[1]) == 0 else f"{q[0]} {float(q[1]):g}"
    return base if q[2] == "none" else f"{base} +{q[2]}"


@dataclass
class Lever:
    """One lever at the operating point: its gain with an interval, its price and its value."""

    name: str
    kind: str                 # labels | step | model | tune | cleaning | relabel | combined
    model: str
    data: tuple               # (quality, quality_rate, cleaning) after the lever
    n: float                  # training size after the lever
    gain: float               # metric points gained (positive = better)
    ci_low: float
    ci_high: float
    extrapolated: bool        # the value after the lever lies beyond the curve's measured sizes
    family: str | None        # curve family used where the size was not measured
    new_labels: float = 0.0
    cost: float | None = None
    compute_hours: float = 0.0
    points_per_money: float | None = None
    value_per_1000: float | None = None
    resampled: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"lever": self.name, "kind": self.kind, "model": self.model, "quality": self.data[0],
                "quality_rate": float(self.data[1]), "cleaning": self.data[2], "n": float(self.n),
                "gain": self.gain, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "extrapolated": bool(self.extrapolated), "family": self.family, "new_labels": self.new_labels,
                "cost": self.cost, "compute_hours": self.compute_hours,
                "points_per_money": self.points_per_money, "value_per_1000": self.value_per_1000}


@dataclass
class Decision:
    """The operating-point decision of one dataset."""

    dataset: str
    metric: str
    unit: str                 # "points" (x100 of a rate) or the metric's own unit
    n_now: float
    data: tuple
    model: str
    score_now: float
    now_extrapolated: bool
    levers: list
    chosen: str | None        # the lever that buys the most
    advantage: float | None   # its gain minus the runner-up's, with a paired interval
    advantage_low: float | None
    advantage_high: float | None
    settled: bool             # the chosen lever beats every other (interval above 0)
    cheapest: str | None      # the most points per unit of money among levers that gain
    currency: str
    without_tuning: str | None = None  # the biggest gain among levers on default rungs (studies that tune)
    sentence: str = ""
    _context: tuple | None = field(default=None, repr=False)   # what ``hidden`` and ``revealed`` re-decide from

    def lever(self, name: str) -> Lever | None:
        return next((lv for lv in self.levers if lv.name == name), None)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "metric": self.metric, "unit": self.unit, "n_now": float(self.n_now),
                "data": {"quality": self.data[0], "quality_rate": float(self.data[1]), "cleaning": self.data[2]},
                "model": self.model, "score_now": self.score_now, "now_extrapolated": self.now_extrapolated,
                "levers": [lv.to_dict() for lv in self.levers], "chosen": self.chosen,
                "advantage": self.advantage, "advantage_ci_low": self.advantage_low,
                "advantage_ci_high": self.advantage_high, "settled": self.settled, "cheapest": self.cheapest,
                "currency": self.currency, "without_tuning": self.without_tuning, "sentence": self.sentence}

    @property
    def tuning_changed(self) -> bool | None:
        """Whether tuning changed which lever wins; None when the study tunes nothing."""
        return None if self.without_tuning is None else self.without_tuning != self.chosen

    @property
    def tuning_changed_route(self) -> bool | None:
        """Whether tuning changed the kind of answer (more data, cleaner data, a better model), not only
        which model; None when the study tunes nothing."""
        if self.without_tuning is None:
            return None
        return ROUTE[self.lever(self.chosen).kind] != ROUTE[self.lever(self.without_tuning).kind]


# ---------------------------------------------------------------- the curves the levers read


@dataclass
class _Curve:
    key: tuple
    n: np.ndarray            # measured sizes, ascending
    wide: np.ndarray         # error per (size, seed)
    mean: np.ndarray
    weight: np.ndarray
    tuned: bool
    sophistication: int
    fit_seconds: np.ndarray
    tune_seconds: np.ndarray
    _family: tuple | None = None

    @property
    def model(self):
        return self.key[1]

    @property
    def condition(self):
        return tuple(self.key[2:])

    def family(self) -> tuple:
        """(family, runner-up, its backtest error), chosen once per curve."""
        if self._family is None:
            if len(self.n) >= 4:
                scores = families.backtest_scores(self.n, self.mean, self.weight)
                name, runner = families.choose(scores, families.noise_of(self.wide))
                err = scores.get(name, float("nan"))
                self._family = (name, runner, err if math.isfinite(err) else 0.0)
            else:
                self._family = ("pow3" if len(self.n) >= 3 else "last", None, 0.0)
        return self._family


def _curves(points: pd.DataFrame) -> dict:
    table = cells(points, ("error", "fit_seconds", "tune_seconds"))
    idx = table.index
    ladder = points.groupby("model", sort=True)["sophistication"].max().astype(int).to_dict()
    tuned = points.groupby("model", sort=True)["tuned"].max().astype(bool).to_dict() if "tuned" in points \
        else {}
    means = {c: (table.mean(c) if c in table.wide else np.zeros(len(idx))) for c in ("fit_seconds", "tune_seconds")}
    out = {}
    for key, rows in idx.groupby(CURVE, sort=True).indices.items():
        rows = np.sort(rows)
        wide = table.wide["error"][rows]
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(wide, axis=1)
            se = standard_error(wide)
        weight = 1.0 / sigma_floor(se, mean) ** 2
        secs = {c: means[c][rows] for c in means}
        out[key] = _Curve(key=key, n=idx["train_size"].to_numpy()[rows].astype(float), wide=wide, mean=mean,
                          weight=weight, tuned=bool(tuned.get(key[1], False) or key[1].endswith(TUNED_SUFFIX)),
                          sophistication=int(ladder[key[1]]), fit_seconds=np.nan_to_num(secs["fit_seconds"]),
                          tune_seconds=np.nan_to_num(secs["tune_seconds"]))
    return out, table.seeds


@dataclass
class _Value:
    point: float
    resampled: np.ndarray     # (U,)
    extra: float              # standard deviation beyond the seed resamples (extrapolation only)
    extrapolated: bool
    family: str | None


def _value(curve: _Curve, n: float, rs: SeedResamples, seeds) -> _Value:
    """Mean error of ``curve`` at size ``n``: measured where it was, else from its backtested family."""
    i = int(np.searchsorted(curve.n, n))
    if i < len(curve.n) and abs(curve.n[i] - n) < 1e-9:
        return _Value(float(curve.mean[i]), rs.means(curve.wide[i:i + 1], seeds)[:, 0], 0.0, False, None)
    name, runner, bt = curve.family()
    ex = families.predict(curve.n, curve.wide, seeds, curve.weight, [n], rs, family=name, runner_up=runner,
                          backtest_error=bt)
    resampled = ex.resampled[:, 0]
    # the part of the deviation that the seed resamples do not carry (future noise, family, backtest error)
    extra = math.sqrt(max(float(ex.scale[0]) ** 2 - float(ex.spread[0]) ** 2, 0.0)) if ex.dof >= 1 else 0.0
    return _Value(float(ex.error[0]), resampled, extra, bool(ex.extrapolated[0]), name)


# ---------------------------------------------------------------- defaults and checks


def operating_defaults(curves: dict, dataset: str) -> tuple:
    """The study's noisiest uncleaned condition when it varies quality, else clean data."""
    conditions = sorted({c.condition for c in curves.values() if c.key[0] == dataset and not mixed_pool(c.condition)})
    noisy = sorted((q for q in conditions if float(q[1]) > 0 and q[2] == "none"), key=lambda q: (-float(q[1]), q[0]))
    if noisy:
        return noisy[0]
    clean = [q for q in conditions if (q[0] == "clean" or float(q[1]) == 0) and q[2] == "none"]
    return (clean or conditions)[0]


def _baseline(curves: dict, dataset: str, condition: tuple) -> str:
    """The untuned model of sophistication 1 (the lowest >= 1; ties by name) on that condition."""
    ladder = sorted({(c.sophistication, c.model) for c in curves.values()
                     if c.key[0] == dataset and c.condition == condition and not c.tuned})
    if not ladder:
        ladder = sorted({(c.sophistication, c.model) for c in curves.values()
                         if c.key[0] == dataset and c.condition == condition})
    above = [r for r in ladder if r[0] >= 1]
    return (above or ladder)[0][1]


def _parse_data(data, conditions: list) -> tuple | None:
    if data is None:
        return None
    if isinstance(data, dict):
        q = (data.get("quality", "clean"), float(data.get("quality_rate", data.get("rate", 0.0)) or 0.0),
             data.get("cleaning", "none"))
    elif isinstance(data, str):
        q = next((c for c in conditions if condition_label(c) == data), (data, float("nan"), "none"))
    else:
        q = (data[0], float(data[1]), data[2] if len(data) > 2 else "none")
    return q


def _check_price(business: dict, key: str, lever: str):
    value = business.get(key)
    if value is None:
        raise ConfigError(f"business.{key} is missing (null), so the lever {lever!r} has no price; "
                          f"set it to a number >= 0, e.g. business.{key}=0.1.")
    return float(value)


# ---------------------------------------------------------------- the decision


def decide(points: pd.DataFrame, *, n_now: float | None = None, data=None, model: str | None = None,
           step: float | None = None, business: dict | None = None, bootstrap: int = 200, seed: int = 0,
           datasets=None, cleaning_cost_per_row: dict | None = None, metric: dict | None = None) -> dict:
    """The operating-point decision per dataset: ``{dataset: Decision}``.

    ``points`` are a study's stored points (``store.load`` or ``study.load_points``).
    ``n_now`` (default: the largest measured size of the current curve), ``data``
    (a (quality, rate, cleaning) tuple, a dict with those keys or a condition
    label such as 'label_noise 0.4'; default: the noisiest uncleaned condition
    when quality varies, else clean data), ``model`` (default: the model of
    sophistication 1) and ``step`` (extra labels, besides doubling) describe the
    operating point; ``business`` prices the levers (defaults filled in).
    ``metric`` ({dataset: primary metric}) marks ``points`` as already scored
    (``study.score_points``), which skips scoring them again.
    Bad input raises ``ConfigError`` in one sentence.
    """
    if n_now is not None and not (isinstance(n_now, (int, float)) and math.isfinite(n_now) and n_now > 0):
        raise ConfigError(f"verdict.n_now={n_now!r} must be a positive number of labelled rows, e.g. 724.")
    if step is not None and not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise ConfigError(f"verdict.step={step!r} must be a positive number of extra labels, e.g. 5000.")
    business = check_business(business or {})
    costs = dict(cleaning_cost_per_row or {})
    if metric is None or "error" not in points:
        ok, metric = score_points(points)
    else:
        ok = points                       # already scored (the report passes its study's points)
    if "tuned" not in ok:
        ok = ok.assign(tuned=False)
    curves, seeds = _curves(ok)
    out = {}
    names = sorted(ok["dataset"].unique()) if datasets is None else list(datasets)
    for name in names:
        rows = ok[ok["dataset"] == name]
        # the first (at most) EXTRAPOLATION_RESAMPLES draws of the report's seed resamples: every lever's
        # gain is paired over the same draws, and refitting curve families stays cheap
        rs = SeedResamples(rows["seed"].unique(), n=min(bootstrap, EXTRAPOLATION_RESAMPLES), seed=seed)
        out[name] = _decide_one(curves, seeds, rs, name, metric[name], n_now=n_now, data=data, model=model,
                                step=step, business=business, costs=costs)
        out[name]._context = (curves, seeds, rs, metric[name], dict(data=data, model=model, step=step,
                                                                     business=business, costs=costs))
    return out


def hidden(decision: "Decision", cut: float) -> "Decision":
    """The same decision made at n_now = ``cut`` from only the sizes up to ``cut`` (the rest hidden)."""
    curves, seeds, rs, metric, kw = decision._context
    short = {}
    for key, c in curves.items():
        keep = c.n <= cut * (1 + 1e-9)
        if keep.any():
            short[key] = _Curve(key=key, n=c.n[keep], wide=c.wide[keep], mean=c.mean[keep], weight=c.weight[keep],
                                tuned=c.tuned, sophistication=c.sophistication, fit_seconds=c.fit_seconds[keep],
                                tune_seconds=c.tune_seconds[keep])
    return _decide_one(short, seeds, rs, decision.dataset, metric, n_now=cut, **kw)


def revealed(decision: "Decision", cut: float) -> "Decision":
    """The decision at n_now = ``cut`` from every size of the study."""
    curves, seeds, rs, metric, kw = decision._context
    return _decide_one(curves, seeds, rs, decision.dataset, metric, n_now=cut, **kw)


def _decide_one(curves, seeds, rs, name, metric, *, n_now, data, model, step, business, costs) -> Decision:
    mine = {k: c for k, c in curves.items() if k[0] == name}
    conditions = sorted({c.condition for c in mine.values()})
    q = _parse_data(data, conditions) or operating_defaults(mine, name)
    if q not in conditions:
        raise ConfigError(f"verdict.data={condition_label(q) if math.isfinite(q[1]) else q[0]!r} is not a data "
                          f"condition of dataset {name!r}; allowed: {', '.join(condition_label(c) for c in conditions)}.")
    models = sorted({c.model for c in mine.values() if c.condition == q})
    current = model if model is not None else _baseline(mine, name, q)
    if current not in models:
        raise ConfigError(f"verdict.model={current!r} has no curve on {condition_label(q)} data of dataset {name!r}; "
                          f"allowed: {', '.join(models)}.")
    base = mine[(name, current) + q]
    n = float(base.n.max() if n_now is None else n_now)
    if n < base.n.min():
        raise ConfigError(f"verdict.n_now={n:g} is below the smallest measured size {base.n.min():g} of {current} on "
                          f"{condition_label(q)} data of dataset {name!r}; choose a size from {base.n.min():g} up.")
    higher = metric not in LOWER_IS_BETTER
    scale = 100.0 if higher and metric != "r2" else 1.0
    unit = "points" if scale == 100.0 else metric
    now = _value(base, n, rs, seeds)

    levers: list[Lever] = []

    def add(lever_name, kind, curve, size, new_labels, label_price, rows_priced=0.0, row_price=0.0):
        v = _value(curve, size, rs, seeds)
        gain_r = (now.resampled - v.resampled) * scale
        point = (now.point - v.point) * scale
        extra = math.hypot(now.extra, v.extra) * scale
        if v.extrapolated or now.extrapolated or extra > 0:
            k = max(len(rs.seeds), 2)
            q_ = stats.t.ppf(0.5 + CONFIDENCE / 2, df=k - 1)
            sd = float(np.nanstd(gain_r[rs.inverse])) * math.sqrt(k / (k - 1)) if len(rs.seeds) > 1 else 0.0
            width = q_ * math.hypot(sd, extra)
            lo, hi = (point - width, point + width) if len(rs.seeds) > 1 or extra > 0 else (math.nan, math.nan)
        else:
            low, high = rs.interval(gain_r[:, None])
            lo, hi = float(low[0]), float(high[0])
        hours = (_seconds(curve, size) + _tune_seconds(curve, size)) / 3600.0
        cost = new_labels * label_price + rows_priced * row_price
        cost += hours * _check_price(business, "cost_per_compute_hour", lever_name)
        lever = Lever(name=lever_name, kind=kind, model=curve.model, data=curve.condition, n=size, gain=point,
                      ci_low=lo, ci_high=hi, extrapolated=bool(v.extrapolated or now.extrapolated),
                      family=v.family, new_labels=float(new_labels), cost=cost, compute_hours=hours,
                      resampled=gain_r)
        lever.points_per_money = point / cost if cost > 0 else None
        lever.value_per_1000 = _money_per_1000(point / scale, metric, business)
        levers.append(lever)

    label = lambda lever_name: _check_price(business, "cost_per_label", lever_name)  # noqa: E731
    add(f"the next {n:,.0f} labels", "labels", base, 2 * n, n, label(f"the next {n:,.0f} labels"))
    if step is not None:
        add(f"+{step:,.0f} labels", "step", base, n + step, step, label(f"+{step:,.0f} labels"))

    # model levers: next and best rung, default and tuned, and tuning the current model
    here = [c for c in mine.values() if c.condition == q and c.model != current]
    plain = current[:-len(TUNED_SUFFIX)] if current.endswith(TUNED_SUFFIX) else current
    switch = {}
    for tuned in (False, True):
        group = [c for c in here if c.tuned == tuned and c.model != plain + TUNED_SUFFIX]
        up = sorted((c for c in group if c.sophistication > base.sophistication), key=lambda c: (c.sophistication, c.model))
        if up:
            switch[up[0].model] = up[0]
        if group:
            best = min(group, key=lambda c: (_value(c, n, rs, seeds).point, c.model))
            switch[best.model] = best
    own = mine.get((name, plain + TUNED_SUFFIX) + q)
    if own is not None and not base.tuned:
        add(f"tuning {current}", "tune", own, n, 0.0, 0.0)
    for other in sorted(switch.values(), key=lambda c: (c.sophistication, c.model)):
        add(f"switching {current} -> {other.model}", "model", other, n, 0.0, 0.0)

    # data-quality levers on the current model, and the best rung combined with each
    noisy = float(q[1]) > 0
    data_levers, clean = [], []
    for c in sorted(mine.values(), key=lambda c: c.key):
        if c.model != current or c.condition == q or mixed_pool(c.condition):
            continue
        if c.condition[:2] == q[:2] and c.condition[2] != "none" and q[2] == "none":
            data_levers.append(("cleaning", c.condition))
        elif noisy and float(c.condition[1]) == 0 and c.condition[2] == "none":
            clean.append(c.condition)
    if clean:  # one clean lever
        data_levers.append(("relabel", clean_counterpart(clean, q)))
    best_switch = min(switch.values(), key=lambda c: (_value(c, n, rs, seeds).point, c.model)) if switch else None
    for kind, cond in data_levers:
        method = cond[2]
        if kind == "relabel" or method == "oracle":
            price_key = "cost_per_clean_label" if business.get("cost_per_clean_label") is not None else "cost_per_label"
            row_price = _check_price(business, price_key, "relabelling")
            title = ("cleaning: oracle (every label reviewed)" if kind != "relabel" else
                     f"{n:,.0f} rows from the target distribution instead" if q[0] in SHIFT_KINDS else
                     "relabelling every row")
        else:
            row_price = float(costs.get(method, 0.0))
            title = f"cleaning: {method}"
        add(title, kind, mine[(name, current) + cond], n, 0.0, 0.0, rows_priced=n, row_price=row_price)
        if best_switch is not None and (name, best_switch.model) + cond in mine:
            add(f"{title} + switching {current} -> {best_switch.model}", "combined",
                mine[(name, best_switch.model) + cond], n, 0.0, 0.0, rows_priced=n, row_price=row_price)

    return _conclude(name, metric, unit, n, q, current, now, levers, rs, business, scale)


def _seconds(curve: _Curve, n: float) -> float:
    """Fit time of one training run at size n."""
    return seconds_at(curve.n, curve.fit_seconds, n)


def _tune_seconds(curve: _Curve, n: float) -> float:
    secs = curve.tune_seconds
    ok = np.isfinite(secs) & (secs > 0)
    if not ok.any():
        return 0.0
    i = int(np.argmin(np.abs(np.log(curve.n[ok]) - np.log(max(n, 1.0)))))
    return float(secs[ok][i])


def _money_per_1000(gain: float, metric: str, business: dict) -> float | None:
    """Value per 1,000 decisions of a gain in the primary metric (one price per error, or per unit of error)."""
    if metric in ("accuracy", "balanced_accuracy"):
        return 1000.0 * gain * (float(business["value_correct"]) + float(business["cost_error"]))
    if metric in ("mae", "rmse"):
        return 1000.0 * gain * float(business["cost_per_unit_error"])
    return None


def _conclude(name, metric, unit, n, q, current, now, levers, rs, business, scale) -> Decision:
    ranked = sorted(levers, key=lambda lv: (-lv.gain, lv.name))
    chosen = ranked[0] if ranked else None
    adv = lo = hi = None
    settled = False
    if chosen is not None:
        if len(ranked) > 1:
            runner = ranked[1]
            diff = chosen.resampled - runner.resampled
            adv = chosen.gain - runner.gain
            extra = 0.0
            for lv in (chosen, runner):
                if lv.extrapolated and math.isfinite(lv.ci_high):
                    k = max(len(rs.seeds), 2)
                    qt = stats.t.ppf(0.5 + CONFIDENCE / 2, df=k - 1)
                    sd = float(np.nanstd(lv.resampled[rs.inverse])) * math.sqrt(k / (k - 1))
                    extra = math.hypot(extra, math.sqrt(max(((lv.ci_high - lv.gain) / qt) ** 2 - sd**2, 0.0)))
            if len(rs.seeds) > 1:
                k = len(rs.seeds)
                qt = stats.t.ppf(0.5 + CONFIDENCE / 2, df=k - 1)
                sd = float(np.nanstd(diff[rs.inverse])) * math.sqrt(k / (k - 1))
                if extra > 0:
                    lo, hi = adv - qt * math.hypot(sd, extra), adv + qt * math.hypot(sd, extra)
                else:
                    l_, h_ = rs.interval(diff[:, None])
                    lo, hi = float(l_[0]), float(h_[0])
                settled = bool(lo > 0)
        else:
            adv, lo, hi = chosen.gain, chosen.ci_low, chosen.ci_high
            settled = bool(math.isfinite(lo) and lo > 0)
    paying = [lv for lv in levers if lv.gain > 0 and lv.cost is not None]
    free = [lv for lv in paying if lv.cost == 0]
    cheapest = (max(free, key=lambda lv: (lv.gain, lv.name)) if free else
                max(paying, key=lambda lv: (lv.points_per_money, lv.name)) if paying else None)
    untuned = [lv for lv in ranked if not _tuned(lv)]
    d = Decision(dataset=name, metric=metric, unit=unit, n_now=n, data=q, model=current,
                 score_now=(1 - now.point) if metric not in LOWER_IS_BETTER else now.point,
                 now_extrapolated=now.extrapolated, levers=levers, chosen=chosen.name if chosen else None,
                 advantage=adv, advantage_low=lo, advantage_high=hi, settled=settled,
                 cheapest=cheapest.name if cheapest else None, currency=str(business.get("currency", "")),
                 without_tuning=untuned[0].name if untuned and len(untuned) < len(ranked) else None)
    d.sentence = sentence(d)
    return d


def _tuned(lv: Lever) -> bool:
    """A lever that rests on a tuned model: tuning the current one, or a switch to a tuned rung."""
    return lv.kind == "tune" or lv.model.endswith(TUNED_SUFFIX)


def _signed(v: float, digits: int = 1) -> str:
    return "?" if v is None or not math.isfinite(v) else f"{v:+.{digits}f}".replace("-", "−")


def _interval(lv: Lever, digits: int = 1) -> str:
    if lv.ci_low is None or not math.isfinite(lv.ci_low):
        return ""
    return f" [{lv.ci_low:.{digits}f}, {lv.ci_high:.{digits}f}]".replace("-", "−")


def _headline(d: Decision) -> list:
    """The levers a reader weighs first: more labels, the user's step, the best model switch, the best
    data-quality lever and the best measured combination (each the biggest gain of its kind)."""
    shown = []
    for kinds in (("labels",), ("step",), ("model", "tune"), ("cleaning", "relabel"), ("combined",)):
        group = [lv for lv in d.levers if lv.kind in kinds]
        if group:
            shown.append(max(group, key=lambda lv: (lv.gain, lv.name)))
    return shown


def sentence(d: Decision) -> str:
    """The decision as one sentence: what each kind of lever buys, with intervals, the cheapest per point,
    and whether the biggest gain is settled."""
    digits = 1 if d.unit == "points" else 3
    unit = "points" if d.unit == "points" else d.metric
    where = f"At n = {d.n_now:,.0f} on {d.dataset} ({d.model}, {condition_label(d.data)} data"
    where += ", beyond the measured sizes)" if d.now_extrapolated else ")"
    if not d.levers:
        return f"{where}, the study measured no lever to compare."
    clauses = []
    for i, lv in enumerate(_headline(d)):
        verb = "buy" if lv.kind in ("labels", "step") else "buys"
        text = f"{lv.name} {verb} {_signed(lv.gain, digits)}{' ' + unit if i == 0 else ''}{_interval(lv, digits)}"
        if lv.extrapolated:
            text += f" (extrapolated, {lv.family} curve)"
        clauses.append(text)
    out = f"{where}, " + "; ".join(clauses)
    cheap = d.lever(d.cheapest) if d.cheapest else None
    if cheap is None:
        out += "; no lever gains"
    else:
        bought = f"{_signed(cheap.gain, digits)}{_interval(cheap, digits)}"
        price = "no new cost" if cheap.cost == 0 else \
            f"{cheap.cost / cheap.gain:.3g} {d.currency} per {unit[:-1] if unit == 'points' else unit}"
        out += f"; cheapest per point: {cheap.name} ({bought}, {price})"
    if d.chosen is not None and len(d.levers) > 1:
        ci = ("" if d.advantage_low is None or not math.isfinite(d.advantage_low) else
              f" [{d.advantage_low:.{digits}f}, {d.advantage_high:.{digits}f}]".replace("-", "−"))
        out += (f"; the biggest gain, {d.chosen}, is {'settled' if d.settled else 'not settled'} "
                f"(ahead of the next lever by {_signed(d.advantage, digits)}{ci})")
    if d.tuning_changed:
        alt = d.lever(d.without_tuning)
        what = "the answer" if d.tuning_changed_route else "the model, not the answer"
        out += (f"; tuning changed {what}: on default rungs only the biggest gain is {alt.name} "
                f"({_signed(alt.gain, digits)}{_interval(alt, digits)})")
    elif d.tuning_changed is False:
        out += "; tuning did not change the answer"
    return out + "."
