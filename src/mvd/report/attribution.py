"""Which lever explains the gain: Shapley values over mind, quantity and quality.

Per dataset, the reference point is (baseline model, start size, noisy
training data if the study varies quality) and the best point is (best
model, largest size, clean data).

- **The start** is the smallest shared size from which every rung on the
  ladder can fit.  A rung cannot fit at a size when, on most seeds, its test
  error equals the constant predictor's (the dummy, rung 0) on the same seed
  and data to 1e-9: it predicts as the dummy does (scikit-learn's default
  boosting needs 20 rows per leaf and predicts the prior below 40 rows; a
  linear model on 256 rows of sms_spam predicts "ham" throughout).  This is
  read from the stored points of the conditions where a dummy was run; the
  summary lists the rungs and sizes it excluded (``cannot_fit``) and says
  so (``start_rule``).  A split from a start where a rung is a constant
  prices that rung's failure to fit, not the lever.
- **The quality player** is one corruption kind at one rate, the same on
  every dataset, so that shares compare across datasets: ``label_noise`` at
  0.2 when the study has it, else the noisiest uncleaned condition; the
  summary records the kind, rate and rule (``reference_quality``,
  ``quality_rule``).  Each coalition of players switched
to its best setting is a corner of that cube, measured as a mean over seeds;
a player's Shapley value is its average marginal gain over the orders in
which the players can join, so the values add up to the total gain exactly.
Intervals come from the same seed resamples as everything else.  The split
measures the chosen range as much as the task, so it is also computed from
every measured start size to the largest (``by_start``) and the report names
its range and never leads with it.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np

from mvd.report.aggregate import SeedResamples
from mvd.report.study import mixed_pool

__all__ = ["shapley", "attribution", "cannot_fit", "fewer_conditions", "PLAYERS", "LABELS", "QUALITY"]

PLAYERS = ("mind", "quantity", "quality")
LABELS = {"mind": "the model upgrade", "quantity": "data quantity", "quality": "data quality"}
# the quality player on every dataset that has it: one kind at one rate, so shares compare across datasets
QUALITY = ("label_noise", 0.2)
# a rung's test error within this of the dummy's on the same seed: it predicts as the constant does
SAME_AS_CONSTANT = 1e-9


def shapley(value, players) -> dict:
    """Shapley value of each player for ``value(frozenset of players) -> array``."""
    players = tuple(players)
    m = len(players)
    out = {}
    for p in players:
        others = [q for q in players if q != p]
        total = 0.0
        for size in range(m):
            weight = factorial(size) * factorial(m - size - 1) / factorial(m)
            for group in combinations(others, size):
                s = frozenset(group)
                total = total + weight * (value(s | {p}) - value(s))
        out[p] = total
    return out


def _condition(q) -> str:
    return "clean data" if float(q[1]) == 0 and q[2] == "none" else \
        f"{q[0]} {float(q[1]):g}" + ("" if q[2] == "none" else f" + {q[2]}")


def _clean(curves, dataset):
    """Condition of clean, uncleaned data (quality 'clean' or rate 0), if the study has it."""
    conditions = sorted({c.condition for c in curves.values() if c.dataset == dataset and not mixed_pool(c.condition)})
    clean = [c for c in conditions if (c[0] == "clean" or c[1] == 0) and c[2] == "none"]
    return (clean or [c for c in conditions if c[0] == "clean" or c[1] == 0] or conditions)[0]


def _reference(curves, dataset, clean, quality=QUALITY) -> tuple[tuple | None, str]:
    """The noisy condition of the quality player and the rule that chose it: ``quality`` (kind, rate)
    uncleaned when the dataset has it, else the highest corruption rate (ties by name); None without one."""
    noisy = sorted({c.condition for c in curves.values()
                    if c.dataset == dataset and c.condition[1] > 0 and c.condition[2] == clean[2]
                    and not mixed_pool(c.condition)},
                   key=lambda q: (-q[1], q[0]))
    if not noisy:
        return None, "no corrupted training data in the study"
    same = [q for q in noisy if q[0] == quality[0] and float(q[1]) == float(quality[1])]
    if same:
        return same[0], f"{quality[0]} at rate {quality[1]:g}, the same kind and rate on every dataset that has it"
    return noisy[0], (f"the noisiest condition ({noisy[0][0]} at rate {noisy[0][1]:g}): the dataset has no "
                      f"{quality[0]} at rate {quality[1]:g}, so its quality share compares with no other dataset's")


def cannot_fit(curves: dict, dataset: str) -> dict[tuple, list[int]]:
    """Per rung curve (sophistication >= 1) of ``dataset``: the sizes where it predicts as the constant does.

    At such a size, on most seeds, the rung's test error equals the dummy's
    (rung 0, same condition) on the same seed -- the same test split -- to
    ``SAME_AS_CONSTANT``.  Conditions without a dummy say nothing.
    """
    dummies = {}
    for c in sorted(curves.values(), key=lambda c: c.key, reverse=True):  # the first dummy by name wins
        if c.dataset == dataset and c.sophistication == 0:
            dummies[c.condition] = c
    out = {}
    for c in sorted(curves.values(), key=lambda c: c.key):
        d = dummies.get(c.condition)
        if c.dataset != dataset or c.sophistication < 1 or d is None:
            continue
        sizes = []
        for i, n in enumerate(c.n):
            j = int(np.searchsorted(d.n, n))
            if j < len(d.n) and d.n[j] == n:
                with np.errstate(invalid="ignore"):
                    same = np.abs(c.wide[i] - d.wide[j]) <= SAME_AS_CONSTANT   # a missing seed is not the same
                if 2 * int(same.sum()) > int(np.isfinite(c.wide[i]).sum()):
                    sizes.append(int(n))
        if sizes:
            out[c.key] = sizes
    return out


def attribution(curves: dict, baseline: str, resamples: dict, metric: dict) -> dict:
    """Per dataset: the corners, Shapley values, shares with intervals and the total gain."""
    out = {}
    for dataset in sorted({c.dataset for c in curves.values()}):
        result = _one(curves, dataset, baseline, resamples[dataset])
        if result is not None:
            result["metric"] = metric[dataset]
            # the same split from every start where every rung can fit: the shares depend on the range as
            # much as on the task
            result["by_start"] = []
            for start in [n for n in result.pop("sizes")[:-1] if n >= result["small_size"]]:
                other = _one(curves, dataset, baseline, resamples[dataset], small=start)
                if other is not None and other["gain"] > 0:
                    result["by_start"].append({"start": int(start), "gain": other["gain"], "shares": {
                        p: other["shares"][p]["share"] for p in other["players"]}})
            out[dataset] = result
    return out


def _one(curves: dict, dataset: str, baseline: str, rs: SeedResamples, small: int | None = None) -> dict | None:
    clean = _clean(curves, dataset)
    noisy, quality_rule = _reference(curves, dataset, clean)
    conditions = [clean] + ([noisy] if noisy else [])
    get = lambda model, cond: curves.get((dataset, model) + tuple(cond))  # noqa: E731
    if get(baseline, clean) is None:
        return None
    models = sorted({c.model for c in curves.values() if c.dataset == dataset})
    usable = [m for m in models if all(get(m, q) is not None for q in conditions)]
    if baseline not in usable:
        conditions, noisy = [clean], None
        usable = [m for m in models if get(m, clean) is not None]

    def common(ms):
        sizes = set(get(ms[0], conditions[0]).n.tolist())
        for m in ms:
            for q in conditions:
                sizes &= set(get(m, q).n.tolist())
        return sorted(sizes)

    # best model: lowest error at the largest size it shares with the baseline, on clean data
    candidates = []
    for m in usable:
        sizes = common([baseline, m])
        if len(sizes) >= 2:
            candidates.append((get(m, clean).error_at(sizes[-1]), m))
    if not candidates:
        return None
    best = min(candidates)[1]
    sizes = common([baseline, best])
    # the rungs it splits, on the data it splits (a rung run on fewer conditions does not move the range)
    unfit = {k: ns for k, ns in cannot_fit(curves, dataset).items() if k[2:] in conditions and k[1] in usable}
    last_unfit = max((n for ns in unfit.values() for n in ns), default=0)
    can_fit = [n for n in sizes[:-1] if n > last_unfit]
    if not can_fit:
        return None  # no shared size where every rung fits, below the largest: no range to split
    small, large = (can_fit[0] if small is None else small), sizes[-1]
    if unfit:
        start_rule = (f"from n = {int(can_fit[0]):,}, the smallest shared size above every size where a rung predicts "
                      f"as the constant (dummy) does: " + ", ".join(
                          f"{k[1]} on {_condition(k[2:])} up to n = {int(max(ns)):,}" for k, ns in sorted(unfit.items())))
    else:
        start_rule = (f"from n = {int(can_fit[0]):,}, the smallest shared size: no rung predicts as the constant (dummy) "
                      "does at any size" + ("" if any(c.dataset == dataset and c.sophistication == 0
                                                       for c in curves.values()) else " (no dummy was run to tell)"))
    players = ("mind", "quantity") + (("quality",) if noisy else ())
    ref_q = noisy or clean

    def corner(s):
        return (best if "mind" in s else baseline, large if "quantity" in s else small,
                clean if ("quality" in s or not noisy) else ref_q)

    def point_error(s):
        model, n, q = corner(s)
        return get(model, q).error_at(n)

    def resampled_error(s):
        model, n, q = corner(s)
        c = get(model, q)
        i = int(np.searchsorted(c.n, n))
        return rs.means(c.wide[i:i + 1], c.seeds)[:, 0]

    value = lambda s: -point_error(s)  # noqa: E731  (gain = error removed)
    phi = shapley(value, players)
    total = value(frozenset(players)) - value(frozenset())
    phi_r = shapley(lambda s: -resampled_error(s), players)
    total_r = sum(phi_r.values())
    shares = {}
    for p in players:
        with np.errstate(invalid="ignore", divide="ignore"):
            share_r = np.where(total_r > 0, phi_r[p] / np.where(total_r > 0, total_r, 1), np.nan)
        s_lo, s_hi = rs.interval(share_r)
        v_lo, v_hi = rs.interval(phi_r[p])
        shares[p] = {"share": float(phi[p] / total) if total > 0 else float("nan"),
                     "ci_low": float(s_lo), "ci_high": float(s_hi),
                     "value": float(phi[p]), "value_ci_low": float(v_lo), "value_ci_high": float(v_hi)}
    gain_lo, gain_hi = rs.interval(total_r)
    positive = float(np.mean(total_r[rs.inverse] > 0))

    def corner_score(s):
        model, n, q = corner(s)
        c = get(model, q)
        return float(c.score[np.searchsorted(c.n, n)])

    return {
        "players": list(players), "baseline": baseline, "best_model": best,
        "compared": list(usable),  # the rungs run under every condition split: the best model is theirs
        "small_size": int(small), "large_size": int(large),
        "reference_quality": {"quality": ref_q[0], "quality_rate": float(ref_q[1]), "cleaning": ref_q[2]},
        "quality_rule": quality_rule if noisy else "clean data only: no quality player",
        "start_rule": start_rule,
        "cannot_fit": [{"model": k[1], "quality": k[2], "quality_rate": float(k[3]), "cleaning": k[4], "sizes": ns}
                       for k, ns in sorted(unfit.items())],
        "score_from": corner_score(frozenset()), "score_to": corner_score(frozenset(players)),
        "error_from": point_error(frozenset()), "error_to": point_error(frozenset(players)),
        "sizes": sizes, "gain": float(total), "gain_ci_low": float(gain_lo), "gain_ci_high": float(gain_hi),
        # share of seed resamples with a positive gain; shares' intervals use only those
        "gain_positive": positive,
        "shares": shares,
    }


def fewer_conditions(entry: dict) -> bool:
    """Whether a summary entry has rungs run under fewer data conditions than those the attribution's best model
    is chosen from (the modern rungs on clean data only, beside a ladder also run on noisy data); an entry
    written before ``compared`` was recorded: no."""
    compared = (entry.get("attribution") or {}).get("compared")
    return compared is not None and bool({m["model"] for m in entry["models"]} - set(compared))
