"""The shift section: "we drifted — relabel, collect, or upgrade?"

Built only from stored points, with every interval computed on the same
seed resamples (``aggregate.SeedResamples``: Student's t over the seeds), so
models, rates and sources are paired exactly.

- **What a target label is worth.** A mixed curve fits m rows of one source
  and adds k rows of the other. The reference curve (the base source alone,
  fitted with a power law) reaches the mixed curve's error at n*; the k added
  rows were worth n* - m base rows, so one added row is worth
  ``(n* - m) / k`` base rows: the data-equivalent multiplier between sources.
  Beyond twice the reference's largest size it is a lower bound; when the
  mixed error lies below the reference's fitted floor no amount of base data
  matches it ("never").  The fit never overrules a measured point: where
  the reference's measured curve (its running best from m on) reaches the
  mixed error, n* is read off it when the fit says "never", a bound, or
  fewer than m rows; a fitted floor above a measured error is no ground for
  "never" (a bound at the largest size instead); and where the mixed pool
  scores no better than the m base rows alone, the worth is withheld
  ("no gain", said in words) rather than printed as a negative multiplier.
- **The decision at the operating point** (the base budget m): error cut by
  adding k target labels (relabel), by k more shifted labels (collect: the
  shifted curve's fit at m + k), and by the best model on the same m shifted
  labels (upgrade), each with its interval; the headline names the largest.
- **Shift cost and prior correction.** Error at the largest common size per
  shift rate against rate 0, and the share of that loss a cleaning (prior
  correction) wins back.
- **Test-label noise.** Scores against noisy test labels at each rate, the
  measured gain between the two best models (by true labels), and the noise
  rate where their order flips (linear interpolation between measured rates;
  "none up to" the largest rate when it never does).
"""

from __future__ import annotations

import json
from typing import Optional

import numpy as np
import pandas as pd

from mvd.report.aggregate import SeedResamples, standard_error
from mvd.report.equivalence import reach
from mvd.report.fits import fit_many, invert, sigma_floor
from mvd.report.study import LOWER_IS_BETTER, SHIFT_KINDS

__all__ = ["source_multiplier", "flip_rate", "shift_section", "blocks", "render_markdown", "headline"]

# extrapolation limit, as a factor of the reference curve's largest observed size
REACH_UP = 2.0
_KEYS = ("dataset", "model", "quality", "quality_rate", "cleaning")


def _r(x) -> Optional[float]:
    """Rounded to 6 significant digits; None for NaN/inf (JSON-ready, deterministic)."""
    if x is None:
        return None
    x = float(x)
    return float(f"{x:.6g}") if np.isfinite(x) else None


def _error(points: pd.DataFrame, metric: str) -> pd.Series:
    score = points[f"test_{metric}"].astype(float)
    return score if metric in LOWER_IS_BETTER else 1.0 - score


def _wide(rows: pd.DataFrame, values: pd.Series, index: str, seeds) -> tuple[np.ndarray, np.ndarray]:
    """(sorted index values, index x seeds matrix), NaN where a point is missing."""
    table = pd.DataFrame({"i": rows[index].to_numpy(), "seed": rows["seed"].to_numpy(),
                          "v": values.loc[rows.index].to_numpy()})
    table = table.pivot_table(index="i", columns="seed", values="v", aggfunc="mean")
    table = table.reindex(columns=list(seeds))
    return table.index.to_numpy(dtype=float), table.to_numpy(dtype=float)


def _fit_weights(wide: np.ndarray) -> np.ndarray:
    mean = np.nanmean(wide, axis=1)
    return 1.0 / sigma_floor(standard_error(wide), mean) ** 2


# --- the value of a label from the other source ----------------------------------


def source_multiplier(n_ref, ref_wide, m: int, k, mix_wide, seeds, resamples: SeedResamples) -> list[dict]:
    """Per added count k: how many base rows one added row is worth, with its interval.

    ``ref_wide`` is the base source's error (sizes x seeds) at sizes ``n_ref``;
    ``mix_wide`` the mixed curve's error (k x seeds) with m base rows and k added.
    """
    n_ref, k = np.asarray(n_ref, dtype=float), np.asarray(k, dtype=float)
    w = _fit_weights(ref_wide)
    ref_mean, mix_mean = np.nanmean(ref_wide, axis=1), np.nanmean(mix_wide, axis=1)
    a, b, c, _ = fit_many(n_ref, ref_mean[None, :], w)
    needed = invert(mix_mean, a[0], b[0], c[0])
    ar, br, cr, _ = fit_many(n_ref, resamples.means(ref_wide, seeds), w)
    needed_r = invert(resamples.means(mix_wide, seeds), ar[:, None], br[:, None], cr[:, None])
    low, high = resamples.interval((needed_r - m) / k)
    top = REACH_UP * n_ref.max()
    # what the measured reference says: its error at m (measured there, else the fit's) and where its
    # running best from m on reaches each mixed error (inf: not by its largest size)
    at_m = ref_mean[n_ref == m][0] if (n_ref == m).any() else float(a[0] * m ** -b[0] + c[0])
    onward = n_ref >= m
    measured = reach(n_ref[onward], ref_mean[onward], mix_mean)[0] if onward.any() else np.full(len(k), np.inf)
    if onward.any():  # the same reading on every seed resample, for the interval of a measured n*
        measured_r = reach(n_ref[onward], resamples.means(ref_wide, seeds)[:, onward], resamples.means(mix_wide, seeds))
        m_low, m_high = resamples.interval((np.maximum(measured_r, m) - m) / k)
    floor_below_a_point = bool(c[0] > np.nanmin(ref_mean))  # the fitted floor lies above a measured error
    rows = []
    for i, added in enumerate(k):
        n_star, basis = float(needed[i]), "fit"
        if not mix_mean[i] < at_m:  # the added rows did not help: no worth to print
            relation = "no_gain"
        else:
            if np.isfinite(measured[i]) and (not np.isfinite(n_star) or n_star > top or n_star <= m):
                n_star, basis = float(max(measured[i], m)), "measured"   # the points overrule the fit
            elif (not np.isfinite(n_star) and floor_below_a_point) or n_star <= m:
                n_star, basis = np.inf, "bound"          # the fit contradicts a point and no point reaches it
            relation = ("=" if np.isfinite(n_star) and n_star <= top else
                        ">=" if np.isfinite(n_star) or basis == "bound" else "never")
        bound = {"never": np.inf, ">=": top if basis != "bound" else n_ref.max(), "=": n_star, "no_gain": np.nan}[relation]
        ci = {"fit": (low[i], high[i]), "measured": (m_low[i], m_high[i]) if basis == "measured" else None,
              "bound": (None, None)}[basis] if relation != "no_gain" else (None, None)
        rows.append({
            "base": int(m), "added": int(added), "n_needed": _r(n_star) if relation == "=" or basis == "fit" else None,
            "multiplier": _r((bound - m) / added) if relation in ("=", ">=") else None,
            "ci_low": _r(ci[0]), "ci_high": _r(ci[1]),
            "relation": relation, "basis": basis,
            "error_mixed": _r(mix_mean[i]), "error_base": _r(at_m),
        })
    return rows


def describe_multiplier(row: dict) -> str:
    """How many base labels one added label is worth, as the headline reads it ("... shifted ones")."""
    if row["relation"] == "no_gain":
        return "none: no better than the base rows alone"
    if row["relation"] == "never":
        return "more than any amount of"
    if row["relation"] == ">=":
        return f"≥ {row['multiplier']:.3g}×"
    lo, hi = row["ci_low"], row["ci_high"]
    ci = "" if lo is None else f" [{lo:.3g}, {'∞' if hi is None else format(hi, '.3g')}]"
    return f"{row['multiplier']:.3g}×{ci}"


# --- test-label noise ------------------------------------------------------------


def flip_rate(rates, gain_r: np.ndarray, sign: float) -> np.ndarray:
    """First rate where a gain (rows: resamples, columns: rates) crosses zero against ``sign``.

    Linear interpolation between the two rates around the crossing; inf when
    the gain keeps its sign at every rate.
    """
    rates = np.asarray(rates, dtype=float)
    gain_r = np.atleast_2d(gain_r) * sign
    out = np.full(gain_r.shape[0], np.inf)
    for row, g in enumerate(gain_r):
        crossed = np.flatnonzero(g <= 0)
        if len(crossed) == 0:
            continue
        j = crossed[0]
        if j == 0:
            out[row] = rates[0]
            continue
        out[row] = rates[j - 1] + (rates[j] - rates[j - 1]) * g[j - 1] / (g[j - 1] - g[j])
    return out


def _noisy_table(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Long table (model, seed, rate, score) of the scores against noisy test labels."""
    records = []
    for model, seed, text in zip(rows["model"], rows["seed"], rows["noisy_test_scores"]):
        for rate, scores in json.loads(text).items():
            records.append((model, int(seed), float(rate), float(scores[metric])))
    return pd.DataFrame(records, columns=["model", "seed", "rate", "score"])


def test_noise(rows: pd.DataFrame, metric: str, resamples: SeedResamples) -> Optional[dict]:
    """Gain between the two best models (true labels) against test-noise rate, and the flip rate."""
    if "noisy_test_scores" not in rows or rows["noisy_test_scores"].isna().all():
        return None
    rows = rows[rows["noisy_test_scores"].notna()]
    rows = rows[rows["train_size"] == rows["train_size"].max()]
    true = rows.groupby("model")[f"test_{metric}"].mean()
    if len(true) < 2:
        return None
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ranked = sorted(true.index, key=lambda mdl: (-sign * true[mdl], mdl))
    best, second = ranked[0], ranked[1]
    noisy = _noisy_table(rows, metric)
    seeds = resamples.seeds
    table = noisy.pivot_table(index=["model", "rate"], columns="seed", values="score").reindex(columns=seeds)
    rates = sorted(noisy["rate"].unique())
    truth = rows.pivot_table(index="model", columns="seed", values=f"test_{metric}").reindex(columns=seeds)
    gain_true = (truth.loc[best] - truth.loc[second]).to_numpy(dtype=float)[None, :]
    gain = (table.loc[best].reindex(rates) - table.loc[second].reindex(rates)).to_numpy(dtype=float)
    all_rates = [0.0] + [r for r in rates if r > 0]
    wide = np.vstack([gain_true, gain[[i for i, r in enumerate(rates) if r > 0]]])
    means_r = resamples.means(wide, seeds)                  # (U, rates)
    low, high = resamples.interval(means_r)
    mean = np.nanmean(wide, axis=1)
    flips = flip_rate(all_rates, means_r, sign)
    flip = float(flip_rate(all_rates, mean[None, :], sign)[0])
    f_low, f_high = resamples.interval(flips[:, None])
    rankings = {}
    for r in rates:
        by_model = noisy[noisy["rate"] == r].groupby("model")["score"].mean()
        rankings[f"{r:g}"] = sorted(by_model.index, key=lambda mdl: (-sign * by_model[mdl], mdl))
    return {
        "metric": metric, "train_size": int(rows["train_size"].max()),
        "best": best, "second": second, "rates": [_r(r) for r in all_rates],
        "gain": [_r(g) for g in mean], "gain_ci_low": [_r(v) for v in low], "gain_ci_high": [_r(v) for v in high],
        "flip_rate": _r(flip), "flip_ci_low": _r(f_low[0]), "flip_ci_high": _r(f_high[0]),
        "max_rate": _r(max(all_rates)), "ranking_true": sorted(true.index, key=lambda m_: (-sign * true[m_], m_)),
        "ranking_noisy": rankings,
    }


# --- the section -----------------------------------------------------------------


def _has(points: pd.DataFrame, column: str) -> bool:
    return column in points and points[column].notna().any()


def _mixed(points: pd.DataFrame) -> pd.Series:
    if "mix_base" not in points:
        return pd.Series(False, index=points.index)
    return points["mix_base"].fillna(0).astype(int) > 0


def shift_section(points: pd.DataFrame, metric: dict, *, n_resamples: int = 1000, seed: int = 0,
                  baseline: Optional[str] = None) -> dict:
    """Every number of the shift section, per dataset (empty when the study has no shift or test noise).

    ``baseline``: the user's model (the report's baseline), whose situation the headline describes."""
    points = points[points["status"] == "ok"]
    kinds = SHIFT_KINDS
    out = {}
    for name, rows in points.groupby("dataset", sort=True):
        shifted = rows["quality"].isin(kinds)
        if not shifted.any() and not _has(rows, "noisy_test_scores"):
            continue
        resamples = SeedResamples(rows["seed"].unique(), n=n_resamples, seed=seed)
        seeds = resamples.seeds
        m_name = metric[name] if isinstance(metric, dict) else metric
        err = _error(rows, m_name)
        mixed = _mixed(rows)
        section = {"metric": m_name, "conditions": [], "mixed": [], "decisions": []}
        plain = rows[~mixed]
        for (kind, cleaning), cond in plain[plain["quality"].isin(kinds)].groupby(["quality", "cleaning"], sort=True):
            section["conditions"].extend(_shift_cost(plain, cond, kind, cleaning, err, seeds, resamples))
        groups = rows[mixed].groupby(["model", "quality", "quality_rate", "cleaning", "mix_base", "mix_add"],
                                     sort=True) if mixed.any() else []
        for keys, mix in groups:
            model, label, rate, cleaning, m, add = keys
            kind = label.removesuffix("_mixed")
            base_rate = rate if add == "target" else 0.0
            ref = plain[(plain["model"] == model) & (plain["quality"] == kind)
                        & (plain["quality_rate"] == base_rate) & (plain["cleaning"] == cleaning)]
            if ref.empty or ref["train_size"].nunique() < 3:
                continue
            n_ref, ref_wide = _wide(ref, err, "train_size", seeds)
            mix = mix.assign(added=mix["train_size"] - int(m))
            mix = mix[mix["added"] > 0]
            if mix.empty:
                continue
            k, mix_wide = _wide(mix, err, "added", seeds)
            rows_k = source_multiplier(n_ref, ref_wide, int(m), k, mix_wide, seeds, resamples)
            for row in rows_k:
                row.update(model=model, quality=kind, quality_rate=_r(rate), cleaning=cleaning, add=add)
                row["display"] = describe_multiplier(row)
            section["mixed"].extend(rows_k)
            if add == "target":
                section["decisions"].append(_decision(plain, mix, ref, model, kind, rate, cleaning, int(m),
                                                      err, seeds, resamples))
        unshifted = (plain["quality_rate"] == 0) & (plain["cleaning"] == "none")
        section["test_noise"] = test_noise(plain[unshifted].drop_duplicates(["model", "seed", "train_size"]),
                                           m_name, resamples)
        section["headline"] = headline(name, section, baseline)
        out[name] = section
    return out


def _at_largest(cond: pd.DataFrame, err: pd.Series, seeds) -> tuple[int, np.ndarray]:
    n = int(cond.groupby("quality_rate")["train_size"].max().min())
    at = cond[cond["train_size"] == n]
    table = pd.DataFrame({"rate": at["quality_rate"], "seed": at["seed"], "e": err.loc[at.index]})
    return n, table.pivot_table(index="rate", columns="seed", values="e").reindex(columns=seeds)


def _shift_cost(plain, cond, kind, cleaning, err, seeds, resamples) -> list[dict]:
    """Error at the largest common size per rate, its loss against rate 0, and what a cleaning wins back."""
    rows = []
    for model, per_model in cond.groupby("model", sort=True):
        clean_zero = plain[(plain["model"] == model) & (plain["quality_rate"] == 0)
                           & (plain["quality"].isin((kind, "clean"))) & (plain["cleaning"] == "none")]
        n, table = _at_largest(pd.concat([per_model, clean_zero]), err, seeds)
        if 0.0 not in table.index:
            continue
        zero = table.loc[0.0].to_numpy(dtype=float)
        uncleaned = plain[(plain["model"] == model) & (plain["quality"] == kind) & (plain["cleaning"] == "none")
                          & (plain["train_size"] == n)]
        base = pd.DataFrame({"rate": uncleaned["quality_rate"], "seed": uncleaned["seed"],
                             "e": err.loc[uncleaned.index]}).pivot_table(index="rate", columns="seed", values="e") \
            .reindex(columns=seeds)
        for rate in table.index:
            if rate == 0:
                continue
            e = table.loc[rate].to_numpy(dtype=float)
            loss_r = resamples.means((e - zero)[None, :], seeds)[:, 0]
            low, high = resamples.interval(loss_r[:, None])
            row = {"model": model, "quality": kind, "quality_rate": _r(rate), "cleaning": cleaning,
                   "train_size": n, "error": _r(np.nanmean(e)), "error_rate0": _r(np.nanmean(zero)),
                   "loss": _r(np.nanmean(e - zero)), "loss_ci_low": _r(low[0]), "loss_ci_high": _r(high[0]),
                   "recovered": None}
            if cleaning != "none" and rate in base.index:
                lost = base.loc[rate].to_numpy(dtype=float) - zero
                won = base.loc[rate].to_numpy(dtype=float) - e
                if np.nanmean(lost) > 0:
                    row["recovered"] = _r(np.nanmean(won) / np.nanmean(lost))
            rows.append(row)
    return rows


def _decision(plain, mix, ref, model, kind, rate, cleaning, m, err, seeds, resamples) -> dict:
    """Relabel vs collect vs upgrade at the base budget m.

    The added count k is the one closest to m (the budget doubled) among
    those with m + k inside the reference's measured sizes (so "collect"
    interpolates its fit), else the smallest.
    """
    inside = sorted(int(a) for a in mix["added"].unique() if 0 < a and m + a <= ref["train_size"].max())
    k = min(inside, key=lambda a: (abs(a - m), a)) if inside else int(mix["added"][mix["added"] > 0].min())
    _, mix_wide = _wide(mix[mix["added"] == k], err, "added", seeds)
    n_ref, ref_wide = _wide(ref, err, "train_size", seeds)
    w = _fit_weights(ref_wide)
    ref_r = resamples.means(ref_wide, seeds)
    ar, br, cr, _ = fit_many(n_ref, ref_r, w)
    a, b, c, _ = fit_many(n_ref, np.nanmean(ref_wide, axis=1)[None, :], w)
    at_m = a * m ** -b + c
    at_m_r = ar * m ** -br + cr
    mix_mean, mix_r = np.nanmean(mix_wide), resamples.means(mix_wide, seeds)[:, 0]
    options = {
        "relabel": (at_m[0] - mix_mean, at_m_r - mix_r),
        "collect": (at_m[0] - (a * (m + k) ** -b + c)[0], at_m_r - (ar * (m + k) ** -br + cr)),
    }
    # upgrade: the best other model on the same m shifted rows (fitted curves of each model)
    same = plain[(plain["quality"] == kind) & (plain["quality_rate"] == rate) & (plain["cleaning"] == cleaning)]
    best = None
    for other, o_rows in same.groupby("model", sort=True):
        if other == model or o_rows["train_size"].nunique() < 3:
            continue
        n_o, o_wide = _wide(o_rows, err, "train_size", seeds)
        wo = _fit_weights(o_wide)
        ao, bo, co, _ = fit_many(n_o, np.nanmean(o_wide, axis=1)[None, :], wo)
        aor, bor, cor, _ = fit_many(n_o, resamples.means(o_wide, seeds), wo)
        gain = at_m[0] - (ao * m ** -bo + co)[0]
        if best is None or gain > best[1]:
            best = (other, gain, at_m_r - (aor * m ** -bor + cor))
    if best is not None:
        options["upgrade"] = (best[1], best[2])
    out = {"model": model, "quality": kind, "quality_rate": _r(rate), "cleaning": cleaning,
           "base": m, "added": k, "error_at_base": _r(at_m[0]), "upgrade_to": best[0] if best else None}
    for option, (gain, gain_r) in options.items():
        low, high = resamples.interval(np.asarray(gain_r)[:, None])
        out[option] = {"gain": _r(gain), "ci_low": _r(low[0]), "ci_high": _r(high[0])}
    out["choice"] = max(options, key=lambda o: (options[o][0], o))
    return out


def _pts(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def _ci_pts(d: dict) -> str:
    if d["ci_low"] is None:
        return f"{_pts(d['gain'])} pts"
    return f"{_pts(d['gain'])} pts [{_pts(d['ci_low'])}, {_pts(d['ci_high'])}]"


def headline(name: str, section: dict, baseline: Optional[str] = None) -> str:
    """One sentence per dataset that answers "relabel, collect, or upgrade?" (or states the noise finding):
    for the user's model (``baseline``) when it was measured, at the strongest shift."""
    decisions = sorted(section["decisions"], key=lambda d: (d["model"] != baseline, -(d["quality_rate"] or 0),
                                                            d["quality"], d["model"]))
    if decisions:
        d = decisions[0]
        phrase = {
            "relabel": f"{d['added']:,} labels from the target distribution cut error by {_ci_pts(d['relabel'])}",
            "collect": f"{d['added']:,} more shifted labels cut error by {_ci_pts(d['collect'])}",
        }
        if "upgrade" in d:
            phrase["upgrade"] = f"{d['upgrade_to']} on the same labels cuts error by {_ci_pts(d['upgrade'])}"
        verb = {"relabel": "relabel", "collect": "collect more of the shifted data",
                "upgrade": f"upgrade to {d['upgrade_to']}"}[d["choice"]]
        others = [phrase[o] for o in ("relabel", "collect", "upgrade") if o in phrase and o != d["choice"]]
        mult = [r for r in section["mixed"] if r["model"] == d["model"] and r["quality"] == d["quality"]
                and r["quality_rate"] == d["quality_rate"] and r["base"] == d["base"] and r["added"] == d["added"]
                and r["add"] == "target"]
        worth = f"; one target label is worth {mult[0]['display']} shifted ones" if mult else ""
        if mult and mult[0]["relation"] == "no_gain":  # a negative worth is explained, never printed
            worth = (f"; the {d['added']:,} target labels did not beat the {d['base']:,} shifted ones alone "
                     f"(error {_pts(mult[0]['error_mixed'])}% against {_pts(mult[0]['error_base'])}%), so no "
                     "worth per label is given")
        return (f"{name} ({d['quality']} at rate {d['quality_rate']:g}, {d['model']} on {d['base']:,} shifted "
                f"labels): {verb} — {phrase[d['choice']]}; {'; '.join(others)}{worth}.")
    costs = [c for c in section["conditions"] if c["cleaning"] == "none"]
    if costs:
        mine = [c for c in costs if c["model"] == baseline] or costs
        worst = max(mine, key=lambda c: (c["loss"] or 0, c["model"]))
        fixes = [c for c in section["conditions"] if c["cleaning"] != "none" and c["recovered"] is not None
                 and c["quality_rate"] == worst["quality_rate"] and c["model"] == worst["model"]]
        fix = f"; {fixes[0]['cleaning']} wins back {100 * fixes[0]['recovered']:.0f}% of it" if fixes else ""
        return (f"{name}, {worst['quality']} at rate {worst['quality_rate']:g} costs {worst['model']} "
                f"{_pts(worst['loss'])} pts of error at n = {worst['train_size']:,}{fix}.")
    noise = section.get("test_noise")
    if noise:
        return f"{name}: {_flip_sentence(noise)}"
    return f"{name}: no shift condition to compare."


def _flip_sentence(noise: dict) -> str:
    pair = f"{noise['best']} over {noise['second']}"
    if noise["flip_rate"] is None:
        return f"test-label noise up to {100 * noise['max_rate']:.0f}% does not flip {pair}."
    ci = "" if noise["flip_ci_low"] is None else \
        f" [{100 * noise['flip_ci_low']:.1f}%, {'∞' if noise['flip_ci_high'] is None else format(100 * noise['flip_ci_high'], '.1f') + '%'}]"
    return f"the measured order of {pair} flips at {100 * noise['flip_rate']:.1f}%{ci} test-label noise."


def blocks(section: dict) -> list[tuple]:
    """The shift section as report blocks (h2/h3/p/table), empty when there is nothing to show."""
    if not section:
        return []
    out: list[tuple] = [("h2", "Distribution shift: relabel, collect, or upgrade?")]
    for name, s in section.items():
        out += [("h3", f"Shift: {name}"), ("p", s["headline"])]
        if s["decisions"]:
            out.append(("p", "Error removed at the base budget of shifted labels (points of error, 95% CI over "
                             "seed resamples): by adding labels from the target distribution (relabel), by as many "
                             "more shifted labels (collect, from the shifted curve's fit) or by the best other "
                             "model on the same labels (upgrade)."))
            out.append(("table", ["shift", "rate", "model", "base labels", "added", "relabel", "collect", "upgrade",
                                  "choice"],
                        [[d["quality"], f"{d['quality_rate']:g}", d["model"], f"{d['base']:,}", f"{d['added']:,}",
                          _ci_pts(d["relabel"]), _ci_pts(d["collect"]),
                          f"{d['upgrade_to']}: {_ci_pts(d['upgrade'])}" if "upgrade" in d else "n/a", d["choice"]]
                         for d in s["decisions"]]))
        if s["mixed"]:
            out.append(("p", "Mixed pools: one added label is worth this many labels of the base source (from the "
                             "base source's fitted curve, or from its measured points where the fit contradicts them; "
                             "≥: a bound past its sizes; none: the mixed pool is no better than its base rows alone)."))
            out.append(("table", ["shift", "rate", "model", "base", "added", "source added", "worth"],
                        [[r["quality"], f"{r['quality_rate']:g}", r["model"], f"{r['base']:,}", f"{r['added']:,}",
                          r["add"], r["display"]] for r in s["mixed"]]))
        if s["conditions"]:
            out.append(("p", f"Error lost to the shift at the largest common size ({s['metric']}, points of error; "
                             "won back: share of the loss a cleaning recovers)."))
            out.append(("table", ["shift", "rate", "cleaning", "model", "n", "error", "rate 0", "loss [95% CI]",
                                  "won back"],
                        [[c["quality"], f"{c['quality_rate']:g}", c["cleaning"], c["model"], f"{c['train_size']:,}",
                          _pts(c["error"]), _pts(c["error_rate0"]),
                          _pts(c["loss"]) + ("" if c["loss_ci_low"] is None else
                                             f" [{_pts(c['loss_ci_low'])}, {_pts(c['loss_ci_high'])}]"),
                          "" if c["recovered"] is None else f"{100 * c['recovered']:.0f}%"] for c in s["conditions"]]))
        noise = s.get("test_noise")
        if noise:
            out.append(("p", f"Test-label noise ({noise['metric']}, n = {noise['train_size']:,}, unshifted "
                             f"training data): {_flip_sentence(noise)}"))
            out.append(("table", ["test-noise rate", f"measured gain of {noise['best']} over {noise['second']}"],
                        [[f"{100 * r:g}%" + (" (true labels)" if r == 0 else ""),
                          f"{_pts(g)} pts" + ("" if lo is None else f" [{_pts(lo)}, {_pts(hi)}]")]
                         for r, g, lo, hi in zip(noise["rates"], noise["gain"], noise["gain_ci_low"],
                                                 noise["gain_ci_high"])]))
    return out


def render_markdown(section: dict) -> str:
    """The shift section as Markdown (empty when there is nothing to show)."""
    lines = []
    for kind, *rest in blocks(section):
        if kind in ("h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + rest[0], ""]
        elif kind == "p":
            lines += [rest[0], ""]
        elif kind == "table":
            header, rows = rest
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    return "\n".join(lines)
