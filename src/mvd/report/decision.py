"""The decision at the user's operating point: what the next unit of effort buys.

A team has ``n_now`` labelled rows of some quality and a current model.  Per
dataset, ``decide`` measures the marginal gain of every lever the study can
speak to from that point (``mvd.levers.levers_at``: more labels, the user's
step, tuning, every other model, each cleaning method, relabelling or rows
from the target distribution, and each data lever combined with each model).
A model and its tuned version are one lever: the better of the two (the
untuned one unless tuning gains at least one test example), saying whether
tuning mattered.

A gain is the primary metric's improvement (metric points: x100 for rates
such as accuracy) with an interval from the seed resamples, paired across
levers.  Where a lever's size was not measured, the value comes from the
curve's family chosen by backtest (``families``): interpolated inside the
measured range, extrapolated beyond it (and said so).  Each lever is priced
with the business costs (new labels, reviewed rows, cleaning per row, compute
including tuning time) into points per unit of money and value per 1,000
decisions.

Two gains that differ by less than one test example (100 / n_test points
for a rate; float noise for other metrics) are a tie: ties are listed, and
the chosen lever among tied ones is the cheapest (then the least compute,
untuned before tuned), never the first name.  The chosen lever is *settled*
when its lead over the best lever of every other kind of answer (a better
model, more data, cleaner data, target data, both) is at least one test
example and its interval excludes 0; a runner-up of the same kind does not
unsettle it.

``decide(points, ...)`` is pure and fast (no fitting beyond the curves the
levers touch): the adaptive sweeper calls it between rounds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from mvd.errors import ConfigError
from mvd.levers import ANSWER, KINDS, LOWER_IS_BETTER, Condition, CurveKey, LeverSpec, baseline_model, \
    condition_label, levers_at, operating_condition, tie_tolerance
from mvd.report import families, forecast
from mvd.report.aggregate import TEST_DRAWS, SeedResamples, cells, clip_to_range, standard_error
from mvd.report.business import seconds_at
from mvd.report.fits import sigma_floor
from mvd.report.study import CURVE, check_business, score_points

__all__ = ["Lever", "Decision", "Lead", "decide", "operating_defaults", "condition_label", "hidden", "revealed",
           "test_size", "EXTRAPOLATION_RESAMPLES", "CONFIDENCE", "ANSWER"]

CONFIDENCE = 0.95
EXTRAPOLATION_RESAMPLES = 100


@dataclass
class Lever:
    """One lever at the operating point: its gain with an interval, its price and its value."""

    name: str
    kind: str                 # labels | step | tune | model | cleaning | relabel | target | combined
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
    spec: LeverSpec | None = field(default=None, repr=False)
    # the model's other version (tuned or default) where the study has both, and whether tuning mattered
    # (the tuned version leads the default by at least one test example)
    alternative: Optional["Lever"] = field(default=None, repr=False)
    tuning_mattered: bool | None = None
    clipped: bool = False     # the interval was held inside the metric's range (aggregate.clip_to_range)

    @property
    def answer(self) -> str:
        """The kind of answer the lever gives: 'a better model', 'more data', 'cleaner data', ..."""
        return ANSWER[self.kind]

    @property
    def key(self):
        """The lever's typed key (kind, model family, condition): the same whichever version it rests on."""
        return self.spec.key

    @property
    def tuned(self) -> bool:
        """Whether the lever rests on a tuned model (tuning the current one, or a tuned version)."""
        return self.kind == "tune" or CurveKey.at("", self.model, self.data).tuned

    def to_dict(self) -> dict:
        return {"lever": self.name, "kind": self.kind, "answer": self.answer, "model": self.model,
                "quality": self.data[0], "quality_rate": float(self.data[1]), "cleaning": self.data[2],
                "n": float(self.n), "gain": self.gain, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "extrapolated": bool(self.extrapolated), "family": self.family, "new_labels": self.new_labels,
                "cost": self.cost, "compute_hours": self.compute_hours,
                "points_per_money": self.points_per_money, "value_per_1000": self.value_per_1000,
                "tuning_mattered": self.tuning_mattered, "clipped": bool(self.clipped),
                "alternative": None if self.alternative is None else
                {"lever": self.alternative.name, "model": self.alternative.model, "gain": self.alternative.gain,
                 "ci_low": self.alternative.ci_low, "ci_high": self.alternative.ci_high}}


@dataclass(frozen=True)
class Lead:
    """The chosen lever's lead over one rival, with its paired interval."""

    lever: str
    advantage: float
    low: float
    high: float
    settled: bool             # the lead is at least one test example and its interval excludes 0

    def to_dict(self) -> dict:
        return {"lever": self.lever, "advantage": self.advantage, "ci_low": self.low, "ci_high": self.high,
                "settled": self.settled}


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
    chosen: str | None        # the lever that buys the most (the cheapest of tied ones)
    advantage: float | None   # its lead over the best lever of another kind of answer, with a paired interval
    advantage_low: float | None
    advantage_high: float | None
    settled: bool             # the lead over the best lever of every other kind of answer excludes 0
    cheapest: str | None      # the most points per unit of money among levers that gain
    currency: str
    without_tuning: str | None = None  # the biggest gain among levers on default rungs (studies that tune)
    sentence: str = ""
    ties: list = field(default_factory=list)            # levers whose gain ties the chosen one's
    settled_against: dict = field(default_factory=dict)  # other answer -> Lead over its best lever
    tie_tolerance: float = 0.0  # gains closer than this (one test example) are a tie
    rival: str | None = None  # the best lever of another kind of answer: ``advantage`` is the lead over it
    n_test: float | None = None
    # where the chosen rung was measured only below n_now: its lead, where both were measured, over the rung whose
    # order is least sure to hold, and how often such an order held that far on real curves (``forecast.order_held``)
    ranking: dict | None = None
    _context: tuple | None = field(default=None, repr=False)   # what ``hidden`` and ``revealed`` re-decide from

    def lever(self, name: str) -> Lever | None:
        """The lever of that display name, or the other version (tuned or default) of a model lever."""
        for lv in self.levers:
            if lv.name == name:
                return lv
            if lv.alternative is not None and lv.alternative.name == name:
                return lv.alternative
        return None

    def find(self, kind: str, model: str | None = None, data=None) -> Lever | None:
        """The lever of ``kind`` resting on ``model``'s family (tuned or not) and ``data`` (a condition), if any."""
        for lv in self.levers:
            if lv.kind != kind:
                continue
            if model is not None and lv.key.model != CurveKey.at("", model, lv.data).plain:
                continue
            if data is not None and Condition.of(lv.data) != Condition.of(data):
                continue
            return lv
        return None

    def lead(self, rival: Lever, confidence: float | None = None) -> Lead:
        """The chosen lever's lead over ``rival``: paired over the seed resamples."""
        rs = self._context[2]
        conf = self._context[4].get("confidence", CONFIDENCE) if confidence is None else confidence
        return _lead(self.lever(self.chosen), rival, rs, conf, self.tie_tolerance)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "metric": self.metric, "unit": self.unit, "n_now": float(self.n_now),
                "data": {"quality": self.data[0], "quality_rate": float(self.data[1]), "cleaning": self.data[2]},
                "model": self.model, "score_now": self.score_now, "now_extrapolated": self.now_extrapolated,
                "levers": [lv.to_dict() for lv in self.levers], "chosen": self.chosen,
                "advantage": self.advantage, "advantage_ci_low": self.advantage_low,
                "advantage_ci_high": self.advantage_high, "settled": self.settled, "cheapest": self.cheapest,
                "currency": self.currency, "without_tuning": self.without_tuning, "sentence": self.sentence,
                "ties": list(self.ties), "rival": self.rival, "tie_tolerance": self.tie_tolerance, "n_test": self.n_test,
                "ranking": self.ranking,
                "settled_against": {k: v.to_dict() for k, v in self.settled_against.items()}}

    @property
    def tuning_changed(self) -> bool | None:
        """Whether tuning changed which lever wins; None when the study tunes nothing.  The best default-rung
        lever tied with the chosen one (within one test example) is no change: a tie is broken by price."""
        if self.without_tuning is None:
            return None
        return self.without_tuning != self.chosen and self.without_tuning not in self.ties

    @property
    def tuning_changed_route(self) -> bool | None:
        """Whether tuning changed the kind of answer (more data, cleaner data, a better model), not only
        which model; None when the study tunes nothing."""
        if self.without_tuning is None:
            return None
        return self.lever(self.chosen).answer != self.lever(self.without_tuning).answer


# ---------------------------------------------------------------- the curves the levers read


@dataclass
class _Curve:
    key: CurveKey
    n: np.ndarray            # measured sizes, ascending
    wide: np.ndarray         # error per (size, seed)
    mean: np.ndarray
    weight: np.ndarray
    tuned: bool
    sophistication: int
    fit_seconds: np.ndarray
    tune_seconds: np.ndarray
    _family: tuple | None = None
    perturbed: np.ndarray | None = None  # error per (size, seed, test-row draw) on a fixed test set

    @property
    def model(self):
        return self.key.model

    @property
    def condition(self) -> Condition:
        return self.key.condition

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
    table = cells(points, ("error", "fit_seconds", "tune_seconds"), per_row=True)
    idx = table.index
    ladder = points.groupby("model", sort=True)["sophistication"].max().astype(int).to_dict()
    tuned = points.groupby("model", sort=True)["tuned"].max().astype(bool).to_dict() if "tuned" in points \
        else {}
    means = {c: (table.mean(c) if c in table.wide else np.zeros(len(idx))) for c in ("fit_seconds", "tune_seconds")}
    out = {}
    for key, rows in idx.groupby(CURVE, sort=True).indices.items():
        key = CurveKey.of(key)
        rows = np.sort(rows)
        wide = table.wide["error"][rows]
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(wide, axis=1)
            se = standard_error(wide)
        weight = 1.0 / sigma_floor(se, mean) ** 2
        secs = {c: means[c][rows] for c in means}
        out[key] = _Curve(key=key, n=idx["train_size"].to_numpy()[rows].astype(float), wide=wide, mean=mean,
                          weight=weight, tuned=bool(tuned.get(key.model, False) or key.tuned),
                          sophistication=int(ladder[key.model]), fit_seconds=np.nan_to_num(secs["fit_seconds"]),
                          tune_seconds=np.nan_to_num(secs["tune_seconds"]), perturbed=table.rescored("error", rows))
    return out, table.seeds


def test_size(points: pd.DataFrame) -> float | None:
    """The test split's size as stored with the points (the sum of a point's test confusion counts; the
    largest over the points), or None where no point stores its confusion counts (regression)."""
    if "confusion" not in points:
        return None
    sizes = []
    for text in points["confusion"].dropna().unique():
        try:
            sizes.append(float(np.asarray(json.loads(text), dtype=float).sum()))
        except (TypeError, ValueError):
            continue
    return max(sizes) if sizes else None


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
        rows = None if curve.perturbed is None else curve.perturbed[i:i + 1]
        return _Value(float(curve.mean[i]), rs.means(curve.wide[i:i + 1], seeds, perturbed=rows)[:, 0], 0.0, False,
                      None)
    name, runner, bt = curve.family()
    ex = forecast.predict(curve.n, curve.wide, seeds, curve.weight, [n], rs, family=name, runner_up=runner,
                          backtest_error=bt)
    resampled = ex.resampled[:, 0]
    # the part of the deviation that the seed resamples do not carry (future noise, family, backtest error)
    extra = math.sqrt(max(float(ex.scale[0]) ** 2 - float(ex.spread[0]) ** 2, 0.0)) if ex.dof >= 1 else 0.0
    return _Value(float(ex.error[0]), resampled, extra, bool(ex.extrapolated[0]), ex.family)


# ---------------------------------------------------------------- defaults and checks


def operating_defaults(curves: dict, dataset: str) -> tuple:
    """The study's noisiest uncleaned condition when it varies quality, else clean data."""
    return operating_condition(c.condition for c in curves.values() if c.key.dataset == dataset)


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
    return Condition.of(q)


def _check_price(business: dict, key: str, lever: str):
    value = business.get(key)
    if value is None:
        raise ConfigError(f"business.{key} is missing (null), so the lever {lever!r} has no price; "
                          f"set it to a number >= 0, e.g. business.{key}=0.1.")
    return float(value)


# ---------------------------------------------------------------- the decision


def decide(points: pd.DataFrame, *, n_now: float | None = None, data=None, model: str | None = None,
           step: float | None = None, business: dict | None = None, bootstrap: int = 200, seed: int = 0,
           datasets=None, cleaning_cost_per_row: dict | None = None, metric: dict | None = None,
           confidence: float = CONFIDENCE) -> dict:
    """The operating-point decision per dataset: ``{dataset: Decision}``.

    ``points`` are a study's stored points (``store.load`` or ``study.load_points``).
    ``n_now`` (default: the largest measured size of the current curve), ``data``
    (a (quality, rate, cleaning) tuple, a dict with those keys or a condition
    label such as 'label_noise 0.4'; default: the noisiest uncleaned condition
    when quality varies, else clean data), ``model`` (default: the model of
    sophistication 1) and ``step`` (extra labels, besides doubling) describe the
    operating point; ``business`` prices the levers (defaults filled in).
    ``metric`` ({dataset: primary metric}) marks ``points`` as already scored
    (``study.score_points``), which skips scoring them again.  ``confidence``
    is the level of every interval (and so of "settled").
    Bad input raises ``ConfigError`` in one sentence.
    """
    if n_now is not None and not (isinstance(n_now, (int, float)) and math.isfinite(n_now) and n_now > 0):
        raise ConfigError(f"verdict.n_now={n_now!r} must be a positive number of labelled rows, e.g. 724.")
    if step is not None and not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise ConfigError(f"verdict.step={step!r} must be a positive number of extra labels, e.g. 5000.")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence={confidence!r} must lie strictly between 0 and 1 (0.95 is usual).")
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
        # (and, on a fixed test set with per-row scores, the same draws of its rows)
        per_row = any(c.perturbed is not None for k, c in curves.items() if k.dataset == name)
        rs = SeedResamples(rows["seed"].unique(), n=min(bootstrap, EXTRAPOLATION_RESAMPLES), seed=seed,
                           test_draws=TEST_DRAWS if per_row else 0)
        kw = dict(data=data, model=model, step=step, business=business, costs=costs, confidence=confidence,
                  n_test=test_size(rows))
        out[name] = _decide_one(curves, seeds, rs, name, metric[name], n_now=n_now, **kw)
        out[name]._context = (curves, seeds, rs, metric[name], kw)
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
                                tune_seconds=c.tune_seconds[keep],
                                perturbed=None if c.perturbed is None else c.perturbed[keep])
    return _decide_one(short, seeds, rs, decision.dataset, metric, n_now=cut, **kw)


def revealed(decision: "Decision", cut: float) -> "Decision":
    """The decision at n_now = ``cut`` from every size of the study."""
    curves, seeds, rs, metric, kw = decision._context
    return _decide_one(curves, seeds, rs, decision.dataset, metric, n_now=cut, **kw)


def _t_quantile(k: int, confidence: float) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, df=max(k, 2) - 1))


def _decide_one(curves, seeds, rs, name, metric, *, n_now, data, model, step, business, costs,
                confidence=CONFIDENCE, n_test=None) -> Decision:
    mine = {k: c for k, c in curves.items() if k.dataset == name}
    conditions = sorted({c.condition for c in mine.values()})
    q = _parse_data(data, conditions) or operating_defaults(mine, name)
    if q not in conditions:
        raise ConfigError(f"verdict.data={condition_label(q) if math.isfinite(q.rate) else q.quality!r} is not a data "
                          f"condition of dataset {name!r}; allowed: {', '.join(condition_label(c) for c in conditions)}.")
    models = sorted({c.model for c in mine.values() if c.condition == q})
    current = model if model is not None else baseline_model(mine.values(), q)
    if current not in models:
        raise ConfigError(f"verdict.model={current!r} has no curve on {condition_label(q)} data of dataset {name!r}; "
                          f"allowed: {', '.join(models)}.")
    base = mine[CurveKey.at(name, current, q)]
    n = float(base.n.max() if n_now is None else n_now)
    if n < base.n.min():
        raise ConfigError(f"verdict.n_now={n:g} is below the smallest measured size {base.n.min():g} of {current} on "
                          f"{condition_label(q)} data of dataset {name!r}; choose a size from {base.n.min():g} up.")
    higher = metric not in LOWER_IS_BETTER
    scale = 100.0 if higher and metric != "r2" else 1.0
    unit = "points" if scale == 100.0 else metric
    tol = tie_tolerance(n_test, scale)
    now = _value(base, n, rs, seeds)
    hour_price = None

    def measure(spec: LeverSpec, key: CurveKey) -> Lever:
        nonlocal hour_price
        lever_name = spec.name(key.model)
        curve = mine[key]
        v = _value(curve, spec.n, rs, seeds)
        gain_r = (now.resampled - v.resampled) * scale
        point = (now.point - v.point) * scale
        held = forecast.hold_order(base.n, base.mean, curve.n, curve.mean, point) if v.extrapolated and \
            curve is not base and not now.extrapolated else None
        if held is not None:  # no crossing of two curves beyond the measured sizes: the measured order holds
            gain_r, point, v.family = gain_r + (held * scale - point), held * scale, forecast.HOLD_ORDER
        extra = math.hypot(now.extra, v.extra) * scale
        if v.extrapolated or now.extrapolated or extra > 0:
            k = max(len(rs.seeds), 2)
            sd = float(np.nanstd(gain_r[rs.inverse])) * math.sqrt(k / (k - 1)) if len(rs.seeds) > 1 else 0.0
            width = _t_quantile(k, confidence) * math.hypot(sd, extra)
            lo, hi = (point - width, point + width) if len(rs.seeds) > 1 or extra > 0 else (math.nan, math.nan)
        else:
            low, high = rs.interval(gain_r[:, None], confidence)
            lo, hi = float(low[0]), float(high[0])
        # no gain takes the score past the metric's range (from 98.2% accuracy, at most +1.8 points)
        lo, hi, clipped = clip_to_range(lo, hi, metric=metric, now=1 - now.point if higher else now.point,
                                        scale=scale)
        hours = (_seconds(curve, spec.n) + _tune_seconds(curve, spec.n)) / 3600.0
        price, cost = spec.price, 0.0
        if price.new_labels:
            cost += price.new_labels * _check_price(business, "cost_per_label", lever_name)
        if price.reviewed_rows:
            key_ = "cost_per_clean_label" if business.get("cost_per_clean_label") is not None else "cost_per_label"
            cost += price.reviewed_rows * _check_price(business, key_, "relabelling")
        if price.cleaned_rows:
            cost += price.cleaned_rows * float(costs.get(price.method, 0.0))
        cost += hours * _check_price(business, "cost_per_compute_hour", lever_name)
        lever = Lever(name=lever_name, kind=spec.kind, model=key.model, data=tuple(key.condition), n=spec.n,
                      gain=point, ci_low=lo, ci_high=hi, extrapolated=bool(v.extrapolated or now.extrapolated),
                      family=v.family, new_labels=float(price.new_labels), cost=cost, compute_hours=hours,
                      resampled=gain_r, spec=spec, clipped=clipped)
        lever.points_per_money = point / cost if cost > 0 else None
        lever.value_per_1000 = _money_per_1000(point / scale, metric, business)
        curve_of[id(lever)] = curve
        return lever

    def hold(lever: Lever, gain: float) -> None:
        """Lower ``lever`` to ``gain``, its interval and value with it (``_no_overtaking``)."""
        delta = gain - lever.gain
        lever.gain, lever.ci_low, lever.ci_high = gain, lever.ci_low + delta, lever.ci_high + delta
        lever.resampled = lever.resampled + delta
        lever.family = forecast.HOLD_ORDER
        lever.points_per_money = gain / lever.cost if lever.cost else None
        lever.value_per_1000 = _money_per_1000(gain / scale, metric, business)

    curve_of: dict[int, _Curve] = {}
    measured = [(spec, measure(spec, spec.curve), None if spec.twin is None else measure(spec, spec.twin))
                for spec in levers_at(mine.values(), name, q, current, n, step=step)]
    versions = [lv for _, lever, other in measured for lv in (lever, other) if lv is not None]
    _no_overtaking(versions, curve_of, base, hold, scale)
    levers: list[Lever] = []
    for spec, lever, other in measured:
        if other is not None:
            default, tuned = (lever, other) if not spec.curve.tuned else (other, lever)
            reach = [lv.n <= curve_of[id(lv)].n.max() for lv in (default, tuned)]
            if reach[0] != reach[1]:
                # one version measured at n, the other only below it: the measured one is the lever, the
                # other's gain (a forecast) its alternative
                mattered = None
                lever, lever.alternative = (default, tuned) if reach[0] else (tuned, default)
            else:
                # one lever per model: its tuned version only where tuning gains at least one test example
                mattered = bool(tuned.gain - default.gain >= tol)
                lever, lever.alternative = (tuned, default) if mattered else (default, tuned)
            lever.tuning_mattered = mattered
        elif spec.kind == "tune":
            lever.tuning_mattered = bool(lever.gain >= tol)
        levers.append(lever)
    d = _conclude(name, metric, unit, n, q, current, now, levers, rs, business, tol, confidence, n_test)
    if unit == "points" and d.chosen is not None:
        d.ranking = _ranking(d.lever(d.chosen), versions, curve_of, base, scale)
    d.sentence = sentence(d)
    return d


def _ranking(chosen: Lever, levers: list, curve_of: dict, base: _Curve, scale: float) -> dict | None:
    """Where the chosen lever is a rung measured only below its size: its lead over another rung (the current
    model among them) at the largest size the two measured, for the rung whose order is the least sure to hold
    that far (``forecast.order_held``: the lowest share, then the narrowest lead)."""
    mine = curve_of.get(id(chosen))
    if chosen.kind != "model" or mine is None or chosen.n <= mine.n.max():
        return None
    others = {id(c): c for lv in levers if lv.kind in ("model", "tune") and lv.data == chosen.data
              and lv.n == chosen.n and math.isfinite(lv.gain) and (c := curve_of.get(id(lv))) not in (None, mine)}
    leads = []
    for theirs in [base, *others.values()]:
        measured = forecast.measured_gap(theirs.n, theirs.mean, mine.n, mine.mean)
        if measured is not None:
            at, gap = measured
            leads.append((gap * scale, at, theirs))
    if not leads:
        return None
    lead, at, theirs = min(leads, key=lambda t: (forecast.order_held(t[0], math.log2(chosen.n / t[1]))["share"],
                                                 t[0], -t[1]))
    doublings = math.log2(chosen.n / at)
    held = forecast.order_held(lead, doublings)
    return {"rung": chosen.model, "against": theirs.model, "measured_to": float(mine.n.max()), "at": float(at),
            "lead": lead, "doublings": doublings, "held": held["share"], "pairs": held["pairs"],
            "band": held["band"], "reach": held["reach"]}


def _no_overtaking(levers: list, curve_of: dict, base: _Curve, hold, scale: float) -> None:
    """Beyond its measured sizes a rung does not overtake another: where a lever's curve was extrapolated to
    size n and would pass a lever of the same data and size whose curve was ahead at their largest shared
    size, ``hold`` lowers it to that lever's gain less the gap measured there (``forecast.hold_order``; on real
    curves such crossings were right 26-40% of the time).  Repeated until no lever moves: lowering one can
    tighten another's bound."""
    rungs = [lv for lv in levers if curve_of.get(id(lv)) is not None and curve_of[id(lv)] is not base
             and math.isfinite(lv.gain)]
    for _ in range(len(rungs)):
        moved = False
        for lv in rungs:
            mine = curve_of[id(lv)]
            if lv.n <= mine.n.max():
                continue
            for other in rungs:
                theirs = curve_of[id(other)]
                if theirs is mine or other.data != lv.data or other.n != lv.n:
                    continue
                ahead = (lv.gain - other.gain) / scale
                held = forecast.hold_order(theirs.n, theirs.mean, mine.n, mine.mean, ahead)
                if held is not None and held < ahead and other.gain + held * scale < lv.gain - 1e-12:
                    hold(lv, other.gain + held * scale)
                    moved = True
        if not moved:
            return


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


def _lead(chosen: Lever, rival: Lever, rs: SeedResamples, confidence: float, tol: float) -> Lead:
    """``chosen``'s lead over ``rival`` with a paired interval over the same seed resamples (a t-interval
    widened by the part of an extrapolated gain's deviation the resamples do not carry)."""
    diff = chosen.resampled - rival.resampled
    adv = chosen.gain - rival.gain
    lo = hi = math.nan
    if len(rs.seeds) > 1:
        k = len(rs.seeds)
        qt = _t_quantile(k, confidence)
        extra = 0.0
        for lv in (chosen, rival):
            if lv.extrapolated and math.isfinite(lv.ci_high):
                sd = float(np.nanstd(lv.resampled[rs.inverse])) * math.sqrt(k / (k - 1))
                extra = math.hypot(extra, math.sqrt(max(((lv.ci_high - lv.gain) / qt) ** 2 - sd**2, 0.0)))
        if extra > 0:
            sd = float(np.nanstd(diff[rs.inverse])) * math.sqrt(k / (k - 1))
            lo, hi = adv - qt * math.hypot(sd, extra), adv + qt * math.hypot(sd, extra)
        else:
            l_, h_ = rs.interval(diff[:, None], confidence)
            lo, hi = float(l_[0]), float(h_[0])
    settled = bool(math.isfinite(lo) and lo > 0 and adv >= tol)
    return Lead(lever=rival.name, advantage=float(adv), low=float(lo), high=float(hi), settled=settled)


def _pick(levers: list, tol: float) -> tuple:
    """The lever with the biggest gain and the levers that tie it (within ``tol``).  Among tied levers the
    cheapest is chosen, then the one with the least compute, then an untuned one; the name decides only
    between levers equal in all of these, and the tie is listed either way."""
    ok = [lv for lv in levers if lv.gain is not None and math.isfinite(lv.gain)]
    if not ok:
        return None, []
    top = max(lv.gain for lv in ok)
    tied = [lv for lv in ok if top - lv.gain < tol]
    inf = float("inf")
    tied.sort(key=lambda lv: (inf if lv.cost is None else lv.cost, lv.compute_hours, lv.tuned,
                              KINDS.index(lv.kind), lv.name))
    return tied[0], tied[1:]


def _best_of(levers: list, chosen: Lever, rs, confidence: float, tol: float) -> Lead:
    """The lead over the best of ``levers`` (of one other answer): over each lever tied for its best, the
    least settled one."""
    top = max(lv.gain for lv in levers)
    leads = [_lead(chosen, lv, rs, confidence, tol) for lv in levers if top - lv.gain < tol]
    return min(leads, key=lambda ld: (ld.settled, ld.low if math.isfinite(ld.low) else -math.inf, ld.lever))


def _conclude(name, metric, unit, n, q, current, now, levers, rs, business, tol, confidence, n_test) -> Decision:
    measured = [lv for lv in levers if math.isfinite(lv.gain)]
    chosen, ties = _pick(measured, tol)
    adv = lo = hi = rival_name = None
    settled, against = False, {}
    if chosen is not None:
        groups: dict = {}
        for lv in measured:
            if lv.answer != chosen.answer:
                groups.setdefault(lv.answer, []).append(lv)
        against = {answer: _best_of(group, chosen, rs, confidence, tol) for answer, group in sorted(groups.items())}
        if against:
            # the headline lead: over the best lever of another kind of answer
            rival = max((lv for group in groups.values() for lv in group), key=lambda lv: lv.gain)
            closest = _best_of([lv for lv in groups[rival.answer]], chosen, rs, confidence, tol)
            adv, lo, hi, rival_name = closest.advantage, closest.low, closest.high, closest.lever
            settled = all(ld.settled for ld in against.values())
        else:
            adv, lo, hi = chosen.gain, chosen.ci_low, chosen.ci_high
            settled = bool(math.isfinite(lo) and lo > 0 and adv >= tol)
    paying = [lv for lv in measured if lv.gain > 0 and lv.cost is not None]
    free = [lv for lv in paying if lv.cost == 0]
    if free:
        cheapest, _ = _pick(free, tol)
    elif paying:
        cheapest = max(paying, key=lambda lv: (lv.points_per_money, -lv.compute_hours, not lv.tuned, lv.name))
    else:
        cheapest = None
    return Decision(dataset=name, metric=metric, unit=unit, n_now=n, data=tuple(q), model=current,
                    score_now=(1 - now.point) if metric not in LOWER_IS_BETTER else now.point,
                    now_extrapolated=now.extrapolated, levers=levers, chosen=chosen.name if chosen else None,
                    advantage=adv, advantage_low=lo, advantage_high=hi, settled=settled,
                    cheapest=cheapest.name if cheapest else None, currency=str(business.get("currency", "")),
                    without_tuning=_without_tuning(measured, tol), ties=[lv.name for lv in ties],
                    settled_against=against, tie_tolerance=tol, n_test=n_test, rival=rival_name)


def _without_tuning(levers: list, tol: float) -> str | None:
    """The biggest gain among levers on default rungs, or None when the study tunes nothing here."""
    if not any(lv.tuned or (lv.alternative is not None and lv.alternative.tuned) for lv in levers):
        return None
    plain = []
    for lv in levers:
        if lv.kind == "tune":
            continue
        version = lv if not lv.tuned else lv.alternative
        if version is not None and not version.tuned and math.isfinite(version.gain):
            plain.append(version)
    best, _ = _pick(plain, tol)
    return best.name if best is not None else None


def _signed(v: float, digits: int = 1) -> str:
    return "?" if v is None or not math.isfinite(v) else f"{v:+.{digits}f}".replace("-", "−")


def _interval(lv: Lever, digits: int = 1) -> str:
    if lv.ci_low is None or not math.isfinite(lv.ci_low):
        return ""
    return f" [{lv.ci_low:.{digits}f}, {lv.ci_high:.{digits}f}]".replace("-", "−")


def _headline(d: Decision) -> list:
    """The levers a reader weighs first: more labels, the user's step, the best model switch, the best
    data-quality lever, rows from the target distribution and the best measured combination (each the
    biggest gain of its kind; of tied ones, the lever chosen or the first in the study's order)."""
    shown = []
    for kinds in (("labels",), ("step",), ("model", "tune"), ("cleaning", "relabel"), ("target",), ("combined",)):
        group = [lv for lv in d.levers if lv.kind in kinds and math.isfinite(lv.gain)]
        if group:
            best, tied = _pick(group, d.tie_tolerance)
            shown.append(next((lv for lv in [best] + tied if lv.name == d.chosen), best))
    return shown


def sentence(d: Decision) -> str:
    """The decision as one sentence: what each kind of lever buys, with intervals, the cheapest per point,
    the chosen lever and any lever tied with it, and whether it is settled against every other kind."""
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
    if d.ties:
        example = "one test example" if d.n_test else "float precision"
        out += (f"; {d.chosen} ties {' and '.join(d.ties)} (within {example}: "
                f"{d.tie_tolerance:.{max(digits, 2)}g} {unit})")
    chosen = d.lever(d.chosen) if d.chosen is not None else None
    if chosen is not None and d.n_test and chosen.gain < d.tie_tolerance:
        out += f"; no lever gains one test example ({d.tie_tolerance:.{max(digits, 2)}g} {unit}) or more"
    if d.chosen is not None and len(d.levers) > 1:
        ci = ("" if d.advantage_low is None or not math.isfinite(d.advantage_low) else
              f" [{d.advantage_low:.{digits}f}, {d.advantage_high:.{digits}f}]".replace("-", "−"))
        if d.settled_against:
            open_ = [a for a, ld in d.settled_against.items() if not ld.settled]
            state = "settled" if d.settled else f"not settled (open against {', '.join(open_)})"
            out += (f"; the biggest gain, {d.chosen}, is {state}: ahead of the best lever of another kind, "
                    f"{d.rival}, by {_signed(d.advantage, digits)}{ci}")
        else:
            out += (f"; the biggest gain, {d.chosen}, is {'settled' if d.settled else 'not settled'} "
                    f"(every lever is of its kind; its own gain {_signed(d.advantage, digits)}{ci})")
    if d.tuning_changed:
        alt = d.lever(d.without_tuning)
        what = "the answer" if d.tuning_changed_route else "the model, not the answer"
        out += (f"; tuning changed {what}: on default rungs only the biggest gain is {alt.name} "
                f"({_signed(alt.gain, digits)}{_interval(alt, digits)})")
    elif d.tuning_changed is False:
        out += "; tuning did not change the answer"
    r = d.ranking
    if r:
        reach = {0.5: "a step", 1: "one doubling", 2: "two doublings", 3: "three doublings"}[r["reach"]]
        out += (f"; {r['rung']}'s ranking is extrapolated: measured up to {r['measured_to']:,.0f} rows, it "
                f"{'led' if r['lead'] >= 0 else 'trailed'} {r['against']} by {abs(r['lead']):.2f} points at "
                f"{r['at']:,.0f} rows, and on real curves an order measured with a lead of {r['band']} points held "
                f"{reach} on in {r['held']:.0%} of {r['pairs']:,} pairs (here {r['doublings']:.1f} doublings)")
    return out + "."
