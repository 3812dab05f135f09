"""What pretraining is worth in labels: a pretrained rung against the same head on bag-of-words.

``PAIRS`` names, for each pretrained rung, the rung that is its head on
bag-of-words: ``wordllama`` (WordLlama's shipped embeddings, logistic
regression on top) against ``logreg`` (logistic regression on TF-IDF).  The
pairing is the report's claim about two rungs, so it lives here, beside the
sentences that rest on it; a tuned curve is paired with the tuned head, a
default curve with the default head.

At each size n of the pretrained curve, k = n* / n, where n* is the rows the
bag-of-words curve needs to reach the pretrained curve's mean error at n:
``equivalence.multipliers`` on measured curves only (the running best,
interpolated in log n), a bound in words past the measured sizes, "never"
only from a fit the report trusts.  k above 1: pretrained embeddings are
worth k times the labels; below 1 a loss, said as one: bag-of-words needs
only k times the rows.  Intervals are the seed resamples' (both curves
re-averaged on the same resample, so the pairing by seed is exact).
"""

from __future__ import annotations

import numpy as np

from mvd.levers import TUNED_SUFFIX, plain_model
from mvd.report.aggregate import CONFIDENCE, SeedResamples
from mvd.report.curves import Curve
from mvd.report.equivalence import describe, multipliers
from mvd.report.fits import FIT_OK_R2

__all__ = ["PAIRS", "MIN_SIZES", "pairs", "section", "row_words", "blocks"]

# pretrained rung -> the same head on bag-of-words
PAIRS = {"wordllama": "logreg"}
# the bag-of-words curve needs this many sizes to be read off (as the equivalence table's baseline)
MIN_SIZES = 3
TITLE = "What pretraining is worth in labels"


def pairs(curves: dict, dataset: str) -> list[tuple[Curve, Curve]]:
    """(pretrained, bag-of-words) curves of ``dataset`` measured on the same data, tuned with tuned and
    default with default, where the bag-of-words curve has ``MIN_SIZES`` sizes or more."""
    out = []
    for pre in sorted((c for c in curves.values() if c.dataset == dataset), key=lambda c: c.key):
        head = PAIRS.get(plain_model(pre.model))
        if head is None:
            continue
        name = head + (TUNED_SUFFIX if pre.model.endswith(TUNED_SUFFIX) else "")
        bow = curves.get((dataset, name) + tuple(pre.condition))
        if bow is not None and len(bow.n) >= MIN_SIZES:
            out.append((pre, bow))
    return out


def _seeds(curve: Curve) -> set:
    return {int(s) for s, col in zip(curve.seeds, curve.wide.T) if np.isfinite(col).any()}


def _condition(c: Curve) -> str:
    quality, rate, cleaning = c.condition
    q = "clean data" if float(rate) == 0 else f"{quality} {float(rate):g}"
    return q if cleaning == "none" else f"{q} +{cleaning}"


def row_words(row: dict, *, model: str, bag_of_words: str, n_min: int, n_max: int) -> str:
    """One size's multiplier in a sentence: a gain as 'worth k× the labels', a loss as a loss, a bound in words."""
    n, k, kind = row["train_size"], row["multiplier"], row["kind"]
    if row.get("tie"):
        reached = f"{row['n_needed']:,.0f}" if kind == "measured" else f"{n_min:,}"
        return (f"pretraining gains no labels at n = {n:,}: {bag_of_words} on bag-of-words has the same error with "
                f"the same rows (it reaches {model}'s error with {reached} rows, {row['display']}, and is no better "
                f"by n = {n:,}), so neither side wins here")
    if kind == "measured":
        shown = row["display"]
        lo, hi = row["ci_low"], row["ci_high"]
        if k >= 1:
            text = (f"pretrained embeddings are worth {shown} the labels at n = {n:,}: {bag_of_words} on "
                    f"bag-of-words needs {row['n_needed']:,.0f} rows to match {model}'s error there")
            if lo is not None and lo < 1:
                text += "; the interval includes 1, so the gain is not settled"
            return text
        text = (f"pretraining costs labels at n = {n:,}: bag-of-words needs only {shown} the rows "
                f"({bag_of_words} matches {model}'s error with {row['n_needed']:,.0f} rows)")
        if hi is None or hi >= 1:
            text += "; the interval includes 1, so the loss is not settled"
        return text
    if kind == "at_least":
        if k > 1:
            return (f"pretrained embeddings are worth at least {k:.3g}x the labels at n = {n:,}: {bag_of_words} on "
                    f"bag-of-words does not reach {model}'s error within its measured sizes (up to {n_max:,} rows)")
        if k == 1:
            return (f"pretraining is no loss at n = {n:,}: {bag_of_words} on bag-of-words does not reach {model}'s "
                    f"error with the same {n:,} rows, its largest measured size (at least 1x the labels)")
        return (f"not priced at n = {n:,}: {bag_of_words} on bag-of-words was measured up to {n_max:,} rows only, "
                f"and does not reach {model}'s error there")
    if kind == "at_most":
        if k < 1:
            return (f"pretraining costs labels at n = {n:,}: bag-of-words needs at most {k:.3g}x the rows "
                    f"({bag_of_words} already matches {model}'s error at its smallest measured size, {n_min:,})")
        if k == 1:
            return (f"pretraining gains no labels at n = {n:,}: {bag_of_words} on bag-of-words matches {model}'s "
                    f"error with the same {n:,} rows, its smallest measured size (at most 1x)")
        return (f"pretrained embeddings are worth at most {k:.3g}x the labels at n = {n:,}: {bag_of_words} on "
                f"bag-of-words already matches {model}'s error at its smallest measured size ({n_min:,})")
    return (f"pretrained embeddings are worth more labels than bag-of-words can buy at n = {n:,}: {bag_of_words}'s "
            f"fitted curve levels off above {model}'s error (floor {row['floor']:.3g}): never, by extrapolation "
            f"of a fit with R² >= {FIT_OK_R2:g}")


def _fewer(kind: str, k) -> bool:
    """Whether the multiplier (or its bound) says bag-of-words needs fewer rows than the pretrained rung."""
    return kind in ("measured", "at_most") and k is not None and k < 1


def _best_at(curve: Curve, n: float) -> float:
    """The curve's running best mean error at ``n`` (its measured sizes up to n); NaN below its smallest size."""
    best = np.fmin.accumulate(curve.err)
    i = np.searchsorted(curve.n, n, side="right") - 1
    return float(best[i]) if i >= 0 else float("nan")


def _finite(v):
    return v if v is None or np.isfinite(v) else None


def _pair(pre: Curve, bow: Curve, rs: SeedResamples, *, n_now, covers: str | None) -> dict:
    n_min, n_max = int(bow.n.min()), int(bow.n.max())
    rows = []
    for i, (n, m) in enumerate(zip(pre.n, multipliers(bow, pre, rs))):
        same = bow.error_at(int(n))                                   # NaN where bag-of-words skipped this size
        row = {"train_size": int(n), "error": float(pre.err[i]),
               "bag_of_words_error": float(same) if np.isfinite(same) else None,
               "kind": m.kind, "relation": m.relation, "multiplier": m.value, "n_needed": m.n_needed,
               "ci_low": _finite(m.ci_low), "ci_high": _finite(m.ci_high), "floor": m.floor}
        row["display"] = describe(row) if m.kind == "measured" else m.display()
        # fewer rows reach the pretrained error, but with n rows bag-of-words is no better either (two flat curves,
        # e.g. both still predicting the majority class): a tie, not a loss
        row["tie"] = _fewer(m.kind, m.value) and not _best_at(bow, n) < pre.err[i]
        row["loss"] = _fewer(m.kind, m.value) and not row["tie"]
        row["words"] = row_words(row, model=pre.model, bag_of_words=bow.model, n_min=n_min, n_max=n_max)
        rows.append(row)
    below = [r for r in rows if n_now is None or r["train_size"] <= n_now]
    at = max(below or rows, key=lambda r: r["train_size"])
    quality, rate, cleaning = pre.condition
    sentence = f"On {pre.dataset} ({_condition(pre)}, {pre.model} against {bow.model}), {at['words']}"
    if at["kind"] != "measured":
        measured = [r for r in rows if r["kind"] == "measured"]
        if measured:
            last = max(measured, key=lambda r: r["train_size"])
            sentence += f"; measured at n = {last['train_size']:,}: {last['display']}"
    sentence += "." + _across(rows)
    seeds = sorted(_seeds(pre) & _seeds(bow))
    rests = (f"Read off the measured curves of {pre.model} ({len(pre.n)} sizes, {int(pre.n.min()):,}–"
             f"{int(pre.n.max()):,}) and {bow.model} ({len(bow.n)} sizes, {n_min:,}–{n_max:,}), seeds {seeds}; "
             f"{CONFIDENCE:.0%} intervals on log k over {rs.n} seed resamples of both curves, paired by seed")
    rests += f"; {covers}." if covers else "."
    return {"model": pre.model, "bag_of_words": bow.model, "quality": quality, "quality_rate": float(rate),
            "cleaning": cleaning, "seeds": seeds, "sizes": [int(n) for n in pre.n],
            "bag_of_words_sizes": [int(n) for n in bow.n], "operating_size": at["train_size"],
            "sentence": sentence, "rests_on": rests, "rows": rows}


def _runs(sizes: list[int], order: list[int]) -> str:
    """Sizes as runs of consecutive measured sizes: 'n = 45 to 1,448 and 4,096'."""
    runs, start, prev = [], None, None
    for n in sizes:
        if start is not None and order.index(n) == order.index(prev) + 1:
            prev = n
            continue
        if start is not None:
            runs.append((start, prev))
        start = prev = n
    runs.append((start, prev))
    parts = [f"{a:,}" if a == b else f"{a:,} to {b:,}" for a, b in runs]
    return "n = " + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]


def _across(rows: list[dict]) -> str:
    """Where the gain and the loss are settled: measured multipliers whose interval lies above or below 1."""
    order = [r["train_size"] for r in rows]
    measured = [r for r in rows if r["kind"] == "measured" and r["ci_low"] is not None and r["ci_high"] is not None]
    gain = [r for r in measured if r["ci_low"] > 1]
    loss = [r for r in measured if r["ci_high"] < 1]
    parts = []
    if gain:
        top = max(gain, key=lambda r: (r["multiplier"], -r["train_size"]))
        parts.append(f"a gain at {_runs([r['train_size'] for r in gain], order)} (largest: {top['display']} "
                     f"at n = {top['train_size']:,})")
    if loss:
        low = min(loss, key=lambda r: (r["multiplier"], r["train_size"]))
        parts.append(f"a loss at {_runs([r['train_size'] for r in loss], order)} (deepest: {low['display']} "
                     f"at n = {low['train_size']:,})")
    if not parts:
        return " No measured size settles a gain or a loss (every interval includes 1, or has none)."
    return " Intervals wholly above or below 1: " + "; ".join(parts) + "."


def section(curves: dict, dataset: str, rs: SeedResamples, *, n_now=None, covers: str | None = None) -> list[dict]:
    """The multiplier of every pretrained rung over its head on bag-of-words on ``dataset``, at each size and at
    the operating point ``n_now`` (the largest measured size at or below it); [] where no pair was measured.
    ``covers`` is the dataset's interval_covers phrase (which sources of variance the intervals hold)."""
    return [_pair(pre, bow, rs, n_now=n_now, covers=covers) for pre, bow in pairs(curves, dataset)]


def blocks(entries: list[dict]) -> list[tuple]:
    """The section of one dataset in the report: the sentence at the operating point and what it rests on per
    pair, then the multiplier at every measured size; [] without a pair."""
    if not entries:
        return []
    out = [("h3", TITLE),
           ("p", "Each pretrained rung against the same head on bag-of-words: k = the rows bag-of-words needs to match "
                 "the pretrained rung's error at n, divided by n, read off its measured curve (running best, "
                 "interpolated in log n). Above 1, pretrained embeddings are worth k× the labels; below 1 it is a "
                 "loss (bag-of-words needs only k× the rows), and a tie where bag-of-words is no better with the same rows either; ≥ or ≤: past bag-of-words' measured sizes (bound "
                 "shown); never: its fit (R² >= 0.9) levels off above."),
           ("ul", [f"{e['sentence']} {e['rests_on']}" for e in entries])]
    sizes = sorted({r["train_size"] for e in entries for r in e["rows"]})
    cells = [{r["train_size"]: r["display"] + (" (loss)" if r["loss"] else " (tie)" if r["tie"] else "")
              for r in e["rows"]} for e in entries]
    header = ["n"] + [f"{e['model']} vs {e['bag_of_words']}" + ("" if e["quality_rate"] == 0 and e["cleaning"] == "none"
                                                                else f" ({e['quality']} {e['quality_rate']:g}"
                                                                f"{'' if e['cleaning'] == 'none' else ' +' + e['cleaning']})")
                      for e in entries]
    out.append(("table", header, [[f"{n:,}"] + [c.get(n, "") for c in cells] for n in sizes]))
    return out
