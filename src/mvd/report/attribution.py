"""Which lever explains the gain: Shapley values over mind, quantity and quality.

Per dataset, the reference point is (baseline model, smallest size, the
study's noisiest training data if it varies quality) and the best point is
(best model, largest size, clean data).  Each coalition of players switched
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

__all__ = ["shapley", "attribution", "PLAYERS", "LABELS"]

PLAYERS = ("mind", "quantity", "quality")
LABELS = {"mind": "the model upgrade", "quantity": "data quantity", "quality": "data quality"}


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


def _clean(curves, dataset):
    """Condition of clean, uncleaned data (quality 'clean' or rate 0), if the study has it."""
    conditions = sorted({c.condition for c in curves.values() if c.dataset == dataset and not mixed_pool(c.condition)})
    clean = [c for c in conditions if (c[0] == "clean" or c[1] == 0) and c[2] == "none"]
    return (clean or [c for c in conditions if c[0] == "clean" or c[1] == 0] or conditions)[0]


def _noisiest(curves, dataset, clean):
    """Highest corruption rate of the dataset's uncleaned curves (ties by name), or None."""
    noisy = sorted({c.condition for c in curves.values()
                    if c.dataset == dataset and c.condition[1] > 0 and c.condition[2] == clean[2]
                    and not mixed_pool(c.condition)},
                   key=lambda q: (-q[1], q[0]))
    return noisy[0] if noisy else None


def attribution(curves: dict, baseline: str, resamples: dict, metric: dict) -> dict:
    """Per dataset: the corners, Shapley values, shares with intervals and the total gain."""
    out = {}
    for dataset in sorted({c.dataset for c in curves.values()}):
        result = _one(curves, dataset, baseline, resamples[dataset])
        if result is not None:
            result["metric"] = metric[dataset]
            # the same split from every measured start: the shares depend on the range as much as on the task
            result["by_start"] = []
            for start in result.pop("sizes")[:-1]:
                other = _one(curves, dataset, baseline, resamples[dataset], small=start)
                if other is not None and other["gain"] > 0:
                    result["by_start"].append({"start": int(start), "gain": other["gain"], "shares": {
                        p: other["shares"][p]["share"] for p in other["players"]}})
            out[dataset] = result
    return out


def _one(curves: dict, dataset: str, baseline: str, rs: SeedResamples, small: int | None = None) -> dict | None:
    clean = _clean(curves, dataset)
    noisy = _noisiest(curves, dataset, clean)
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
    small, large = (sizes[0] if small is None else small), sizes[-1]
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
        "small_size": int(small), "large_size": int(large),
        "reference_quality": {"quality": ref_q[0], "quality_rate": float(ref_q[1]), "cleaning": ref_q[2]},
        "score_from": corner_score(frozenset()), "score_to": corner_score(frozenset(players)),
        "error_from": point_error(frozenset()), "error_to": point_error(frozenset(players)),
        "sizes": sizes, "gain": float(total), "gain_ci_low": float(gain_lo), "gain_ci_high": float(gain_hi),
        # share of seed resamples with a positive gain; shares' intervals use only those
        "gain_positive": positive,
        "shares": shares,
    }
