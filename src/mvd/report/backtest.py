"""How often the report's advice and intervals would have been right, on the study's own data.

``decisions``: hide the study's largest sizes, make the operating-point
decision from the rest (at the largest visible size), reveal, and score
whether the chosen lever was the one that actually won (hit) and how many
metric points were lost when it was not (regret), beside the simple rules'
picks on the same trials (more labels priced at zero gain, the last
doubling's gain again, half of it).  The cuts are the visible sizes nearest
n_max/2, n_max/4 and n_max/8 that leave at least 4 sizes to fit, so that
twice the data at the cut was measured; a cut is scored only where a forecast
was made, over the levers whose value was measured.

``intervals``: per curve, forecast from the anchors up to n_max/2 and count
how often the 80% and 95% intervals hold the held-out means (with their
median widths).

``pooled``: every dataset's decision backtest added up per unit, with each
simple rule's more-labels error beside the forecast's and an interval
over the datasets for the difference: a study's few dozen trials
can favour a rule by chance, and the interval says whether they do.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from mvd.errors import ConfigError
from mvd.report import families, forecast
from mvd.report.aggregate import SeedResamples
from mvd.report.decision import hidden, revealed
from mvd.report.fits import sigma_floor

__all__ = ["decisions", "describe", "intervals", "pooled", "MIN_SIZES", "MIN_DATASETS", "check_sizes", "RULES"]

MIN_SIZES = 4
_CUTS = (0.5, 0.25, 0.125)


def check_sizes(sizes, dataset: str) -> None:
    """A backtest asked for on fewer than ``MIN_SIZES`` sizes is refused in one sentence."""
    if len(sizes) < MIN_SIZES:
        raise ConfigError(f"verdict.backtest=true needs at least {MIN_SIZES} measured sizes per dataset; dataset "
                          f"{dataset!r} has {len(sizes)} ({', '.join(str(int(s)) for s in sizes)}); "
                          "add sizes or set verdict.backtest=null.")


def _cuts(sizes: np.ndarray) -> list[int]:
    sizes = np.sort(np.unique(sizes))
    out = []
    for frac in _CUTS:
        visible = sizes[sizes <= sizes.max() * frac * (1 + 1e-9)]
        if len(visible) >= MIN_SIZES and int(visible.max()) not in out:
            out.append(int(visible.max()))
    return out


# the simple rules a person could apply by hand to price more labels, as the ratio of each further doubling's
# gain to the one before, starting from the last measured doubling's gain
RULES = {"last": 0.0, "again": 1.0, "half": 0.5}
_NAMES = {"method": "the forecast", "last": "zero gain", "again": "the last doubling's gain again",
          "half": "half of it"}


def _rule_gain(last: float, factor: float, ratio: float) -> float:
    """A simple rule's gain from n to factor·n: log2(factor) doublings, each ``ratio`` times the one before."""
    k = float(np.log2(max(factor, 1.0)))
    if ratio == 0.0:
        return 0.0
    return last * k if ratio == 1.0 else last * ratio * (1 - ratio**k) / (1 - ratio)


def _pick(levers: list, gains: dict):
    return max(levers, key=lambda lv: (gains[lv.key], lv.name))


def decisions(decision) -> dict | None:
    """Hit rate and regret of one dataset's decision (from ``decide``) and of each simple rule on the same trials,
    or None with too few sizes.

    A trial (a cut) is scored only where a forecast was made (a lever's value lay beyond the sizes up to the
    cut) and only over levers whose value after the lever was measured (the truth is never extrapolated).
    Names in the result: ``trials`` (each with ``n``, ``chosen``, ``winner``, ``hit``, ``predicted_gain``,
    ``actual_gain``, ``regret`` and ``rules``: {rule: {chosen, hit, regret, labels_gain}}), ``hit_rate`` and
    ``mean_regret`` (the method's), ``labels_error`` (the method's mean absolute error on the gain of more labels),
    and ``rules``: {"method" | "last" | "again" | "half": {hits, trials, hit_rate, mean_regret, labels_error}},
    where a rule prices more labels (the next doubling and the user's step) by the last doubling's gain
    (``RULES``: 0 for ``last``, the gain again, half of it) and every other lever as the method does.
    """
    curves = decision._context[0]
    current = curves[(decision.dataset, decision.model) + tuple(decision.data)]
    scale = 100.0 if decision.unit == "points" else 1.0
    cuts = _cuts(current.n)
    trials = []
    for cut in cuts:
        guess, truth = hidden(decision, cut), revealed(decision, cut)
        # levers matched by their typed key: a model lever may rest on its tuned version in one and not the other;
        # only levers whose value after the lever was measured are scored
        actual = {lv.key: lv for lv in truth.levers if not lv.extrapolated}
        common = [lv for lv in guess.levers if lv.key in actual]
        if not common or not any(lv.extrapolated for lv in common):
            continue
        seen = current.n <= cut * (1 + 1e-9)
        last = forecast.gains(current.n[seen], current.wide[seen]).last * scale
        truth_gain = {lv.key: actual[lv.key].gain for lv in common}
        best = max(truth_gain.values())
        won = max(common, key=lambda lv: (truth_gain[lv.key], lv.name))
        labels = [lv for lv in common if lv.kind in ("labels", "step")]
        predicted = {"method": {lv.key: lv.gain for lv in common}}
        for rule, ratio in RULES.items():
            gains = {lv.key: lv.gain for lv in common}
            for lv in labels:
                gains[lv.key] = _rule_gain(last if np.isfinite(last) else 0.0, lv.n / cut, ratio)
            predicted[rule] = gains
        scored = {}
        for rule, gains in predicted.items():
            pick = _pick(common, gains)
            scored[rule] = {"chosen": pick.name, "hit": pick.key == won.key, "regret": best - truth_gain[pick.key],
                            "labels_gain": next((gains[lv.key] for lv in labels if lv.kind == "labels"), None)}
        method = scored.pop("method")
        pick = _pick(common, predicted["method"])
        trials.append({"n": cut, "chosen": method["chosen"], "winner": won.name, "hit": method["hit"],
                       "predicted_gain": pick.gain, "actual_gain": truth_gain[pick.key], "regret": method["regret"],
                       "labels_actual": next((truth_gain[lv.key] for lv in labels if lv.kind == "labels"), None),
                       "labels_predicted": method["labels_gain"], "rules": scored})
    if not trials:
        return None
    summary = _scores(trials)
    return {"trials": trials, "hit_rate": summary["method"]["hit_rate"], "mean_regret": summary["method"]["mean_regret"],
            "labels_error": summary["method"]["labels_error"], "rules": summary, "unit": decision.unit}


def describe(result: dict, digits: int = 1) -> str:
    """The method's hits, regret and labels error beside each simple rule's, on the same trials, in one sentence."""
    def one(name, r):
        err = "" if r["labels_error"] is None else f", more-labels error {r['labels_error']:.{digits}f}"
        return f"{name} {r['hits']}/{r['trials']} (regret {r['mean_regret']:.{digits}f}{err})"

    rules = result["rules"]
    return ("On the trials where a forecast was made, the lever that then won was picked by "
            + "; ".join(one(_NAMES[k], rules[k]) for k in ("method",) + tuple(RULES)) + f" ({result['unit']}).")


# the fewest datasets the interval over datasets is drawn from (t with 2 degrees of freedom: wide, yet it held
# 91-97% at 95% on simulated studies of 3 to 14 datasets, benchmarks/pooled_interval_bench.py)
MIN_DATASETS = 3


def _labels_errors(trials: list, rule: str) -> list[float]:
    """Absolute errors of a rule's more-labels gain on the trials where more labels were a measured lever."""
    guess = (lambda t: t["labels_predicted"]) if rule == "method" else (lambda t: t["rules"][rule]["labels_gain"])
    return [abs(guess(t) - t["labels_actual"]) for t in trials
            if t["labels_actual"] is not None and guess(t) is not None]


def _scores(trials: list) -> dict:
    """Per rule (the method, then ``RULES``): hits, trials, hit rate, mean regret and more-labels error over
    ``trials``."""
    out = {}
    for rule in ("method",) + tuple(RULES):
        picks = trials if rule == "method" else [t["rules"][rule] for t in trials]
        errors = _labels_errors(trials, rule)
        out[rule] = {"hits": int(sum(p["hit"] for p in picks)), "trials": len(picks),
                     "hit_rate": float(np.mean([p["hit"] for p in picks])),
                     "mean_regret": float(np.mean([p["regret"] for p in picks])),
                     "labels_error": float(np.mean(errors)) if errors else None}
    return out


def _difference(per_dataset: list[tuple[list, list]], confidence: float) -> dict:
    """A rule's mean more-labels error minus the forecast's over the pooled trials, with a Student-t interval whose
    standard error is the jackknife's over datasets (leave one dataset out; the trials of one dataset share its
    curves), as the report's intervals over seeds are: a percentile bootstrap over a handful of datasets is too
    narrow."""
    sums = np.array([sum(r) - sum(m) for r, m in per_dataset])
    counts = np.array([len(m) for _, m in per_dataset], dtype=float)
    k, value = len(per_dataset), float(sums.sum() / counts.sum())
    if k < MIN_DATASETS:
        return {"value": value, "ci_low": None, "ci_high": None, "datasets": k}
    loo = (sums.sum() - sums) / (counts.sum() - counts)
    half = stats.t.ppf(0.5 + confidence / 2, k - 1) * math.sqrt((k - 1) / k * ((loo - loo.mean()) ** 2).sum())
    return {"value": value, "ci_low": value - half, "ci_high": value + half, "datasets": k}


def pooled(entries: dict, *, confidence: float = 0.95) -> dict | None:
    """Every dataset's decision backtest (``decisions``, in ``entries[name]["backtest"]``) added up per unit (a
    rate's points and an RMSE are not added): per rule hits, trials, mean regret and more-labels error over all
    trials, and each simple rule's more-labels error minus the forecast's (``labels_error_difference``; negative:
    the rule was closer) with a jackknife t-interval over the datasets (none with fewer than ``MIN_DATASETS``).
    None where no dataset has a backtest."""
    by_unit: dict[str, list[tuple[str, dict]]] = {}
    for name, entry in sorted(entries.items()):
        got = (entry.get("backtest") or {}).get("decisions")
        if got:
            by_unit.setdefault(got["unit"], []).append((name, got))
    out = {}
    for unit, rows in by_unit.items():
        trials = [t for _, got in rows for t in got["trials"]]
        # per dataset that measured more labels: its trials and the forecast's errors on them
        measured = [(got["trials"], errs) for _, got in rows if (errs := _labels_errors(got["trials"], "method"))]
        diff = {rule: _difference([(_labels_errors(ts, rule), errs) for ts, errs in measured], confidence)
                if measured else None for rule in RULES}
        result = {"datasets": len(rows), "trials": len(trials),
                  "labels_trials": sum(len(errs) for _, errs in measured), "rules": _scores(trials),
                  "labels_error_difference": diff, "confidence": confidence}
        out[unit] = {**result, "sentence": describe_pooled(result, unit)}
    return out or None


def describe_pooled(result: dict, unit: str, digits: int = 2) -> str:
    """The pooled backtest in words: each rule's hits and regret, each rule's more-labels error, and each simple
    rule's error minus the forecast's with its interval over datasets where there are enough of them."""
    rules, diff = result["rules"], result["labels_error_difference"]
    k = result["datasets"]
    order = ("method",) + tuple(RULES)
    picks = "; ".join(f"{_NAMES[r]} in {rules[r]['hits']} (regret {rules[r]['mean_regret']:.{digits}f})"
                      for r in order)
    whose = f"the {k} datasets' backtests" if k != 1 else "the one dataset's backtest"
    text = (f"Over {whose} ({result['trials']} trials; regrets and errors in {unit}), the lever that then won was "
            f"picked by {picks}.")
    if rules["method"]["labels_error"] is None:
        return text
    errors = ", ".join(f"{_NAMES[r]} {rules[r]['labels_error']:.{digits}f}" for r in order
                       if rules[r]["labels_error"] is not None)
    text += (f" The mean error of the more-labels gain on the {result['labels_trials']} trials that measured it: "
             f"{errors}.")
    shown = [r for r in RULES if diff[r] is not None]
    if not shown:
        return text
    m = diff[shown[0]]["datasets"]  # those that measured more labels
    if diff[shown[0]]["ci_low"] is None:
        return text + (f" With {m} dataset{'s' if m != 1 else ''} (fewer than {MIN_DATASETS}) no interval tells "
                       "the rules apart.")

    def told(d):  # read off the printed bounds: an interval that prints a zero end is not told apart
        low, high = round(d["ci_low"], digits), round(d["ci_high"], digits)
        return "the forecast closer" if low > 0 else "the forecast further off" if high < 0 else "not told apart"

    parts = ", ".join(f"{_NAMES[r]} {diff[r]['value']:+.{digits}f} [{diff[r]['ci_low']:+.{digits}f}, "
                      f"{diff[r]['ci_high']:+.{digits}f}] ({told(diff[r])})" for r in shown)
    return (text + f" A rule's error minus the forecast's, with a {round(100 * result['confidence'])}% interval "
            f"over the {m} datasets (each left out in turn): {parts}.")


def _forecast_coverage(c, levels) -> dict | None:
    """The forecast's intervals on one curve: fitted on the anchors up to n_max/2, checked on the means above."""
    inside = c.n <= c.n.max() * 0.5 * (1 + 1e-9)
    unit = forecast._unit(c.wide)
    if unit is None or inside.sum() < MIN_SIZES or (~inside).sum() < 1 or c.wide.shape[1] < 2:
        return None
    fc = forecast.forecast(c.n[inside], c.wide[inside], c.n[~inside], unit=unit)
    truth = np.nanmean(c.wide[~inside], axis=1)
    out = {"family": f"gain model ({fc.gains.regime})", "held_out": int((~inside).sum()), "covered": {}, "width": {}}
    for lv in levels:
        low, high = fc.interval(lv)
        out["covered"][lv] = int(((low <= truth) & (truth <= high)).sum())
        out["width"][lv] = list(unit * (high - low))
    return out


def _other_coverage(c, levels, resamples: SeedResamples) -> dict | None:
    """The intervals of an error that is not a rate (``forecast.predict``: half the last gain inside the backtest
    family's interval scale) on one curve: fitted on the anchors up to n_max/2, checked on the means above."""
    inside = c.n <= c.n.max() * 0.5 * (1 + 1e-9)
    if inside.sum() < MIN_SIZES or (~inside).sum() < 1:
        return None
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(c.wide, axis=1)
    weight = 1.0 / sigma_floor(c.se, c.err) ** 2
    scores = families.backtest_scores(c.n[inside], mean[inside], weight[inside])
    family, runner = families.choose(scores, families.noise_of(c.wide[inside]))
    error = scores.get(family, 0.0)
    ex = forecast.predict(c.n[inside], c.wide[inside], c.seeds, weight[inside], c.n[~inside], resamples,
                          family=family, runner_up=runner, backtest_error=error if np.isfinite(error) else 0.0)
    if ex.dof < 1:
        return None
    out = {"family": ex.family, "held_out": int((~inside).sum()), "covered": {}, "width": {}}
    for lv in levels:
        low, high = ex.interval(lv)
        out["covered"][lv] = int(((low <= mean[~inside]) & (mean[~inside] <= high)).sum())
        out["width"][lv] = list(high - low)
    return out


def intervals(curves: dict, dataset: str, resamples: SeedResamples, levels=(0.8, 0.95),
              conditions=None) -> dict | None:
    """Empirical coverage of the extrapolation intervals on the dataset's own held-out anchors.

    Rates are forecast from the last doublings' gains (``forecast``), other errors by half the last gain inside
    the backtested family's interval scale (``forecast.predict``).
    ``conditions`` limits the curves to those data conditions (the report checks the curves on
    the operating point's data, which its decision extrapolates).  ``median_width`` is the median width of
    the intervals at each level, in points for rates (else the metric's unit).
    """
    held, covered, chosen, widths = 0, {lv: 0 for lv in levels}, {}, {lv: [] for lv in levels}
    for c in sorted((c for c in curves.values() if c.dataset == dataset
                     and (conditions is None or c.condition in conditions)), key=lambda c: c.key):
        got = _forecast_coverage(c, levels)
        if got is None and forecast._unit(c.wide) is None:
            got = _other_coverage(c, levels, resamples)
        if got is None:
            continue
        held += got["held_out"]
        for lv in levels:
            covered[lv] += got["covered"][lv]
            widths[lv] += got.get("width", {}).get(lv, [])
        chosen[got["family"]] = chosen.get(got["family"], 0) + 1
    if held == 0:
        return None
    return {"held_out": held, "coverage": {f"{int(round(lv * 100))}": covered[lv] / held for lv in levels},
            "median_width": {f"{int(round(lv * 100))}": float(np.median(widths[lv])) if widths[lv] else None
                             for lv in levels},
            "families": dict(sorted(chosen.items()))}
