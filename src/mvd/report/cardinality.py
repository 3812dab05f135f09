"""Cardinality: as the classes multiply, does the next unit of effort move from model to data, and for which classes?

A study that keeps the ``k`` most frequent classes of one dataset
(``dataset.params.top_classes``: the datasets ``<name>_top<k>`` beside
``<name>`` itself, :mod:`mvd.sources.top_classes`) has a *cardinality
family*.  For such a study this section says two things, from the stored
points only:

- **Head, torso and tail rows** (``group_rows``), per dataset at its
  operating point (the decision's size, model and data): in each frequency
  group (``mvd.metrics``: the head holds the pool's most frequent classes up
  to half its rows, the torso to 90 %, the tail the rest), the group's
  accuracy gain of the decision's best model lever over the current model at
  that size, beside the gain the current model's last measured doubling of
  rows bought (from its measured size below n nearest to n/2, to n: on a pool
  that ends the grid, e.g. 2,048 to 3,953 rows), and their difference.  Measured sizes only, never a fitted or extrapolated value.
  The three are computed on the dataset's own seed resamples
  (``aggregate.SeedResamples``), paired across models and sizes as every
  other interval of the report (Student's t over the seeds, the jackknife's
  standard error).  A group's accuracy is not rescored on test-row draws, so
  on a fixed test set its intervals hold the seeds' variance only
  (``aggregate.interval_covers`` says which).
- **The study's opening sentences** (``section``), per family ordered by the
  number of classes: each cardinality's decision (its answer, a better model
  or more data, settled or open, as ``decision.decide`` made it on the
  primary metric) and the frequency group each lever gains most in.

- **The hierarchical rung against the flat ones** (``structure``), per dataset
  where it ran: its lead over each flat rung (not the dummy) at the largest
  size both measured, on the primary metric and in accuracy, with the same
  paired intervals; "beats" or "loses to" only where the interval excludes 0.
  The family's dataset with every class gets it in its opening sentences.

Studies without a cardinality family get no section, so their reports are
unchanged.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from mvd.levers import ANSWER, condition_label, gains_nothing
from mvd.metrics import GROUP_CUTS, GROUPS, LOWER_IS_BETTER
from mvd.naming import TUNED_SUFFIX
from mvd.report.aggregate import cells, clip_to_range, interval_covers

__all__ = ["families", "group_rows", "structure", "unseen", "unseen_sentence", "section", "opening", "blocks", "MODEL", "DATA", "OPEN", "NOTHING",
           "HIERARCHICAL"]

# "<name>_top<k>": the dataset <name> kept to its k most frequent classes (mvd.sources.top_classes)
_TOP = re.compile(r"^(?P<base>.+)_top(?P<k>\d+)$")
MODEL, DATA, OPEN = ANSWER["model"], ANSWER["labels"], "open"
NOTHING = "no lever gains"  # the decision's best lever gains less than one test example (the lead's words)
_SCALE = 100.0  # accuracy in points
HIERARCHICAL = "hierarchical"  # the structural rung (mvd.hierarchical): the parent class, then the class within it


def families(names) -> dict:
    """``{base: [(dataset, k), ...]}``: datasets that differ only by ``top_classes``, fewest classes first, the
    one with every class (``k`` None) last; only bases with at least two members, one of them kept to top k."""
    found: dict = {}
    for name in sorted(set(map(str, names))):
        m = _TOP.match(name)
        base, k = (m["base"], int(m["k"])) if m else (name, None)
        found.setdefault(base, []).append((name, k))
    return {base: sorted(members, key=lambda m: (m[1] is None, m[1] or 0)) for base, members in sorted(found.items())
            if len(members) >= 2 and any(k is not None for _, k in members)}


def _classes(points: pd.DataFrame) -> int | None:
    """The number of classes of a dataset with every class, from a stored confusion matrix (stored up to
    ``mvd.metrics.CONFUSION_MAX_CLASSES`` classes), else None."""
    if "confusion" not in points:
        return None
    for text in points["confusion"].dropna().unique():
        try:
            return len(json.loads(text))
        except (TypeError, ValueError):
            continue
    return None


def _measured(lv) -> bool:
    return not lv.extrapolated and lv.family is None and math.isfinite(lv.gain)


def _best_model_lever(decision):
    """The decision's best lever of the kind "a better model" measured at its size; of levers tied with it
    (within the decision's tie tolerance), the one the decision chose or lists as tied, else the first in its
    order."""
    mind = [lv for lv in decision.levers if lv.answer == MODEL and _measured(lv)]
    if not mind:
        return None
    top = max(lv.gain for lv in mind)
    tied = [lv for lv in mind if top - lv.gain < max(getattr(decision, "tie_tolerance", 0.0) or 0.0, 1e-12)]
    for named in ([getattr(decision, "chosen", None)], getattr(decision, "ties", None) or []):
        found = next((lv for lv in tied if lv.name in named), None)
        if found is not None:
            return found
    return tied[0]


def group_rows(points: pd.DataFrame, decision, resamples) -> dict | None:
    """The head, torso and tail rows of one dataset at its operating point (module docstring), or None where its
    points store no group accuracy."""
    columns = [f"test_{g}_accuracy" for g in GROUPS]
    if not all(c in points for c in columns) or not points[columns].notna().any().any():
        return None
    table = cells(points, columns)
    at = {tuple(r): i for i, r in enumerate(table.index.itertuples(index=False, name=None))}
    q = tuple(decision.data)
    n = float(decision.n_now)
    sizes = sorted(int(s) for (d, m, *cond, s) in at if m == decision.model and tuple(cond) == q)
    lever = _best_model_lever(decision)
    now = at.get((decision.dataset, decision.model, *q, int(n))) if float(int(n)) == n else None
    # the last measured doubling: the measured size below n nearest to n/2 (in log size), the larger of two as near
    half = min((s for s in sizes if s < n), key=lambda s: (abs(math.log(2 * s / n)), -s), default=None)
    out = {"n_now": n, "model": decision.model, "quality": q[0], "quality_rate": float(q[1]), "cleaning": q[2],
           "model_lever": None if lever is None else lever.name,
           "lever_model": None if lever is None else lever.model,
           "n_half": half, "seeds": [int(s) for s in resamples.seeds],
           "interval_covers": interval_covers(points.assign(primary_metric="a group's accuracy"))["phrase"],
           "note": None, "rows": []}
    if now is None:
        out["note"] = f"{decision.model} was not measured at n = {n:,.0f}: no measured group rows"
        return out
    if lever is None:
        out["note"] = f"no other model was measured at n = {n:,.0f}"
    elif half is None:
        out["note"] = f"{decision.model} was not measured below n = {n:,.0f}: no measured doubling"
    ix = [now, None if lever is None else at.get((decision.dataset, lever.model, *tuple(lever.data), int(n))),
          None if half is None else at.get((decision.dataset, decision.model, *q, half))]
    for g, column in zip(GROUPS, columns):
        wide = np.full((3, len(table.seeds)), np.nan)
        for j, i in enumerate(ix):
            if i is not None:
                wide[j] = table.wide[column][i]
        means = resamples.means(wide, table.seeds)                     # (resamples, [now, lever, half])
        with np.errstate(invalid="ignore"):
            gains = np.column_stack([means[:, 1] - means[:, 0], means[:, 0] - means[:, 2]]) * _SCALE
            gains = np.column_stack([gains, gains[:, 0] - gains[:, 1]])
            low, high = resamples.interval(gains)
        acc, full = means[resamples.full], gains[resamples.full]
        if not math.isfinite(acc[0]):
            continue  # no test row of this group
        model = clip_to_range(low[0], high[0], metric="accuracy", now=acc[0], scale=_SCALE)[:2]
        data = clip_to_range(low[1], high[1], metric="accuracy", now=acc[2], scale=_SCALE)[:2]
        more = MODEL if low[2] > 0 else DATA if high[2] < 0 else OPEN
        out["rows"].append({"group": g, "accuracy_now": float(acc[0]),
                            "model_gain": float(full[0]), "model_ci_low": model[0], "model_ci_high": model[1],
                            "data_gain": float(full[1]), "data_ci_low": data[0], "data_ci_high": data[1],
                            "difference": float(full[2]), "difference_ci_low": float(low[2]),
                            "difference_ci_high": float(high[2]),
                            "more": more if math.isfinite(full[2]) else None})
    return out


def structure(points: pd.DataFrame, decision, resamples) -> dict | None:
    """The hierarchical rung against each flat rung of one dataset (module docstring), or None where it did not
    run.  Default curves on the decision's data; each pair at the largest size both measured."""
    q = tuple(decision.data)
    table = cells(points, ["score", "test_accuracy"])
    keys = [tuple(r) for r in table.index.itertuples(index=False, name=None)]
    at = {k: i for i, k in enumerate(keys)}

    def sizes(model):
        return {int(k[-1]) for k in keys if k[0] == decision.dataset and k[1] == model and tuple(k[2:-1]) == q}

    ours = sizes(HIERARCHICAL)
    if not ours:
        return None
    metric = decision.metric
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    scale = _SCALE if decision.unit == "points" else 1.0
    flats = sorted({k[1] for k in keys if k[1] not in (HIERARCHICAL, "dummy") and not k[1].endswith(TUNED_SUFFIX)})
    rows = []
    for flat in flats:
        common = ours & sizes(flat)
        if not common:
            continue
        n = max(common)
        pair = [at[(decision.dataset, m, *q, n)] for m in (HIERARCHICAL, flat)]
        row = {"flat": flat, "n": n}
        for column, key, unit in (("score", "lead", scale), ("test_accuracy", "accuracy_lead", _SCALE)):
            if column not in table.wide:
                continue
            means = resamples.means(table.wide[column][pair], table.seeds)
            lead = (means[:, 0] - means[:, 1]) * unit * (sign if column == "score" else 1.0)
            low, high = resamples.interval(lead[:, None])
            row.update({key: float(lead[resamples.full]), f"{key}_ci_low": float(low[0]),
                        f"{key}_ci_high": float(high[0])})
        low, high = row.get("lead_ci_low", math.nan), row.get("lead_ci_high", math.nan)
        row["verdict"] = "beats" if low > 0 else "loses to" if high < 0 else "ties" if math.isfinite(low) else None
        rows.append(row)
    return {"metric": metric, "unit": decision.unit, "data": list(q), "largest": max(ours), "rows": rows,
            "seeds": [int(s) for s in resamples.seeds]}


def unseen(points: pd.DataFrame, data, n_test) -> dict | None:
    """Test rows whose class the training subset never saw, per measured size on the data ``data`` (quality, rate,
    cleaning): the mean over its points (every model and seed sees the same subsets), with the test rows per seed
    ``n_test``; None where no point counts one (a regression, or every class in every subset)."""
    if "n_test_unseen" not in points or not (points["n_test_unseen"].fillna(0) > 0).any():
        return None
    q, rate, clean = data
    mine = points[(points["quality"] == q) & (points["quality_rate"].astype(float) == float(rate))
                  & (points["cleaning"] == clean)]
    by = mine.groupby("train_size", sort=True)["n_test_unseen"].mean()
    return {"data": [q, float(rate), clean], "n_test": None if n_test is None else float(n_test),
            "sizes": [int(n) for n in by.index], "rows": [float(v) for v in by.to_numpy()]}


def unseen_sentence(found: dict, n_now=None) -> str:
    """'Test rows in classes the training subset never saw (...): 13,718 of 36,141 (38.0%) at 256 rows, ...'."""
    sizes, rows, total = found["sizes"], found["rows"], found["n_test"]

    def said(n, v):
        share = f" ({100 * v / total:.1f}%)" if total else ""
        return f"{v:,.0f}{' of ' + format(total, ',.0f') if total else ''}{share} at {n:,} rows"

    picks = [0] + ([sizes.index(int(n_now))] if n_now is not None and int(n_now) in sizes else []) + [len(sizes) - 1]
    parts = [said(sizes[i], rows[i]) for i in sorted(set(picks))]
    none = next((n for n, v in zip(sizes, rows) if v == 0), None)
    tail = f"; none from {none:,} rows" if none is not None and all(v == 0 for v in rows[sizes.index(none):]) else ""
    return ("Test rows in classes the training subset never saw (mean over seeds and models, "
            f"{condition_label(tuple(found['data']))} data): " + ", ".join(parts) + tail + ".")


def _most(rows: list, which: str) -> dict | None:
    """The group whose ``which`` gain ("model" or "data") is largest, with its interval."""
    ok = [r for r in rows if r[f"{which}_gain"] is not None and math.isfinite(r[f"{which}_gain"])]
    if not ok:
        return None
    r = max(ok, key=lambda r: (r[f"{which}_gain"], -GROUPS.index(r["group"])))
    return {"group": r["group"], "gain": r[f"{which}_gain"], "ci_low": r[f"{which}_ci_low"],
            "ci_high": r[f"{which}_ci_high"]}


def _member(name: str, k, points: pd.DataFrame, decision, groups: dict | None) -> dict:
    chosen = decision.lever(decision.chosen) if decision.chosen is not None else None
    rows = (groups or {}).get("rows") or []
    return {"dataset": name, "top_classes": k, "classes": k if k is not None else _classes(points),
            "metric": decision.metric, "unit": decision.unit, "n_now": float(decision.n_now),
            "model": decision.model, "chosen": decision.chosen,
            "answer": None if chosen is None else NOTHING if gains_nothing(
                chosen.gain, n_test=decision.n_test, tolerance=decision.tie_tolerance) else chosen.answer,
            "gain": None if chosen is None else chosen.gain, "ci_low": None if chosen is None else chosen.ci_low,
            "ci_high": None if chosen is None else chosen.ci_high,
            "extrapolated": bool(chosen is not None and chosen.extrapolated), "settled": bool(decision.settled),
            "rival": decision.rival, "advantage": decision.advantage, "advantage_ci_low": decision.advantage_low,
            "advantage_ci_high": decision.advantage_high,
            "model_lever": (groups or {}).get("model_lever"), "lever_model": (groups or {}).get("lever_model"),
            "n_half": (groups or {}).get("n_half"),
            "model_gains_most": _most(rows, "model"), "data_gains_most": _most(rows, "data")}


def _direction(members: list) -> str:
    """How the answer moves with the classes, fewest to most."""
    answers = [m["answer"] for m in members if m["answer"] not in (None, NOTHING)]
    if not answers:
        return "no lever gains at any number of classes"
    first, last = answers[0], answers[-1]
    if len(set(answers)) == 1:
        return f"stays with {first} at every number of classes"
    if first != last:
        return f"moves from {first} to {last}"
    return "changes with the classes: " + ", then ".join(a for i, a in enumerate(answers) if i == 0 or a != answers[i - 1])


def section(points: pd.DataFrame, decisions: dict, resamples: dict) -> dict | None:
    """The cardinality section of summary.json, or None where the study has no cardinality family."""
    fams = families(points["dataset"].unique())
    if not fams:
        return None
    groups, out = {}, {}
    structures = {}
    for name in sorted(decisions):
        mine = points[points["dataset"] == name]
        rows = group_rows(mine, decisions[name], resamples[name])
        if rows is not None:
            groups[name] = rows
        against = structure(mine, decisions[name], resamples[name])
        if against is not None:
            structures[name] = against
    for base, members in fams.items():
        mine = [_member(name, k, points[points["dataset"] == name], decisions[name], groups.get(name))
                for name, k in members if name in decisions]
        entry = {"members": mine, "direction": _direction(mine),
                 "settled": sum(m["settled"] for m in mine)}
        entry["sentences"] = _sentences(base, entry)
        whole = next((m for m in mine if m["top_classes"] is None), None)
        if whole is not None and whole["dataset"] in structures:
            entry["sentences"].append(_structure_sentence(whole, structures[whole["dataset"]]))
        out[base] = entry
    return {"cuts": [float(c) for c in GROUP_CUTS], "groups": groups, "families": out, "structure": structures,
            "opening": [s for f in out.values() for s in f["sentences"]]}


# ---------------------------------------------------------------- words


def _num(v, digits: int = 1) -> str:
    if v is None or not math.isfinite(v):
        return "?"
    if round(v, digits) == 0:
        v = 0.0
    return f"{v:+.{digits}f}".replace("-", "−")


def _ci(lo, hi, digits: int = 1) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f" [{lo:.{digits}f}, {hi:.{digits}f}]".replace("-", "−")


def _label(m: dict) -> str:
    if m["top_classes"] is not None:
        return f"{m['top_classes']:,}"
    return f"all {m['classes']:,}" if m["classes"] else "all"


def _sentences(base: str, entry: dict) -> list:
    """The family's opening sentences: the direction, then one sentence per number of classes."""
    members = entry["members"]
    labels = [_label(m) for m in members]
    listed = ", ".join(labels[:-1]) + " and " + labels[-1]
    out = [f"As the classes grow on {base} ({listed} classes, each at its operating point), the next unit of "
           f"effort {entry['direction']} (settled at {entry['settled']} of {len(members)})."]
    for m, label in zip(members, labels):
        digits = 1 if m["unit"] == "points" else 3
        unit = "points" if m["unit"] == "points" else m["metric"]
        if m["answer"] is None:
            out.append(f"At {label} classes, no lever was measured.")
            continue
        gain = (f"{m['chosen']} {_num(m['gain'], digits)}{_ci(m['ci_low'], m['ci_high'], digits)} {unit} of "
                f"{m['metric']}" + (" (extrapolated)" if m["extrapolated"] else ""))
        text = f"At {label} classes (n = {m['n_now']:,.0f}, {m['model']}): "
        if m["answer"] == NOTHING:
            text += f"no lever gains one test example (best: {gain})"
        else:
            text += f"{m['answer']}, {gain}, {'settled' if m['settled'] else 'open'}"
            if m["rival"] is not None:
                text += (f" against {m['rival']} (ahead by {_num(m['advantage'], digits)}"
                         f"{_ci(m['advantage_ci_low'], m['advantage_ci_high'], digits)})")
        parts = []
        mg, dg = m["model_gains_most"], m["data_gains_most"]
        if mg is not None and m["lever_model"] is not None:
            parts.append(f"{m['lever_model']} gains most on the {mg['group']} "
                         f"({_num(mg['gain'])}{_ci(mg['ci_low'], mg['ci_high'])})" if round(mg["gain"], 1) > 0
                         else f"{m['lever_model']} gains in no group")
        if dg is not None and m["n_half"] is not None:
            doubling = f"the last doubling of rows ({m['n_half']:,} to {m['n_now']:,.0f})"
            parts.append(f"{doubling} most on the {dg['group']} ({_num(dg['gain'])}{_ci(dg['ci_low'], dg['ci_high'])})"
                         if round(dg["gain"], 1) > 0 else f"{doubling} in no group")
        if parts:
            text += "; in accuracy points, " + " and ".join(parts)
        out.append(text + ".")
    return out


def _lead(row: dict, key: str, digits: int) -> str:
    return f"{_num(row.get(key), digits)}{_ci(row.get(f'{key}_ci_low'), row.get(f'{key}_ci_high'), digits)}"


def _primary_lead(row: dict, found: dict) -> str:
    """'+1.6 [1.3, 1.8] points of macro_f1' (a metric not in points: '+0.012 [...] log_loss')."""
    points = found["unit"] == "points"
    return f"{_lead(row, 'lead', 1 if points else 3)} " + (f"points of {found['metric']}" if points else found["metric"])


def _structure_sentence(member: dict, found: dict) -> str:
    """How the hierarchical rung fares against each flat rung on the dataset with every class."""
    said = [f"{r['verdict'] or 'is measured against'} flat {r['flat']} at {r['n']:,} rows "
            f"({_primary_lead(r, found)}; accuracy {_lead(r, 'accuracy_lead', 1)})"
            for r in found["rows"]]
    if not said:
        return f"At {_label(member)} classes no flat rung was measured beside the hierarchical rung."
    return (f"At {_label(member)} classes, at the largest size each pair ran, the hierarchical rung "
            + "; ".join(said) + ".")


def opening(summary: dict) -> list[tuple]:
    """The study's first sentences as report blocks (none without a cardinality family)."""
    card = summary.get("cardinality")
    return [("p", " ".join(card["opening"]))] if card and card["opening"] else []


def _pts(gain, lo, hi) -> str:
    return f"{_num(gain)}{_ci(lo, hi)}"


def blocks(summary: dict) -> list[tuple]:
    """The head, torso and tail rows as report blocks (none without a cardinality family)."""
    card = summary.get("cardinality")
    if not card or not card["groups"]:
        return []
    head, torso = (f"{100 * c:.0f}%" for c in card["cuts"])
    out = [("h2", "Head, torso and tail: where more data helps and where a better model does"),
           ("p", f"Classes ranked by their rows in the training pool: the head holds the most frequent classes up to "
                 f"{head} of the pool's rows, the torso up to {torso}, the tail the rest (and any class without a "
                 "pool row). At each dataset's operating point, in accuracy points of the group's test rows: the "
                 "decision's best model lever measured there against the current model, beside the gain the current "
                 "model's last measured doubling of rows bought, and the difference of the two ('more': which one "
                 "is ahead with a 95% interval that excludes 0). Measured sizes only, never extrapolated; the "
                 "intervals pair the same seed resamples as every interval of the report.")]
    rows = []
    for name, g in card["groups"].items():
        doubling = "none measured" if g["n_half"] is None else f"{g['n_half']:,} to {g['n_now']:,.0f}"
        where = (f"{name}: n = {g['n_now']:,.0f}, {g['model']} on "
                 f"{condition_label((g['quality'], g['quality_rate'], g['cleaning']))} data; model lever: "
                 f"{g['model_lever'] or 'none measured'}; doubling: {doubling}; seeds {g['seeds']}; "
                 f"{g['interval_covers']}")
        out.append(("p", where + (f"; {g['note']}." if g["note"] else ".")))
        for r in g["rows"]:
            rows.append([name, r["group"], f"{r['accuracy_now']:.3f}",
                         _pts(r["model_gain"], r["model_ci_low"], r["model_ci_high"]),
                         _pts(r["data_gain"], r["data_ci_low"], r["data_ci_high"]),
                         _pts(r["difference"], r["difference_ci_low"], r["difference_ci_high"]),
                         r["more"] or "–"])
    if rows:
        out.append(("table", ["dataset", "group", "accuracy now", "best model lever (points)",
                              "last doubling (points)", "model − data", "more"], rows))
    found = card.get("structure") or {}
    if found:
        out.append(("h2", "The hierarchical rung against the flat ones"))
        out.append(("p", "The hierarchical rung (the parent class, then the class within it) against each flat rung "
                         "on the same data, at the largest size both measured: its lead on the primary metric and in "
                         "accuracy points, with 95% intervals over the same seed resamples; 'beats' and 'loses to' "
                         "only where the interval excludes 0."))
        out.append(("table", ["dataset", "flat rung", "n", "lead (primary)", "lead (accuracy points)", "verdict"],
                    [[name, r["flat"], f"{r['n']:,}", _primary_lead(r, f), _lead(r, "accuracy_lead", 1),
                      r["verdict"] or "–"]
                     for name, f in found.items() for r in f["rows"]]))
    return out
