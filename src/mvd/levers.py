"""The levers at an operating point: what a team can change next, named once.

A team stands on one curve (a dataset, a model, a data *condition*) at ``n``
labelled rows.  A *lever* is one thing it can do next, measured by another
curve of the study (or the same curve at a larger size):

======== ============================== ============================== =====================================
kind     what                           its curve                      its price (besides compute)
======== ============================== ============================== =====================================
labels   the next ``n`` labels           the same curve at ``2n``       ``n`` new labels
step     the user's ``+step`` labels     the same curve at ``n + step`` ``step`` new labels
tune     tuning the current model        its tuned twin at ``n``        none
model    switching to another model      that model at ``n``            none
cleaning a cleaning method               the cleaned condition at ``n`` ``n`` rows at the method's price
                                                                        (the oracle: every label reviewed)
relabel  relabelling every row           the clean condition at ``n``   ``n`` reviewed labels
target   rows from the target            the unshifted condition        ``n`` reviewed labels
         distribution (under a shift)
combined a data lever and a model switch that model on that condition   as the data lever
======== ============================== ============================== =====================================

Each kind answers "better model or more data?" in one of a few ways
(``ANSWER``); a decision is *settled* when its lever beats the best lever
of every other answer.  A model and its tuned version are one lever (the
better of the two): ``model`` and ``combined`` levers carry the other version
as ``twin``.  ``levers_at`` lists them for any collection of curves that have
a ``key`` (``CurveKey``) and a ``sophistication``, so the report's decision
and the adaptive sweeper read the same levers.  Nothing here imports the
report, the engine or the sweeper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Optional

from mvd.metrics import LOWER_IS_BETTER
from mvd.naming import TUNED_SUFFIX

__all__ = ["TUNED_SUFFIX", "LOWER_IS_BETTER", "SHIFT_KINDS", "KINDS", "ANSWER", "Condition", "CurveKey", "Price",
           "LeverSpec", "LeverKey", "condition_label", "tuned_name", "plain_model", "is_tuned", "mixed_pool",
           "clean_counterpart", "operating_condition", "baseline_model", "levers_at", "tie_tolerance", "gains_nothing"]

# the quality kinds that draw the training pool from a shifted distribution (mvd.shift.KINDS)
SHIFT_KINDS = ("covariate_shift", "label_shift", "subgroup_shift")

KINDS = ("labels", "step", "tune", "model", "cleaning", "relabel", "target", "combined")
# the kind of answer a lever gives to "better model or more data?"
ANSWER = {"labels": "more data", "step": "more data", "tune": "a better model", "model": "a better model",
          "cleaning": "cleaner data", "relabel": "cleaner data", "target": "target data",
          "combined": "cleaner data and a better model"}


class Condition(NamedTuple):
    """The data a curve was trained on: a quality kind, its rate, and the cleaning applied."""

    quality: str
    rate: float
    cleaning: str

    @classmethod
    def of(cls, value) -> "Condition":
        return cls(str(value[0]), float(value[1]), str(value[2]))

    @property
    def label(self) -> str:
        return condition_label(self)

    @property
    def noisy(self) -> bool:
        return self.rate > 0

    @property
    def mixed(self) -> bool:
        return mixed_pool(self)

    @property
    def shifted(self) -> bool:
        return self.quality in SHIFT_KINDS


class CurveKey(NamedTuple):
    """One learning curve of a study: a dataset, a model (tuned ones end in ``TUNED_SUFFIX``), a condition."""

    dataset: str
    model: str
    quality: str
    rate: float
    cleaning: str

    @classmethod
    def of(cls, value) -> "CurveKey":
        return cls(str(value[0]), str(value[1]), str(value[2]), float(value[3]), str(value[4]))

    @classmethod
    def at(cls, dataset: str, model: str, condition) -> "CurveKey":
        q = Condition.of(condition)
        return cls(str(dataset), str(model), q.quality, q.rate, q.cleaning)

    @property
    def condition(self) -> Condition:
        return Condition(self.quality, self.rate, self.cleaning)

    @property
    def tuned(self) -> bool:
        return is_tuned(self.model)

    @property
    def plain(self) -> str:
        """The model's name without the tuned suffix: a model and its tuned version share it."""
        return plain_model(self.model)


def condition_label(q) -> str:
    """'clean', 'label_noise 0.4' or 'label_noise 0.4 +confident_learning'."""
    base = "clean" if float(q[1]) == 0 else f"{q[0]} {float(q[1]):g}"
    return base if q[2] == "none" else f"{base} +{q[2]}"


def tuned_name(model: str, tuned: bool) -> str:
    """A tuned curve's model as the report names it ("forest (tuned)")."""
    return f"{model}{TUNED_SUFFIX}" if tuned and not model.endswith(TUNED_SUFFIX) else model


def plain_model(model: str) -> str:
    return model[:-len(TUNED_SUFFIX)] if model.endswith(TUNED_SUFFIX) else model


def is_tuned(model: str) -> bool:
    return model.endswith(TUNED_SUFFIX)


def mixed_pool(condition) -> bool:
    """A mixed-pool curve (quality '<kind>_mixed'): its sizes count rows of two sources, so it is no
    operating point, lever, route or attribution corner (the shift section reads it)."""
    return str(condition[0]).endswith("_mixed")


def clean_counterpart(conditions, start) -> Optional[Condition]:
    """The one clean condition a noisy or shifted ``start`` is compared with: rate 0, uncleaned, of the start's
    own kind, else plain 'clean', else the first by name (a shift study has a rate-0 curve per kind)."""
    clean = [Condition.of(q) for q in conditions if float(q[1]) == 0 and q[2] == "none" and not mixed_pool(q)]
    return min(clean, key=lambda q: (q.quality != start[0], q.quality != "clean", q)) if clean else None


def operating_condition(conditions) -> Condition:
    """The study's noisiest uncleaned condition when it varies quality, else clean data (mixed pools never)."""
    conditions = sorted({Condition.of(q) for q in conditions if not mixed_pool(q)})
    noisy = sorted((q for q in conditions if q.noisy and q.cleaning == "none"), key=lambda q: (-q.rate, q.quality))
    if noisy:
        return noisy[0]
    clean = [q for q in conditions if (q.quality == "clean" or q.rate == 0) and q.cleaning == "none"]
    return (clean or conditions)[0]


def baseline_model(curves: Iterable, condition) -> str:
    """The untuned model of the lowest sophistication >= 1 on ``condition`` (ties by name): the team's model
    when it names none.  ``curves`` have ``key`` (a ``CurveKey``) and ``sophistication``."""
    here = [c for c in curves if c.key.condition == tuple(condition)]
    ladder = sorted({(c.sophistication, c.key.model) for c in here if not c.key.tuned}) or \
        sorted({(c.sophistication, c.key.model) for c in here})
    above = [r for r in ladder if r[0] >= 1]
    return (above or ladder)[0][1]


@dataclass(frozen=True)
class Price:
    """What a lever costs besides compute: new labels (``business.cost_per_label``), reviewed rows
    (``business.cost_per_clean_label``, else ``cost_per_label``) and rows run through a cleaning ``method``
    (its entry of ``verdict.cleaning_cost_per_row``)."""

    new_labels: float = 0.0
    reviewed_rows: float = 0.0
    cleaned_rows: float = 0.0
    method: Optional[str] = None


class LeverKey(NamedTuple):
    """A lever's identity, whichever version (tuned or default) of its model it rests on."""

    kind: str
    model: str              # the model family (untuned name) the lever's curve belongs to
    condition: Condition    # the data after the lever


@dataclass(frozen=True)
class LeverSpec:
    """One lever at an operating point, before it is measured: its kind, the curve and size that measure it,
    the model's other version (``twin``: tuned or default) where the study has both, and its price."""

    kind: str
    curve: CurveKey
    n: float
    price: Price
    current: str            # the team's model
    twin: Optional[CurveKey] = None

    @property
    def answer(self) -> str:
        return ANSWER[self.kind]

    @property
    def key(self) -> LeverKey:
        return LeverKey(self.kind, self.curve.plain, self.curve.condition)

    def name(self, model: Optional[str] = None) -> str:
        """The lever's display name, with ``model`` (default: its curve's) as the version it rests on."""
        model = self.curve.model if model is None else model
        switch = f"switching {self.current} -> {model}"
        if self.kind == "labels":
            return f"the next {self.price.new_labels:,.0f} labels"
        if self.kind == "step":
            return f"+{self.price.new_labels:,.0f} labels"
        if self.kind == "tune":
            return f"tuning {self.current}"
        if self.kind == "model":
            return switch
        data = self._data_title()
        return f"{data} + {switch}" if self.kind == "combined" else data

    def _data_title(self) -> str:
        q = self.curve.condition
        if q.rate == 0 and q.cleaning == "none":  # relabelled, or rows from the target distribution
            return f"{self.n:,.0f} rows from the target distribution instead" if self.price.method == "target" \
                else "relabelling every row"
        if q.cleaning == "oracle":
            return "cleaning: oracle (every label reviewed)"
        return f"cleaning: {q.cleaning}"


def gains_nothing(gain: Optional[float], *, n_test: Optional[float], tolerance: Optional[float]) -> bool:
    """Whether the best lever's ``gain`` is no gain: below one test example where the test size is known
    (``tolerance``, see ``tie_tolerance``), else not above 0; a missing or non-finite gain is none."""
    if gain is None or not isinstance(gain, (int, float)) or not math.isfinite(gain):
        return True
    if n_test:
        return gain < (tolerance or 0.0)
    return gain <= 0


def tie_tolerance(n_test: Optional[float], scale: float) -> float:
    """The smallest difference of two gains that is not a tie: one test example of a rate metric
    (``scale`` / ``n_test``: 100 / n_test metric points), else float noise only."""
    if n_test is not None and math.isfinite(n_test) and n_test > 0 and scale == 100.0:
        return scale / float(n_test)
    return 1e-9 * max(scale, 1.0)


def levers_at(curves: Iterable, dataset: str, condition, model: str, n: float, *,
              step: Optional[float] = None) -> list[LeverSpec]:
    """Every lever the study measures from ``model`` on ``condition`` data at ``n`` rows, in a fixed order
    (labels, step, tune, model switches by sophistication, data levers, combinations).

    ``curves`` have ``key`` (a ``CurveKey``) and ``sophistication``; the model switches are one per other
    model, on its untuned curve where the study has one (the tuned one as ``twin``)."""
    mine = {c.key: c for c in curves if c.key.dataset == dataset and not mixed_pool(c.key.condition)}
    q = Condition.of(condition)
    current = CurveKey.at(dataset, model, q)
    out = [LeverSpec("labels", current, 2 * n, Price(new_labels=n), model)]
    if step is not None:
        out.append(LeverSpec("step", current, n + step, Price(new_labels=step), model))
    plain = plain_model(model)
    own_tuned = CurveKey.at(dataset, tuned_name(plain, True), q)
    if not is_tuned(model) and own_tuned in mine:
        out.append(LeverSpec("tune", own_tuned, n, Price(), model))

    def versions(cond) -> dict:
        """Other model -> (curve, twin) on ``cond``: the untuned curve first."""
        found: dict = {}
        for key, c in mine.items():
            if key.condition == cond and key.plain != plain:
                found.setdefault(key.plain, []).append(key)
        out_ = {}
        for name, keys in found.items():
            keys = sorted(keys, key=lambda k: (k.tuned, k.model))
            out_[name] = (keys[0], keys[1] if len(keys) > 1 else None)
        return out_

    rank = {key.plain: c.sophistication for key, c in mine.items() if not key.tuned}
    rank.update({key.plain: c.sophistication for key, c in mine.items() if key.plain not in rank})
    order = lambda name: (rank.get(name, 0), name)  # noqa: E731
    switches = versions(q)
    for name in sorted(switches, key=order):
        curve, twin = switches[name]
        out.append(LeverSpec("model", curve, n, Price(), model, twin=twin))

    data = []
    for key in sorted(mine):
        cond = key.condition
        if key.model != model or cond == q:
            continue
        if (cond.quality, cond.rate) == (q.quality, q.rate) and cond.cleaning != "none" and q.cleaning == "none":
            method = cond.cleaning
            price = Price(reviewed_rows=n) if method == "oracle" else Price(cleaned_rows=n, method=method)
            data.append(("cleaning", cond, price))
    clean = clean_counterpart({k.condition for k in mine if k.model == model}, q) if q.noisy else None
    if clean is not None:
        shifted = q.shifted
        data.append(("target" if shifted else "relabel", clean,
                     Price(reviewed_rows=n, method="target" if shifted else None)))
    for kind, cond, price in data:
        out.append(LeverSpec(kind, CurveKey.at(dataset, model, cond), n, price, model))
    for kind, cond, price in data:
        combos = versions(cond)
        for name in sorted(combos, key=order):
            curve, twin = combos[name]
            out.append(LeverSpec("combined", curve, n, price, model, twin=twin))
    return out
