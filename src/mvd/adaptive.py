"""Adaptive sweeps: spend fits where the operating-point decision is still open.

A full grid (curves x sizes x seeds) spends most of its CPU on points that do
not change the answer.  The policy here runs a study in rounds and reads only
the store:

1. **Round 1, coarse:** every curve that is a lever of the decision gets the
   size the decision reads, the operating point ``n_now`` (the user's own
   curve: every size, since more labels are extrapolated from it), plus grid
   sizes about ``coarse_factor`` times apart below it (a sketch of the curve
   for the report), for its first ``initial_seeds`` seeds.  Curves that are
   no lever at the operating point (a noise rate that is neither the user's
   nor clean) are never fitted.
2. **Each later round:** the decision is rebuilt from the points asked so far;
   every lever still open (the chosen one, and every lever whose gap to it
   has an interval containing 0) gets its next seed at the sizes the decision
   reads ("add seeds where intervals overlap"); levers dominated with
   confidence get nothing more.  Sizes the decision does not read are never
   added: at ``n_now`` it compares measured points, it does not extrapolate.
3. **Stop** when every dataset's decision is settled (the chosen lever's
   advantage over each other lever excludes 0 at ``confidence``), when the
   budget (points or CPU-seconds) is spent, or when nothing the decision could
   use is left to measure; the record says which.

The decision after a round is computed from the points *asked* up to that
round only (never from whatever else the store holds), so a rerun with the
same settings makes the same choices, and a round killed half way reruns
without fitting any stored point twice.  ``run`` drives the rounds through a
``fetch`` callable: the Hydra sweeper launches jobs, ``mvd.replay`` reveals
stored points.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
import warnings
from typing import Callable, Iterable, Optional

import numpy as np
import pandas as pd

from mvd.errors import ConfigError

__all__ = [
    "Curve", "Settings", "OperatingPoint", "Decision", "Record",
    "check", "check_settings", "grid_from_points", "operating_points", "decide", "report_decide",
    "first_round", "next_round", "model_name",
    "run", "point_cost", "load_curves", "write_record", "report_blocks", "with_report_section", "RECORD_FILE", "UNITS",
]

RECORD_FILE = "adaptive.json"
UNITS = ("points", "cpu_seconds")
MORE_LABELS = "more labels"
TUNED_SUFFIX = " (tuned)"
STAY = "keep as is"
# metrics where lower is better (the decision compares gains, higher = better)
_LOWER_IS_BETTER = {"rmse", "mae", "log_loss"}

Key = tuple  # (run_id, seed, train_size)


@dataclass(frozen=True)
class Curve:
    """One curve of the grid: what it is, its full sizes and seeds, and how to launch it."""

    run_id: str
    dataset: str
    model: str
    sophistication: int
    quality: str
    quality_rate: float
    cleaning: str
    sizes: tuple
    seeds: tuple
    overrides: tuple = ()


@dataclass(frozen=True)
class Settings:
    # the advantage's interval level; settled when it excludes 0
    confidence: float = 0.95
    # points or CPU-seconds (fit + predict + tune, as stored) for the whole study; None: no cap
    budget: Optional[float] = None
    budget_unit: str = "points"
    # round 1: seeds per curve, and grid sizes about this factor apart below n_now (0: none)
    initial_seeds: int = 2
    coarse_factor: float = 4.0
    # seeds the interval's resamples (the same seed makes the same choices)
    seed: int = 0
    n_resamples: int = 1000


@dataclass(frozen=True)
class OperatingPoint:
    """Where the user stands on one dataset: their curve, ``n_now``, and the levers to compare."""

    dataset: str
    current: str  # run_id of the user's model on the user's data
    n_now: int
    n_half: Optional[int]  # the grid size nearest n_now / 2 (for the "more labels" lever)
    levers: dict  # lever name -> run_id of the curve that measures it
    model: str = ""  # the user's model and data (quality, rate, cleaning)
    data: tuple = ()
    curves: dict = field(default_factory=dict)  # (model, quality, rate, cleaning) -> run_id, on this dataset


@dataclass
class Decision:
    dataset: str
    chosen: str
    advantage: float  # chosen lever's gain minus the runner-up's, in metric points
    low: float
    high: float
    settled: bool
    runner_up: str = ""
    gains: dict = field(default_factory=dict)  # lever -> mean gain over the current setup
    dominated: list = field(default_factory=list)  # levers behind the chosen one with confidence
    keep_open: list = field(default_factory=list)  # run_ids the decision rests on (its chosen lever, runner-up)
    leader: str = ""  # the lever that the dominated ones trail (the chosen one unless said otherwise)

    def sentence(self, n_now: int) -> str:
        state = "settled" if self.settled else "open"
        if not self.runner_up:
            return f"on {self.dataset} at n={n_now}: {self.chosen} ({state})"
        return (f"on {self.dataset} at n={n_now}: {self.chosen} (gain {self.gains[self.chosen]:+.3f}), "
                f"ahead of {self.runner_up} by {self.advantage:+.3f} [{self.low:+.3f}, {self.high:+.3f}] ({state})")


@dataclass
class Record:
    """What the adaptive study did: rounds, stop reason, budget used, and what it skipped and why."""

    settings: dict
    grid_points: int
    rounds: list = field(default_factory=list)
    stop: str = ""
    stop_sentence: str = ""
    asked_points: int = 0
    used_points: int = 0
    used_cpu_seconds: float = 0.0
    decisions: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out = {"adaptive": True, **out}
        return out


# ----------------------------------------------------------------------------- input checks

def check_settings(settings: Settings) -> None:
    """Refuse bad settings before anything is composed (one sentence each)."""
    if not 0 < settings.confidence < 1:
        raise ConfigError(f"hydra.sweeper.confidence={settings.confidence} must lie strictly between 0 and 1 "
                          f"(0.95 is usual).")
    if settings.budget_unit not in UNITS:
        raise ConfigError(f"hydra.sweeper.budget_unit={settings.budget_unit!r} is not known; "
                          f"allowed: {', '.join(UNITS)}.")
    if settings.initial_seeds < 2:
        raise ConfigError(f"hydra.sweeper.initial_seeds={settings.initial_seeds} must be at least 2 "
                          f"(an interval needs two seeds).")
    if settings.coarse_factor != 0 and not settings.coarse_factor > 1:
        raise ConfigError(f"hydra.sweeper.coarse_factor={settings.coarse_factor:g} must be above 1 "
                          f"(sizes that many times apart), or 0 for no coarse sizes.")
    if settings.budget is not None and not settings.budget > 0:
        raise ConfigError(f"hydra.sweeper.budget={settings.budget:g} must be positive "
                          f"({settings.budget_unit}), or null for no cap.")


def check(settings: Settings, grid: list[Curve]) -> None:
    """Refuse bad settings, a study with a single arm and a budget below one round, before any work.

    A budget in CPU-seconds cannot be compared with round 1 before it runs
    (its cost is only known once fitted): round 1 then runs whole, and the
    budget caps every later round.
    """
    check_settings(settings)
    if not grid:
        raise ConfigError("the adaptive sweep has no curves to run.")
    for dataset in sorted({c.dataset for c in grid}):
        curves = list({c.run_id: c for c in grid if c.dataset == dataset}.values())
        if len(curves) < 2:
            c = curves[0]
            raise ConfigError(
                f"hydra/sweeper=adaptive compares arms, but dataset {dataset} has a single arm "
                f"(model {c.model}, {c.quality} {c.quality_rate:g}, cleaning {c.cleaning}); sweep at least two "
                f"models or cleanings, or use the basic sweeper.")
    if settings.budget is not None:
        if settings.budget_unit == "points":
            need = len(first_round(grid, operating_points(grid), settings))
            if settings.budget < need:
                raise ConfigError(f"hydra.sweeper.budget={settings.budget:g} points is below one round: "
                                  f"round 1 alone asks for {need} points; allowed: {need} or more, or null.")


# ----------------------------------------------------------------------------- grid and decision

def grid_from_points(points: pd.DataFrame) -> list[Curve]:
    """The grid a fully measured study ran: each curve with every size and seed it stores."""
    grid = []
    for run_id, rows in points.groupby("run_id", sort=True):
        first = rows.iloc[0]
        grid.append(Curve(run_id=str(run_id), dataset=str(first["dataset"]),
                          model=model_name(str(first["model"]), _flag(first.get("tuned"))),
                          sophistication=int(first["sophistication"]), quality=str(first["quality"]),
                          quality_rate=float(first["quality_rate"]), cleaning=str(first["cleaning"]),
                          sizes=tuple(sorted(int(n) for n in rows["train_size"].unique())),
                          seeds=tuple(sorted(int(s) for s in rows["seed"].unique()))))
    return grid


def _flag(value) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def model_name(model: str, tuned: bool) -> str:
    """A tuned curve's model as the report names it ("forest (tuned)"): a lever of its own."""
    return f"{model}{TUNED_SUFFIX}" if tuned and not model.endswith(TUNED_SUFFIX) else model


def _lever_name(current: Curve, other: Curve) -> str:
    parts = []
    if other.model != current.model:
        parts.append(f"model {other.model}")
    if other.cleaning != current.cleaning:
        parts.append(f"cleaning {other.cleaning}")
    return " + ".join(parts) or other.run_id


def operating_points(grid: list[Curve]) -> dict[str, OperatingPoint]:
    """Per dataset: the user's current curve and the levers measured at its data condition.

    The user's model is the least sophisticated model above sophistication 0 (the
    report's default baseline); their data is the noisiest uncleaned
    condition of the study (clean when quality does not vary); ``n_now`` is
    the largest size of that curve's grid.  Levers: every other model,
    cleaning and combination measured on the same data condition,
    relabelling (clean data, with each model) when the user's data are
    noisy, and more labels (the last doubling's gain, ``n_now / 2 -> n_now``).
    """
    out = {}
    for dataset in sorted({c.dataset for c in grid}):
        curves = [c for c in grid if c.dataset == dataset]
        ranks = sorted({c.sophistication for c in curves})
        base_rank = next((r for r in ranks if r >= 1), ranks[0])
        base_model = sorted(c.model for c in curves if c.sophistication == base_rank)[0]
        mine = [c for c in curves if c.model == base_model]
        current = sorted(mine, key=lambda c: (c.cleaning != "none", -c.quality_rate, c.quality, c.cleaning))[0]
        n_now = max(current.sizes)
        below = [n for n in current.sizes if n < n_now]
        n_half = min(below, key=lambda n: (abs(math.log(n / (n_now / 2))), n)) if below else None
        levers = {}
        for c in sorted(curves, key=lambda c: (c.quality_rate != current.quality_rate, c.sophistication,
                                                c.model, c.cleaning)):
            if c is current:
                continue
            if (c.quality, c.quality_rate) == (current.quality, current.quality_rate):
                levers[_lever_name(current, c)] = c.run_id
            elif current.quality_rate > 0 and c.quality_rate == 0 and c.cleaning == "none":
                name = "relabelling" + (f" + model {c.model}" if c.model != current.model else "")
                levers[name] = c.run_id
        if n_half is not None:
            levers[MORE_LABELS] = current.run_id
        out[dataset] = OperatingPoint(
            dataset, current.run_id, n_now, n_half, levers, model=current.model,
            data=(current.quality, current.quality_rate, current.cleaning),
            curves={(c.model, c.quality, c.quality_rate, c.cleaning): c.run_id for c in curves})
    return out


def reads(op: OperatingPoint, run_id: str, grid_sizes: tuple = ()) -> list[int]:
    """Sizes of a curve the decision reads: every size of the user's own curve (the report extrapolates
    more labels from its fitted curve), ``n_now`` of every other lever's curve."""
    if run_id == op.current:
        return sorted(set(grid_sizes) | {op.n_now} | ({op.n_half} if op.n_half is not None else set()))
    return [op.n_now] if run_id in op.levers.values() else []


def _scores(points: pd.DataFrame) -> pd.DataFrame:
    """(run_id, train_size, seed, score) with higher = better, ok points only."""
    ok = points[points["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=["run_id", "train_size", "seed", "score"])
    primary = ok["primary_metric"].astype(str)
    frames = []
    for metric, rows in ok.groupby(primary, sort=True):
        score = rows[f"test_{metric}"].astype(float)
        frames.append(rows[["run_id", "train_size", "seed"]].assign(
            score=-score if metric in _LOWER_IS_BETTER else score))
    return pd.concat(frames, ignore_index=True)


def _score_table(points: pd.DataFrame, scores: Optional[pd.DataFrame] = None) -> pd.Series:
    """Scores (higher = better) indexed by (run_id, train_size, seed)."""
    scores = _scores(points) if scores is None else scores
    table = scores.set_index(["run_id", "train_size", "seed"])["score"]
    return table[~table.index.duplicated()]


def _interval(diffs: np.ndarray, confidence: float, *, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each row's mean over seed resamples (rows x seeds, NaN = not measured).

    The same resamples (multinomial counts over the seeds) serve every row, so
    intervals of different levers pair the same seeds, as the report's do.
    """
    rows, k = diffs.shape
    nan = np.full(rows, np.nan)
    if k < 2:
        return nan, nan.copy()
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=n).astype(float)
    present = np.isfinite(diffs)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (counts @ np.where(present, diffs, 0.0).T) / (counts @ present.T.astype(float))
    enough = present.sum(axis=1) >= 2
    alpha = (1 - confidence) / 2
    low, high = nan.copy(), nan.copy()
    if enough.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(means[:, enough], [alpha, 1 - alpha], axis=0, method="inverted_cdf")
        low[enough], high[enough] = q[0], q[1]
    return low, high


def decide(points: pd.DataFrame, ops: dict[str, OperatingPoint], settings: Settings) -> dict[str, Decision]:
    """Per dataset: the lever with the largest mean gain at ``n_now``, and how sure that choice is.

    Gains are paired by seed (a seed fixes the test split): a lever's gain on
    seed s is its score minus the current setup's score on s.  The chosen
    lever is settled when, for every other lever, the interval of the paired
    difference (chosen minus other) lies above 0.
    """
    scores = _scores(points)
    table = _score_table(points, scores)
    out = {}
    for dataset, op in ops.items():
        seeds = sorted({int(s) for s in scores.loc[scores["run_id"] == op.current, "seed"]}) or [0]

        def row(run_id: str, n: Optional[int]) -> np.ndarray:
            return np.array([table.get((run_id, n, s), np.nan) for s in seeds], dtype=float)

        now = row(op.current, op.n_now)
        gains = {STAY: np.zeros(len(seeds))}
        for lever, run_id in op.levers.items():
            gains[lever] = now - row(op.current, op.n_half) if lever == MORE_LABELS else row(run_id, op.n_now) - now
        names = list(gains)
        matrix = np.vstack([gains[name] for name in names])
        measured = np.isfinite(matrix).any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a lever not measured yet: mean of nothing
            means = np.where(measured, np.nanmean(np.where(measured[:, None], matrix, 0.0), axis=1), -np.inf)
        best = int(np.argmax(means))  # first of equals, in lever order
        others = [i for i in range(len(names)) if i != best]
        diffs = matrix[best][None, :] - matrix[others]
        low, high = _interval(diffs, settings.confidence, n=settings.n_resamples, seed=settings.seed)
        dominated = [names[i] for i, lo in zip(others, low) if np.isfinite(lo) and lo > 0]
        runner = others[int(np.argmax([means[i] for i in others]))] if others else None
        j = others.index(runner) if runner is not None else None
        adv = float(np.nanmean(diffs[j])) if j is not None and np.isfinite(diffs[j]).any() else float("nan")
        out[dataset] = Decision(
            dataset=dataset, chosen=names[best], advantage=adv,
            low=float(low[j]) if j is not None else float("nan"),
            high=float(high[j]) if j is not None else float("nan"),
            settled=len(dominated) == len(others),
            runner_up=names[runner] if runner is not None else "",
            gains={n: float(m) for n, m in zip(names, means) if np.isfinite(m)},
            dominated=dominated,
        )
    return out


def report_decide(points: pd.DataFrame, ops: dict[str, OperatingPoint], settings: Settings) -> dict[str, Decision]:
    """The report's operating-point decision (``mvd.report.decision``), in the policy's terms.

    The chosen lever, its advantage over the runner-up with its interval, and
    whether it is settled are the report's own, at the same operating point,
    so the sweeper stops on the decision the report prints.  Which other
    curves still deserve seeds comes from :func:`decide`'s paired per-seed
    comparisons at ``n_now`` (the report names only some rungs as levers),
    plus the curves of the report's chosen lever and runner-up.
    """
    from mvd.report import decision as report
    from mvd.report.aggregate import SeedResamples

    simple = decide(points, ops, settings)
    table = _score_table(points)
    out = {}
    for dataset, op in ops.items():
        rows = points[points["run_id"].isin([op.current, *op.levers.values()])]  # the curves it compares
        d = report.decide(rows, n_now=op.n_now, data=op.data, model=op.model, bootstrap=settings.n_resamples,
                          seed=settings.seed, datasets=[dataset])[dataset]
        ranked = sorted(d.levers, key=lambda lv: (-lv.gain, lv.name))
        runner = ranked[1] if len(ranked) > 1 else None
        low, high, settled = d.advantage_low, d.advantage_high, bool(d.settled)
        if runner is not None and not math.isclose(settings.confidence, report.CONFIDENCE):
            rs = SeedResamples(rows.loc[rows["status"] == "ok", "seed"].unique(), n=settings.n_resamples,
                               seed=settings.seed)
            diff = (ranked[0].resampled - runner.resampled)[rs.inverse]
            alpha = (1 - settings.confidence) / 2
            low, high = (float(x) for x in np.nanquantile(diff, [alpha, 1 - alpha], method="inverted_cdf"))
            settled = low > 0
        keep = [op.curves.get((lv.model, *lv.data)) for lv in ranked[:2]]
        rivals = _rivals_of_best_model(table, op, d, settings)
        settled = settled and not rivals
        out[dataset] = Decision(
            dataset=dataset, chosen=d.chosen or STAY,
            advantage=float("nan") if d.advantage is None else float(d.advantage),
            low=float("nan") if low is None else float(low), high=float("nan") if high is None else float(high),
            settled=settled, runner_up=runner.name if runner is not None else "",
            gains={lv.name: float(lv.gain) for lv in d.levers}, dominated=simple[dataset].dominated,
            leader=simple[dataset].chosen,
            keep_open=[k for k in keep + rivals if k is not None])
    return out


def _rivals_of_best_model(table: pd.Series, op: OperatingPoint, d, settings: Settings) -> list[str]:
    """Models on the user's data that the report left out as levers but that its best model switch does not
    beat with confidence at ``n_now`` (paired by seed): with more seeds either could be the best rung."""
    switches = [lv for lv in d.levers if lv.kind == "model"]
    if not switches:
        return []
    best = op.curves.get((max(switches, key=lambda lv: (lv.gain, lv.name)).model, *op.data))
    listed = {op.curves.get((lv.model, *lv.data)) for lv in d.levers}
    others = [run_id for (model, *data), run_id in sorted(op.curves.items())
              if tuple(data) == tuple(op.data) and run_id not in listed and run_id != op.current]
    if best is None or not others:
        return []
    at = table.xs(op.n_now, level="train_size") if op.n_now in table.index.get_level_values("train_size") else None
    if at is None:
        return others
    seeds = sorted({s for (_, s) in at.index})
    mine = np.array([at.get((best, s), np.nan) for s in seeds])
    diffs = np.vstack([mine - np.array([at.get((r, s), np.nan) for s in seeds]) for r in others])
    low, _ = _interval(diffs, settings.confidence, n=settings.n_resamples, seed=settings.seed)
    return [r for r, lo in zip(others, low) if not (np.isfinite(lo) and lo > 0)]


# ----------------------------------------------------------------------------- the policy

def _coarse(curve: Curve, below: int, factor: float) -> list[int]:
    """Grid sizes about ``factor`` times apart, going down from ``below``: a sketch of the curve's shape."""
    if factor <= 1:
        return []
    out, target, smallest = [], below / factor, min(curve.sizes)
    while target >= smallest / math.sqrt(factor):
        nearest = min(curve.sizes, key=lambda n: (abs(math.log(n / target)), n))
        if nearest < (out[-1] if out else below):
            out.append(nearest)
        target /= factor
    return out


def first_round(grid: list[Curve], ops: dict[str, OperatingPoint], settings: Settings) -> list[Key]:
    """The coarse grid: each lever's curve at the decision's sizes and a few below, on its first seeds."""
    by_id = {c.run_id: c for c in grid}
    keys: list[Key] = []
    for op in ops.values():
        for run_id in dict.fromkeys([op.current, *op.levers.values()]):
            curve = by_id[run_id]
            sizes = [n for n in reads(op, run_id, curve.sizes) if n in curve.sizes]
            if not sizes:
                continue
            sizes = sorted(set(sizes) | set(_coarse(curve, max(sizes), settings.coarse_factor)))
            keys += [(run_id, s, n) for s in curve.seeds[:settings.initial_seeds] for n in sizes]
    return list(dict.fromkeys(keys))


def _open_curves(op: OperatingPoint, decision: Decision) -> list[str]:
    """Curves of the levers still in the running (chosen first), and the current curve."""
    open_levers = [decision.chosen] + [l for l in op.levers if l != decision.chosen and l not in decision.dominated]
    run_ids = [op.current] + [op.levers[l] for l in open_levers if l in op.levers] + list(decision.keep_open)
    return list(dict.fromkeys(run_ids))


def next_round(grid: list[Curve], ops: dict[str, OperatingPoint], asked: set,
               decisions: dict[str, Decision]) -> list[Key]:
    """The next batch: one more seed for each open curve at the sizes the decision reads; then its sizes."""
    by_id = {c.run_id: c for c in grid}
    keys: list[Key] = []
    for dataset, op in ops.items():
        decision = decisions[dataset]
        if decision.settled:
            continue
        for run_id in _open_curves(op, decision):
            curve = by_id[run_id]
            sizes = [n for n in reads(op, run_id, curve.sizes) if n in curve.sizes]
            missing = [s for s in curve.seeds if any((run_id, s, n) not in asked for n in sizes)]
            if missing:
                keys += [(run_id, missing[0], n) for n in sizes if (run_id, missing[0], n) not in asked]
    return list(dict.fromkeys(keys))


def load_curves(files: Iterable[Path]) -> pd.DataFrame:
    """The stored points of the sweep's own curves (their points files), read in one pyarrow pass.

    Between rounds the sweeper rereads only its curves, not the whole study,
    and concatenates Arrow tables (about twice as fast as a DataFrame per file).
    """
    import pyarrow as pa

    from mvd.store import COLUMNS, StoreError, read_table

    tables = []
    for path in files:
        if not Path(path).exists():
            continue
        try:
            tables.append(read_table(path))
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise StoreError(f"points file {path} is corrupt or unreadable ({exc}); move it away or delete it "
                             f"and rerun.") from exc
    if not tables:
        return pd.DataFrame(columns=COLUMNS)
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def point_cost(points: pd.DataFrame) -> pd.Series:
    """CPU-seconds of each point as stored: fit + predict, plus tuning when recorded."""
    cost = points["fit_seconds"].astype(float).fillna(0) + points["predict_seconds"].astype(float).fillna(0)
    if "tune_seconds" in points:
        cost = cost + points["tune_seconds"].astype(float).fillna(0)
    return cost


def _estimate(key: Key, known: pd.DataFrame) -> float:
    """Expected CPU-seconds of a point not yet fitted: the same curve's nearest measured size, scaled by size."""
    run_id, _, n = key
    rows = known[known["run_id"] == run_id]
    if rows.empty:
        rows = known
    if rows.empty:
        return 0.0
    per_size = rows.groupby("train_size")["cost"].mean()
    nearest = min(per_size.index, key=lambda m: abs(math.log(m / n)))
    return float(per_size[nearest] * max(1.0, n / nearest))


def _within_budget(batch: list[Key], settings: Settings, used_points: int, used_cpu: float,
                   known: pd.DataFrame) -> list[Key]:
    if settings.budget is None:
        return batch
    if settings.budget_unit == "points":
        return batch[:max(0, int(settings.budget) - used_points)]
    kept, spend = [], used_cpu
    for key in batch:
        cost = _estimate(key, known)
        if spend + cost > settings.budget:
            break
        kept.append(key)
        spend += cost
    return kept


def run(grid: list[Curve], fetch: Callable[[list[Key]], pd.DataFrame], settings: Settings, *,
        decide_fn: Callable = None, on_round: Optional[Callable[[dict], None]] = None,
        max_rounds: int = 100) -> Record:
    """Run the rounds: ``fetch(keys)`` measures (or reveals) the keys and returns the points of all asked keys.

    ``decide_fn`` rebuilds the decision after each round: the report's (:func:`report_decide`) by default.
    """
    decide_fn = decide_fn or report_decide
    check(settings, grid)
    ops = operating_points(grid)
    record = Record(settings=asdict(settings), grid_points=sum(len(c.sizes) * len(c.seeds) for c in grid))
    asked: set = set()
    batch = first_round(grid, ops, settings)
    points, decisions, stop = pd.DataFrame(), {}, "rounds"
    for number in range(1, max_rounds + 1):
        asked.update(batch)
        points = fetch(sorted(asked))
        decisions = decide_fn(points, ops, settings)
        known = _known(points)
        summary = {"round": number, "asked": len(batch), "points": len(known),
                   "cpu_seconds": round(float(known["cost"].sum()), 4),
                   "decisions": {d: _decision_json(dec, ops[d]) for d, dec in decisions.items()}}
        record.rounds.append(summary)
        on_round and on_round(summary)
        if all(d.settled for d in decisions.values()):
            stop = "settled"
            break
        wanted = [k for k in next_round(grid, ops, asked, decisions) if k not in asked]
        if not wanted:
            stop = "exhausted"
            break
        batch = _within_budget(wanted, settings, len(known), float(known["cost"].sum()), known)
        if not batch:
            stop = "budget"
            break
    known = _known(points)
    record.stop = stop
    record.asked_points = len(asked)
    record.used_points = len(known)
    record.used_cpu_seconds = round(float(known["cost"].sum()), 4)
    record.decisions = {d: _decision_json(dec, ops[d]) for d, dec in decisions.items()}
    record.stop_sentence = _stop_sentence(stop, record, settings)
    record.skipped = _skipped(grid, ops, asked, decisions, stop, settings)
    return record


def _over(settings: Settings, known: pd.DataFrame) -> bool:
    used = len(known) if settings.budget_unit == "points" else float(known["cost"].sum())
    return used >= settings.budget


def _known(points: pd.DataFrame) -> pd.DataFrame:
    if points.empty:
        return pd.DataFrame({"run_id": [], "train_size": [], "cost": []})
    return points.assign(cost=point_cost(points))


def _decision_json(dec: Decision, op: OperatingPoint) -> dict:
    def num(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 6)

    return {"n_now": op.n_now, "current": op.current, "chosen": dec.chosen, "runner_up": dec.runner_up,
            "advantage": num(dec.advantage), "low": num(dec.low), "high": num(dec.high),
            "settled": bool(dec.settled), "sentence": dec.sentence(op.n_now)}


def _stop_sentence(stop: str, record: Record, settings: Settings) -> str:
    spent = f"{record.used_points} of {record.grid_points} grid points, {record.used_cpu_seconds:.1f} CPU-s"
    return {
        "settled": f"stopped: every decision is settled at {settings.confidence:.0%} confidence ({spent})",
        "budget": f"stopped: the budget of {settings.budget:g} {settings.budget_unit} is spent ({spent})"
        if settings.budget is not None else "stopped: budget",
        "exhausted": f"stopped: open decisions, but every point they read is measured ({spent})",
        "rounds": f"stopped: the round limit was reached ({spent})",
    }[stop]


def _skipped(grid: list[Curve], ops: dict[str, OperatingPoint], asked: set, decisions: dict,
             stop: str, settings: Settings) -> list[dict]:
    """Every grid point not asked, grouped per curve and reason."""
    lever_of = {}
    for dataset, op in ops.items():
        lever_of[op.current] = (dataset, None)
        for lever, run_id in op.levers.items():
            lever_of.setdefault(run_id, (dataset, lever))
    out = []
    for curve in grid:
        missing = [(s, n) for s in curve.seeds for n in curve.sizes if (curve.run_id, s, n) not in asked]
        groups: dict = {}
        for s, n in missing:
            groups.setdefault(_reason(curve, n, lever_of, ops, decisions, stop, settings), []).append((s, n))
        for reason, keys in groups.items():
            out.append({"run_id": curve.run_id, "dataset": curve.dataset, "model": curve.model,
                        "quality": curve.quality, "quality_rate": curve.quality_rate, "cleaning": curve.cleaning,
                        "points": len(keys), "seeds": sorted({s for s, _ in keys}),
                        "sizes": sorted({n for _, n in keys}), "reason": reason})
    return out


def _reason(curve: Curve, n: int, lever_of: dict, ops: dict, decisions: dict, stop: str, settings: Settings) -> str:
    if curve.run_id not in lever_of:
        return "not a lever at the operating point (another data condition than the user's)"
    dataset, lever = lever_of[curve.run_id]
    op, dec = ops[dataset], decisions.get(dataset)
    if n not in reads(op, curve.run_id, curve.sizes):
        return f"size not read by the decision (it compares levers at n={op.n_now})"
    if dec is not None and lever in dec.dominated:
        return f"dominated: {lever} trails {dec.leader or dec.chosen} with {settings.confidence:.0%} confidence"
    if dec is not None and dec.settled:
        return f"the decision on {dataset} was settled without it"
    return {"budget": "budget spent", "rounds": "round limit reached"}.get(stop, "not needed by the decision")


def write_record(study_dir, record: Record) -> Path:
    """``<study>/adaptive.json``, written atomically (a reader never sees half a file)."""
    from mvd.files import write_atomic

    text = json.dumps(record.to_json(), indent=2, sort_keys=True, default=_plain) + "\n"
    return write_atomic(Path(study_dir) / RECORD_FILE, text)


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def keys_of(points: pd.DataFrame) -> Iterable[Key]:
    return zip(points["run_id"].astype(str), points["seed"].astype(int), points["train_size"].astype(int))


_WHY = {
    "settled": "It stopped because every decision was settled.",
    "budget": "It stopped because the budget was spent.",
    "exhausted": "It stopped with a decision still open: every point the decision reads was measured.",
    "rounds": "It stopped at the round limit.",
}


def report_blocks(study_dir, n_points: Optional[int] = None) -> list[tuple]:
    """The report's "Adaptive sweep" section (blocks as ``mvd.report.render`` draws them), or [] if not adaptive.

    It says that the study was adaptive, why it stopped, the budget used,
    and how many grid points were skipped for which reason.
    """
    path = Path(study_dir) / RECORD_FILE
    if not path.exists():
        return []
    rec = json.loads(path.read_text())
    share = rec["used_points"] / rec["grid_points"] if rec["grid_points"] else float("nan")
    budget = rec["settings"].get("budget")
    limit = "no cap" if budget is None else f"{budget:g} {rec['settings']['budget_unit']}"
    out = [("h2", "Adaptive sweep"),
           ("p", f"This study ran adaptively (hydra/sweeper=adaptive) in {len(rec['rounds'])} round(s): "
                 f"{rec['used_points']:,} of the grid's {rec['grid_points']:,} points ({share:.0%}), "
                 f"{rec['used_cpu_seconds']:.1f} CPU-seconds of fit and predict (budget: {limit}). {_WHY[rec['stop']]} "
                 f"Intervals at {rec['settings']['confidence']:g}; choices seeded by {rec['settings']['seed']}.")]
    if n_points is not None and n_points > rec["used_points"]:
        out.append(("p", f"The study also holds {n_points - rec['used_points']:,} point(s) the adaptive sweep did "
                         f"not ask for (another run); the sections below use every stored point."))
    out.append(("ul", [d["sentence"] for d in rec["decisions"].values()]))
    counts: dict = {}
    for s in rec["skipped"]:
        key = (s["dataset"], s["reason"])
        counts[key] = counts.get(key, 0) + s["points"]
    if counts:
        out.append(("table", ["dataset", "skipped points", "why"],
                    [[d, f"{n:,}", r] for (d, r), n in sorted(counts.items())]))
    return out


def with_report_section(items: list[tuple], study_dir, n_points: Optional[int] = None) -> list[tuple]:
    """``items`` with the adaptive section right after the verdict (before the figures)."""
    extra = report_blocks(study_dir, n_points)
    if not extra:
        return items
    at = next((i for i, item in enumerate(items) if item[:2] == ("h2", "Figures")), len(items))
    return items[:at] + extra + items[at:]
