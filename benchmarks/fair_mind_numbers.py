"""The fair_mind study's numbers, from its stored points (run after the study).

    .venv/bin/python benchmarks/fair_mind_numbers.py results/fair_mind

Prints, as markdown tables:
1. tuned vs default at every (dataset, model, size): the mean paired
   difference over seeds (same seed = same split and subset) and its standard
   error; the check is mean >= -2 SE, and the share of cells where tuning wins
   by more than 2 SE;
2. gbm tuned against the dummy at n <= 45 on every dataset;
3. tuning cost: a tuned point's search + final fit against
   (trials x inner folds + 1) x the default fit of the same (dataset, model,
   size, seed), and Optuna's own share of the search time;
4. which lever wins per dataset on the default and on the tuned ladder: the
   best model's gain over the baseline at the smallest size (mind) against
   the baseline's gain from the smallest to the largest size (data).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import mvd.store


def _paired(points: pd.DataFrame, a: pd.Series, b: pd.Series) -> tuple[float, float]:
    d = (a - b).dropna()
    if len(d) < 2:
        return float("nan"), float("nan")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def main(path: str) -> None:
    points = mvd.store.load(path)
    points = points[points["status"] == "ok"].copy()
    if "tuned" not in points:
        points["tuned"] = False
    points["tuned"] = points["tuned"].fillna(False).astype(bool)
    score = "test_accuracy"
    key = ["dataset", "model", "train_size", "seed"]
    wide = points.pivot_table(index=key, columns="tuned", values=score)
    wide = wide.rename(columns={False: "default", True: "tuned"})

    print("## Tuned vs default (test accuracy, paired over seeds)\n")
    print("| dataset | model | n | default | tuned | diff | SE | >= -2 SE | wins > 2 SE |")
    print("|---|---|---:|---:|---:|---:|---:|:---:|:---:|")
    holds = wins = cells = 0
    for (ds, model, n), g in wide.groupby(level=[0, 1, 2]):
        if "tuned" not in g or g["tuned"].isna().all():
            continue
        mean, se = _paired(g, g["tuned"], g["default"])
        if np.isnan(mean):
            continue
        cells += 1
        ok = mean >= -2 * se
        win = mean > 2 * se and se > 0 or (se == 0 and mean > 0)
        holds += ok
        wins += win
        print(f"| {ds} | {model} | {n} | {g['default'].mean():.3f} | {g['tuned'].mean():.3f} | "
              f"{mean:+.3f} | {se:.3f} | {'yes' if ok else '**no**'} | {'yes' if win else ''} |")
    print(f"\n{holds}/{cells} cells hold tuned >= default - 2 SE; tuning wins by > 2 SE in "
          f"{wins}/{cells} ({100 * wins / max(cells, 1):.0f}%).\n")

    print("## gbm tuned vs dummy at n <= 45\n")
    print("| dataset | n | dummy | gbm tuned | diff | SE |")
    print("|---|---:|---:|---:|---:|---:|")
    small = points[points["train_size"] <= 45]
    dummy = small[small["model"] == "dummy"].set_index(["dataset", "train_size", "seed"])[score].sort_index()
    gbm = small[(small["model"] == "gbm") & small["tuned"]].set_index(["dataset", "train_size", "seed"])[score]
    beats = total = 0
    for (ds, n), g in gbm.groupby(level=[0, 1]):
        d = dummy.loc[(ds, n)] if (ds, n) in dummy.index.droplevel(2) else None
        if d is None:
            continue
        mean, se = _paired(None, g.droplevel([0, 1]), d)
        total += 1
        beats += mean > 0
        print(f"| {ds} | {n} | {d.mean():.3f} | {g.mean():.3f} | {mean:+.3f} | {se:.3f} |")
    print(f"\ngbm tuned is above the dummy (mean over seeds) in {beats}/{total} (dataset, size) cells.\n")

    print("## Tuning cost\n")
    tuned = points[points["tuned"]].set_index(key)
    default = points[~points["tuned"]].set_index(key)["fit_seconds"]
    joined = tuned.join(default.rename("default_fit"), how="inner")
    joined["bound"] = (joined["tune_trials"] * joined["tune_folds"] + 1) * joined["default_fit"]
    joined["cost"] = joined["tune_seconds"] + joined["fit_seconds"]
    joined["ratio"] = joined["cost"] / joined["bound"]
    # the same bound priced with the point's own final fit (the tuned configuration, on all its rows)
    joined["own"] = joined["cost"] / ((joined["tune_trials"] * joined["tune_folds"] + 1) * joined["fit_seconds"])
    joined["optuna"] = joined["tune_overhead_seconds"] / joined["tune_seconds"]
    print("| model | points | median cost / bound | share > 1.10 | median cost / bound at the tuned fit | "
          "Optuna's share of search (median, max) |")
    print("|---|---:|---:|---:|---:|---:|")
    for model, g in joined.groupby(level=1):
        print(f"| {model} | {len(g)} | {g['ratio'].median():.2f} | {(g['ratio'] > 1.1).mean():.0%} | "
              f"{g['own'].median():.2f} | "
              f"{g['optuna'].median():.1%}, {g['optuna'].max():.1%} |")
    print(f"\nall: median cost/bound {joined['ratio'].median():.2f} (at the tuned fit {joined['own'].median():.2f}), "
          f"{(joined['ratio'] <= 1.1).mean():.0%} of tuned points within the bound + 10%; "
          f"Optuna's own time {joined['tune_overhead_seconds'].sum():.1f} s of "
          f"{joined['tune_seconds'].sum():.1f} s searching "
          f"({joined['tune_overhead_seconds'].sum() / joined['tune_seconds'].sum():.1%}).\n")

    print("## Which lever wins, default vs tuned ladder\n")
    print("| dataset | ladder | baseline | n0 -> n1 | mind: best at n0 - baseline at n0 | "
          "data: baseline at n1 - at n0 | lever |")
    print("|---|---|---|---|---:|---:|---|")
    means = points.groupby(["dataset", "tuned", "model", "train_size"])[score].mean()
    for ds in sorted(points["dataset"].unique()):
        for is_tuned in (False, True):
            m = means.loc[ds]
            if is_tuned not in m.index.get_level_values(0):
                continue
            ladder = m.loc[is_tuned]
            base = "logreg"
            if base not in ladder.index.get_level_values(0):
                continue
            sizes = sorted(ladder.loc[base].index)
            n0, n1 = sizes[0], sizes[-1]
            at0 = ladder.xs(n0, level=1).drop("dummy", errors="ignore")
            mind = at0.max() - ladder.loc[(base, n0)]
            data = ladder.loc[(base, n1)] - ladder.loc[(base, n0)]
            print(f"| {ds} | {'tuned' if is_tuned else 'default'} | {base} | {n0} -> {n1} | "
                  f"{mind:+.3f} ({at0.idxmax()}) | {data:+.3f} | {'mind' if mind > data else 'data'} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/fair_mind")
