"""Adaptive sweeps: spend fits where the operating-point decision is still open.

A full grid (curves x sizes x seeds) spends most of its CPU on points that do
not change the answer.  The policy here runs a study in rounds and reads only
the store:

1. **Round 1, coarse:** every curve that measures a lever of the decision
   (``mvd.levers.levers_at``, the report's own levers) gets the size the
   decision reads, the operating point ``n_now`` (the user's own curve: every
   size, since more labels are extrapolated from it), plus grid sizes about
   ``coarse_factor`` times apart below it (a sketch of the curve for the
   report), for its first ``initial_seeds`` seeds.  Curves that are no lever
   at the operating point (a noise rate that is neither the user's nor clean)
   are never fitted.
2. **Each later round:** the report's decision (``mvd.report.decision.decide``)
   is rebuilt from the points asked so far; every lever still open (the
   chosen one, the levers tied with it, and every lever whose lead interval
   against it contains 0) gets its next seed at the sizes the decision reads
   ("add seeds where intervals overlap"); levers behind with confidence get
   nothing more.
3. **Stop** when every dataset's decision is settled (the report's rule: the
   chosen lever leads the best lever of every other kind of answer, its
   interval at ``confidence`` excluding 0), when the budget (points or
   CPU-seconds) is spent, or when nothing the decision could use is left to
   measure; the record says which.

The decision after a round is computed from the points *asked* up to that
round only (never from whatever else the store holds), so a rerun with the
same settings makes the same choices, and a round killed half way reruns
without fitting any stored point twice.  ``run`` drives the rounds through a
``fetch`` callable: the Hydra sweeper launches jobs, ``mvd.replay`` reveals
stored points.  The report's "Adaptive sweep" section lives in
``mvd.report.sweep``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
import pandas as pd

from mvd.errors import ConfigError
from mvd.levers import CurveKey, baseline_model, levers_at, operating_condition, tuned_name
from mvd.report.sweep import RECORD_FILE

__all__ = [
    "Curve", "Settings", "OperatingPoint", "Standing", "Record",
    "check", "check_settings", "grid_from_points", "operating_points", "decisions",
    "first_round", "next_round", "run", "point_cost", "load_curves", "write_record", "RECORD_FILE", "UNITS",
]

UNITS = ("points", "cpu_seconds")
STAY = "keep as is"

Key = tuple  # (run_id, seed, train_size)


@dataclass(frozen=True)
class Curve:
    """One curve of the grid: what it is, its full sizes and seeds, and how to launch it."""

    run_id: str
    dataset: str
    model: str  # the report's name: a tuned curve's ends in " (tuned)" (mvd.levers.tuned_name)
    sophistication: int
    quality: str
    quality_rate: float
    cleaning: str
    sizes: tuple
    seeds: tuple
    overrides: tuple = ()

    @property
    def key(self) -> CurveKey:
        return CurveKey(self.dataset, self.model, self.quality, float(self.quality_rate), self.cleaning)


@dataclass(frozen=True)
class Settings:
    # the decision's interval level; settled when the leads' intervals exclude 0
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
    levers: dict  # lever name (its default version's) -> run_ids of the curves that measure it
    model: str = ""  # the user's model and data (quality, rate, cleaning)
    data: tuple = ()
    specs: tuple = ()  # the levers as mvd.levers lists them (LeverSpec)

    def runs_of(self, key) -> tuple:
        """The run_ids of the lever with that typed key (``Lever.key`` of the report's decision)."""
        return self.levers.get(self.name_of(key), ())

    def name_of(self, key) -> str | None:
        """The name this operating point gives the lever with that typed key."""
        return next((spec.name() for spec in self.specs if spec.key == key), None)


@dataclass
class Standing:
    """Where one dataset's decision (the report's) stands after a round, in the policy's terms."""

    dataset: str
    chosen: str
    advantage: float  # the chosen lever's lead over the best lever of another kind, in metric points
    low: float
    high: float
    settled: bool
    runner_up: str = ""  # that lever
    answer: str = ""  # the chosen lever's kind of answer (mvd.levers.ANSWER): what "settled" settles
    gains: dict = field(default_factory=dict)  # lever -> mean gain over the current setup
    ties: list = field(default_factory=list)  # levers tied with the chosen one
    dominated: list = field(default_factory=list)  # levers behind the chosen one with confidence
    keep_open: list = field(default_factory=list)  # run_ids of the levers still in the running

    def sentence(self, n_now: int) -> str:
        state = "settled" if self.settled else "open"
        tie = f", tied with {' and '.join(self.ties)}" if self.ties else ""
        if not self.runner_up:
            return f"on {self.dataset} at n={n_now}: {self.chosen}{tie} ({state})"
        return (f"on {self.dataset} at n={n_now}: {self.chosen} (gain {self.gains[self.chosen]:+.3f}){tie}, "
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
                          model=tuned_name(str(first["model"]), _flag(first.get("tuned"))),
                          sophistication=int(first["sophistication"]), quality=str(first["quality"]),
                          quality_rate=float(first["quality_rate"]), cleaning=str(first["cleaning"]),
                          sizes=tuple(sorted(int(n) for n in rows["train_size"].unique())),
                          seeds=tuple(sorted(int(s) for s in rows["seed"].unique()))))
    return grid


def _flag(value) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def operating_points(grid: list[Curve]) -> dict[str, OperatingPoint]:
    """Per dataset: the user's current curve and the levers the report's decision compares from it.

    The user's data is the noisiest uncleaned condition of the study (clean
    when quality does not vary) and their model the least sophisticated
    untuned model above sophistication 0 (the report's defaults,
    ``mvd.levers``); ``n_now`` is the largest size of that curve's grid.  The
    levers are ``mvd.levers.levers_at``'s: more labels (the user's own curve),
    tuning, every other model (default and tuned versions), each cleaning,
    relabelling (or target rows under a shift) and their combinations.
    """
    out = {}
    for dataset in sorted({c.dataset for c in grid}):
        curves = [c for c in grid if c.dataset == dataset]
        by_key = {c.key: c for c in curves}
        q = operating_condition(c.key.condition for c in curves)
        model = baseline_model(curves, q)
        current = by_key[CurveKey.at(dataset, model, q)]
        n_now = max(current.sizes)
        levers = {}
        specs = tuple(levers_at(curves, dataset, q, model, n_now))
        for spec in specs:
            levers[spec.name()] = tuple(by_key[k].run_id for k in (spec.curve, spec.twin) if k is not None)
        out[dataset] = OperatingPoint(dataset, current.run_id, n_now, levers, model=model, data=tuple(q),
                                      specs=specs)
    return out


def reads(op: OperatingPoint, run_id: str, grid_sizes: tuple = ()) -> list[int]:
    """Sizes of a curve the decision reads: every size of the user's own curve (the report extrapolates
    more labels from its fitted curve), ``n_now`` of every other lever's curve."""
    if run_id == op.current:
        return sorted(set(grid_sizes) | {op.n_now})
    return [op.n_now] if any(run_id in runs for runs in op.levers.values()) else []


def decisions(points: pd.DataFrame, ops: dict[str, OperatingPoint], settings: Settings) -> dict[str, Standing]:
    """The report's decision (``mvd.report.decision.decide``) per dataset, at its operating point, in the policy's
    terms: the chosen lever, its lead over the best lever of another kind with its interval, whether it is
    settled, and which levers are behind it with confidence (their curves get no more seeds)."""
    from mvd.report import decision as report

    ok = points[points["status"] == "ok"] if "status" in points else points
    out = {}
    for dataset, op in ops.items():
        runs = {op.current} | {r for rs in op.levers.values() for r in rs}
        rows = ok[ok["run_id"].isin(runs)]  # the curves it compares, as asked so far
        d = report.decide(rows, n_now=op.n_now, data=op.data, model=op.model, bootstrap=settings.n_resamples,
                          seed=settings.seed, datasets=[dataset], confidence=settings.confidence)[dataset]
        if d.chosen is None:
            out[dataset] = Standing(dataset, STAY, math.nan, math.nan, math.nan, False,
                                    keep_open=[op.current])
            continue
        chosen = d.lever(d.chosen)
        dominated, keep = [], [op.current, *op.runs_of(chosen.key)]
        for lv in d.levers:
            if lv is chosen:
                continue
            if d.lead(lv).settled:
                dominated.append(op.name_of(lv.key) or lv.name)
            else:
                keep += op.runs_of(lv.key)
        nan = float("nan")
        out[dataset] = Standing(
            dataset=dataset, chosen=d.chosen, advantage=nan if d.advantage is None else float(d.advantage),
            low=nan if d.advantage_low is None else float(d.advantage_low),
            high=nan if d.advantage_high is None else float(d.advantage_high), settled=bool(d.settled),
            runner_up=d.rival or "", answer=chosen.answer, gains={lv.name: float(lv.gain) for lv in d.levers}, ties=list(d.ties),
            dominated=dominated, keep_open=list(dict.fromkeys(keep)))
    return out


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
        for run_id in dict.fromkeys([op.current, *(r for runs in op.levers.values() for r in runs)]):
            curve = by_id[run_id]
            sizes = [n for n in reads(op, run_id, curve.sizes) if n in curve.sizes]
            if not sizes:
                continue
            sizes = sorted(set(sizes) | set(_coarse(curve, max(sizes), settings.coarse_factor)))
            keys += [(run_id, s, n) for s in curve.seeds[:settings.initial_seeds] for n in sizes]
    return list(dict.fromkeys(keys))


def next_round(grid: list[Curve], ops: dict[str, OperatingPoint], asked: set,
               decisions: dict[str, Standing]) -> list[Key]:
    """The next batch: one more seed for each open curve at the sizes the decision reads; then its sizes."""
    by_id = {c.run_id: c for c in grid}
    keys: list[Key] = []
    for dataset, op in ops.items():
        decision = decisions[dataset]
        if decision.settled:
            continue
        for run_id in decision.keep_open:  # the current curve and the levers still in the running
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

    ``decide_fn`` rebuilds the decision after each round: the report's (:func:`decisions`) by default.
    """
    decide_fn = decide_fn or decisions
    check(settings, grid)
    ops = operating_points(grid)
    record = Record(settings=asdict(settings), grid_points=sum(len(c.sizes) * len(c.seeds) for c in grid))
    asked: set = set()
    batch = first_round(grid, ops, settings)
    points, standing, stop = pd.DataFrame(), {}, "rounds"
    for number in range(1, max_rounds + 1):
        asked.update(batch)
        points = fetch(sorted(asked))
        standing = decide_fn(points, ops, settings)
        known = _known(points)
        summary = {"round": number, "asked": len(batch), "points": len(known),
                   "cpu_seconds": round(float(known["cost"].sum()), 4),
                   "decisions": {d: _decision_json(dec, ops[d]) for d, dec in standing.items()}}
        record.rounds.append(summary)
        on_round and on_round(summary)
        if all(d.settled for d in standing.values()):
            stop = "settled"
            break
        wanted = [k for k in next_round(grid, ops, asked, standing) if k not in asked]
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
    record.decisions = {d: _decision_json(dec, ops[d]) for d, dec in standing.items()}
    record.stop_sentence = _stop_sentence(stop, record, settings)
    record.skipped = _skipped(grid, ops, asked, standing, stop, settings)
    return record


def _known(points: pd.DataFrame) -> pd.DataFrame:
    if points.empty:
        return pd.DataFrame({"run_id": [], "train_size": [], "cost": []})
    return points.assign(cost=point_cost(points))


def _decision_json(dec: Standing, op: OperatingPoint) -> dict:
    def num(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 6)

    return {"n_now": op.n_now, "current": op.current, "chosen": dec.chosen, "runner_up": dec.runner_up,
            "advantage": num(dec.advantage), "low": num(dec.low), "high": num(dec.high),
            "settled": bool(dec.settled), "ties": list(dec.ties), "answer": dec.answer,
            "sentence": dec.sentence(op.n_now)}


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
        for lever, runs in op.levers.items():
            for run_id in runs:
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
        return f"dominated: {lever} trails {dec.chosen} with {settings.confidence:.0%} confidence"
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
