"""The report's first sentence per dataset: what a team should do next, in plain words.

``lead`` turns one operating-point decision (``Decision.to_dict()``, as
summary.json holds it) into one short sentence a team can act on:

    On digits at 1,347 rows: switch logreg to forest (+1.1 points [−2.9, 3.8]; forest and gbm tie); not yet
    settled against doubling the labels (ahead by +0.5 [−5.1, 6.2]; its gain extrapolated from the measured
    curve).

- The action is the chosen lever, as a verb, with its gain and interval.
  Where no lever gains one test example (or, without a test size, where
  none gains at all), it says so and to keep the model and data, with the
  best lever's gain and interval.
- Levers tied with the chosen one are named ("forest and gbm tie").
- Settled is said against the other kinds of answer: "settled against more
  data", or "not yet settled against doubling the labels" naming the best
  lever of each kind it is open against: with the lead over it where there
  is one such lever, the closest and a count where there are more than two.
- No curve family is named: a gain read past the measured sizes is
  "extrapolated from the measured curve"; the family is in the dataset's
  section.  At most ``MAX_WORDS`` words (details are dropped to stay there).

``also_measured`` names every model that ran and is not in the sentence, and
why: behind (its gain), the constant predictor, or predicting as the constant
does at this size (``attribution.cannot_fit``'s rule).  ``order`` sorts
datasets by the size of their best gain, largest first.  All three are pure.
"""

from __future__ import annotations

import math

from mvd.levers import ANSWER, SHIFT_KINDS, condition_label, gains_nothing

__all__ = ["lead", "also_measured", "order", "unfit_at", "MAX_WORDS"]

MAX_WORDS = 40


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _num(v, digits: int, sign: bool = True) -> str:
    if not _finite(v):
        return "?"
    if round(v, digits) == 0:  # no "−0.0": a value that rounds to zero has no sign
        v, sign = 0.0, False
    return (f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}").replace("-", "−")


def _and(items: list) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _levers(d: dict) -> dict:
    return {lv["lever"]: lv for lv in d.get("levers") or []}


def _shifted(d: dict) -> bool:
    return (d.get("data") or {}).get("quality") in SHIFT_KINDS


def _data_action(lv: dict, d: dict, verb: bool) -> str:
    """The data part of a cleaning, relabel, target or combined lever, as a verb or a gerund."""
    method = lv.get("cleaning") or "none"
    if method == "oracle":
        return "review every label" if verb else "reviewing every label"
    if method != "none":
        return f"clean the labels with {method}" if verb else f"cleaning with {method}"
    if lv["kind"] == "target" or _shifted(d):
        rows = f"{lv['n']:,.0f} target-distribution rows"
        return f"label {rows} instead" if verb else f"labelling {rows}"
    return "relabel every row" if verb else "relabelling every row"


def _action(lv: dict, d: dict, verb: bool) -> str:
    """The lever as an imperative ("switch logreg to forest") or a gerund ("switching to forest")."""
    kind, current = lv["kind"], d["model"]
    if kind == "labels":
        return f"double the labels to {lv['n']:,.0f} rows" if verb else "doubling the labels"
    if kind == "step":
        return f"add {lv['new_labels']:,.0f} labels" if verb else f"adding {lv['new_labels']:,.0f} labels"
    if kind == "tune":
        return f"tune {current}" if verb else f"tuning {current}"
    if kind == "model":
        return f"switch {current} to {lv['model']}" if verb else f"switching to {lv['model']}"
    data = _data_action(lv, d, verb)
    if kind == "combined":
        return f"{data} and switch to {lv['model']}" if verb else f"{data} and switching to {lv['model']}"
    return data


def _gain(lv: dict, d: dict, unit: bool = True, detail: bool = True) -> str:
    """'+1.1 points [0.1, 2.9]' (and ', extrapolated from the measured curve')."""
    digits = 1 if d["unit"] == "points" else 3
    named = d["unit"] == "points" and d.get("metric") not in (None, "accuracy")  # points of macro_f1, not accuracy
    text = _num(lv["gain"], digits) + ((f" points of {d['metric']}" if named else f" {d['unit']}") if unit else "")
    if _finite(lv.get("ci_low")) and _finite(lv.get("ci_high")):
        text += f" [{_num(lv['ci_low'], digits, False)}, {_num(lv['ci_high'], digits, False)}]"
    if detail and lv.get("extrapolated"):
        text += ", extrapolated from the measured curve"
    return text


def _lead(ld: dict, d: dict) -> str:
    """'+0.5 [−5.1, 6.2]': the chosen lever's lead over a rival, with its paired interval."""
    digits = 1 if d["unit"] == "points" else 3
    text = _num(ld.get("advantage"), digits)
    if _finite(ld.get("ci_low")) and _finite(ld.get("ci_high")):
        text += f" [{_num(ld['ci_low'], digits, False)}, {_num(ld['ci_high'], digits, False)}]"
    return text


def _gains_nothing(d: dict, chosen: dict | None) -> bool:
    """No lever gains one test example (where the test size is known), or none gains at all."""
    return gains_nothing(None if chosen is None else chosen["gain"], n_test=d.get("n_test"),
                         tolerance=d.get("tie_tolerance"))


def _where(d: dict) -> str:
    data = d.get("data") or {}
    cond = condition_label((data.get("quality", "clean"), data.get("quality_rate", 0.0), data.get("cleaning", "none")))
    at = f"at {d['n_now']:,.0f} rows" + (f" of {cond} data" if cond != "clean" else "")
    return f"On {d['dataset']} {at}"


def _candidates(d: dict) -> list[str]:
    """The sentence from the most detailed to the plainest form; ``lead`` takes the first within MAX_WORDS."""
    levers = _levers(d)
    chosen = levers.get(d.get("chosen"))
    where = _where(d)
    if not levers:
        return [f"{where}: the study measured no lever to compare."]
    if _gains_nothing(d, chosen):
        keep = f"keep {d['model']} and the data you have"
        what = "gains a test example" if d.get("n_test") else f"improves on {d['model']}"
        if chosen is None:
            return [f"{where}: nothing measured {what}; {keep}."]
        best = f"best: {_action(chosen, d, False)}, "
        return [f"{where}: nothing measured {what} ({best}{_gain(chosen, d)}); {keep}.",
                f"{where}: nothing measured {what} ({best}{_gain(chosen, d, detail=False)}); {keep}.",
                f"{where}: nothing measured {what}; {keep}."]
    # ties of the chosen lever's kind are named beside it; a tie with another kind leaves that kind open ("a tie")
    tied = [chosen] + [levers[t] for t in d.get("ties") or []
                       if t in levers and ANSWER[levers[t]["kind"]] == ANSWER[chosen["kind"]]]
    ties = ""
    if len(tied) > 1:
        names = [lv["model"] for lv in tied] if all(lv["kind"] in ("model", "tune") for lv in tied) else \
            [_action(lv, d, False) for lv in tied]
        ties = f"; {_and(names)} tie"
    against = d.get("settled_against") or {}
    open_ = [(answer, ld) for answer, ld in against.items() if not ld.get("settled")]
    closed = [answer for answer, ld in against.items() if ld.get("settled")]
    open_.sort(key=lambda item: (item[1]["advantage"] if _finite(item[1].get("advantage")) else math.inf, item[0]))
    rivals = [levers.get(ld["lever"]) for _, ld in open_]
    rivals = [lv for lv in rivals if lv is not None]

    tol = d.get("tie_tolerance") or 0.0
    tie = {ld["lever"] for _, ld in open_ if _finite(ld.get("advantage")) and abs(ld["advantage"]) < tol}

    def settled(detail: bool) -> str:
        if not against:  # every lever is of one kind: settled means its own interval excludes 0
            return "settled" if d.get("settled") else "not yet settled"
        if not open_:
            return f"settled against {_and(closed)}"
        names = [_action(lv, d, False) + (" (a tie)" if lv["lever"] in tie else "") for lv in rivals] or \
            [a for a, _ in open_]
        if len(names) > 2:  # the closest rival by name, the others counted (each is in the dataset's section)
            names = [names[0], f"{len(names) - 1} other levers"]
        text = "not yet settled against " + " or ".join(names)
        if detail and len(rivals) == 1 and rivals[0]["lever"] not in tie:  # why open: the lead's interval holds 0
            text += f" (ahead by {_lead(open_[0][1], d)}" + (
                "; its gain extrapolated from the measured curve)" if rivals[0].get("extrapolated") else ")")
        return (f"settled against {_and(closed)}, " + text.replace("not yet settled against", "not yet against")
                if closed else text)

    head = f"{where}: {_action(chosen, d, True)}"
    return [f"{head} ({_gain(chosen, d)}{ties}); {settled(True)}.",
            f"{head} ({_gain(chosen, d)}{ties}); {settled(False)}.",
            f"{head} ({_gain(chosen, d, detail=False)}{ties}); {settled(False)}.",
            f"{head} ({_gain(chosen, d, detail=False)}); {settled(False)}."]


def lead(decision: dict) -> str:
    """One sentence a team can act on, from a decision as summary.json holds it (``Decision.to_dict()``):
    the chosen lever as an action with its gain and interval (or that nothing gains), the levers tied with it,
    and whether it is settled against the other kinds of answer; at most ``MAX_WORDS`` words where the
    plainest form allows."""
    forms = _candidates(decision)
    return next((s for s in forms if len(s.split()) <= MAX_WORDS), forms[-1])


def _named(decision: dict) -> set:
    """The models the lead names: the current one, the chosen lever's and its ties', the open rivals'."""
    levers = _levers(decision)
    names = {decision["model"]}
    chosen = levers.get(decision.get("chosen"))
    if chosen is None:
        return names
    shown = [chosen] + [levers[t] for t in decision.get("ties") or [] if t in levers]
    if not _gains_nothing(decision, chosen):
        shown += [levers[ld["lever"]] for ld in (decision.get("settled_against") or {}).values()
                  if not ld.get("settled") and ld["lever"] in levers]
    for lv in shown:
        if lv["kind"] in ("model", "tune", "combined"):
            names.add(lv["model"])
    return names


def unfit_at(cannot_fit: dict, decision: dict) -> dict:
    """``{model: largest size}`` of the models that predict as the constant does at the decision's size and
    data: ``cannot_fit`` is ``attribution.cannot_fit``'s answer (curve key -> sizes), and a rung that cannot fit
    up to some size cannot fit below it either (the rule the attribution's start uses)."""
    data = decision.get("data") or {}
    here = (data.get("quality"), float(data.get("quality_rate") or 0.0), data.get("cleaning"))
    out = {}
    for key, sizes in cannot_fit.items():
        if (key[2], float(key[3]), key[4]) == here and sizes and decision["n_now"] <= max(sizes):
            out[str(key[1])] = int(max(sizes))
    return out


def also_measured(decision: dict, *, models=(), constant=(), unfit: dict | None = None) -> str:
    """'Also measured: tree (−10.6 points, behind); dummy (the constant predictor, −86.0 points); gbm (left out:
    up to 32 rows it predicts as the constant does, ...).' for every model of ``models`` (the dataset's, in ladder
    order) that ran and is not in the lead; '' when the lead names them all.  A model's other version (tuned or
    default) is named beside it.  ``constant`` are the constant predictors (rung 0), ``unfit`` is ``unfit_at``'s
    answer."""
    digits = 1 if decision["unit"] == "points" else 3
    unfit = unfit or {}
    by_model = {}
    for lv in decision.get("levers") or []:
        if lv["kind"] in ("model", "tune"):
            by_model[lv["model"]] = lv
            if lv.get("alternative"):
                by_model.setdefault(lv["alternative"]["model"], lv)
    named = _named(decision)
    parts, seen = [], set()
    for m in list(models) + sorted(m for m in by_model if m not in models):
        lv = by_model.get(m)
        if m in named or (lv is not None and (lv["model"] in named or lv["lever"] in seen)):
            continue
        if lv is not None:
            seen.add(lv["lever"])
            m = lv["model"]
        gain = "" if lv is None else f"{_num(lv['gain'], digits)} {decision['unit']}"
        alt = (lv or {}).get("alternative")
        other = f"; {alt['model']} {_num(alt['gain'], digits)}" if alt else ""
        if m in constant:
            parts.append(f"{m} (the constant predictor{', ' + gain if gain else ''}{other})")
        elif m in unfit:
            parts.append(f"{m} (left out: up to {unfit[m]:,} rows it predicts as the constant does"
                         f"{', ' + gain if gain else ''}{other})")
        elif lv is None:
            parts.append(f"{m} (not run on this data)")
        else:
            parts.append(f"{m} ({gain}, behind{other})")
    return ("Also measured: " + "; ".join(parts) + ".") if parts else ""


def order(datasets: dict) -> list[str]:
    """Dataset names by the size of their best gain (the chosen lever's), largest first; ties and datasets
    without a gain by name."""
    def best(item):
        d = item[1].get("decision") or item[1]
        lv = _levers(d).get(d.get("chosen"))
        gain = lv["gain"] if lv is not None and _finite(lv["gain"]) else -math.inf
        return (-gain, item[0])

    return [name for name, _ in sorted(datasets.items(), key=best)]
