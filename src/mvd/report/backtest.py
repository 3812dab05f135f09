"""How often the report's advice and intervals would have been right, on the study's own data.

``decisions``: hide the study's largest sizes, make the operating-point
decision from the rest (at the largest visible size), reveal, and score
whether the chosen lever was the one that actually won (hit) and how many
metric points were lost when it was not (regret).  The cuts are the visible
sizes nearest n_max/2, n_max/4 and n_max/8 that leave at least 4 sizes to
fit, so that twice the data at the cut was measured.

``intervals``: per curve, fit the backtested family on the anchors up to
n_max/2 and count how often the 80% and 95% intervals hold the held-out means.
"""

from __future__ import annotations

import numpy as np

from mvd.errors import ConfigError
from mvd.report import families
from mvd.report.aggregate import SeedResamples
from mvd.report.decision import hidden, revealed
from mvd.report.fits import sigma_floor

__all__ = ["decisions", "intervals", "MIN_SIZES", "check_sizes"]

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


def decisions(decision) -> dict | None:
    """Hit rate and regret of one dataset's decision (from ``decide``), or None with too few sizes."""
    curves = decision._context[0]
    current = curves[(decision.dataset, decision.model) + tuple(decision.data)]
    cuts = _cuts(current.n)
    trials = []
    for cut in cuts:
        guess, truth = hidden(decision, cut), revealed(decision, cut)
        # levers matched by their typed key: a model lever may rest on its tuned version in one and not the other
        actual = {lv.key: lv for lv in truth.levers}
        common = [lv for lv in guess.levers if lv.key in actual]
        if not common:
            continue
        pick = max(common, key=lambda lv: (lv.gain, lv.name))
        best = max(actual[lv.key].gain for lv in common)
        won = max(common, key=lambda lv: (actual[lv.key].gain, lv.name))
        chosen, winner = pick.name, won.name
        trials.append({"n": cut, "chosen": chosen, "winner": winner, "hit": pick.key == won.key,
                       "predicted_gain": pick.gain, "actual_gain": actual[pick.key].gain,
                       "regret": best - actual[pick.key].gain})
    if not trials:
        return None
    return {"trials": trials, "hit_rate": float(np.mean([t["hit"] for t in trials])),
            "mean_regret": float(np.mean([t["regret"] for t in trials])), "unit": decision.unit}


def intervals(curves: dict, dataset: str, resamples: SeedResamples, levels=(0.8, 0.95),
              conditions=None) -> dict | None:
    """Empirical coverage of the extrapolation intervals on the dataset's own held-out anchors.

    ``conditions`` limits the curves to those data conditions (the report checks the curves on
    the operating point's data, which its decision extrapolates).
    """
    held, covered, chosen = 0, {lv: 0 for lv in levels}, {}
    for c in sorted((c for c in curves.values() if c.dataset == dataset
                     and (conditions is None or c.condition in conditions)), key=lambda c: c.key):
        weight = 1.0 / sigma_floor(c.se, c.err) ** 2
        got = families.coverage(c.n, c.wide, c.seeds, weight, resamples, levels=levels)
        if got is None:
            continue
        held += got["held_out"]
        for lv in levels:
            covered[lv] += got["covered"][lv]
        chosen[got["family"]] = chosen.get(got["family"], 0) + 1
    if held == 0:
        return None
    return {"held_out": held, "coverage": {f"{int(round(lv * 100))}": covered[lv] / held for lv in levels},
            "families": dict(sorted(chosen.items()))}

