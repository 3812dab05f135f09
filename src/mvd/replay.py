"""``mvd-replay STUDY_DIR``: what the adaptive sweeper would have done on a fully measured study.

The policy of ``mvd.adaptive`` runs unchanged, but instead of fitting, each
point it asks for is revealed from the store.  Nothing is refitted: the CPU
it would have spent is the stored fit + predict (+ tune) seconds of the
points it asked for, and its decision is compared with the decision the same
rule reaches on every stored point (the full grid's): the lever, and the kind
of answer (a better model, more data, ...), which is what a settled decision
settles.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

from mvd import adaptive
from mvd.errors import ConfigError

__all__ = ["replay", "main"]


def replay(points: pd.DataFrame, settings: adaptive.Settings, *, decide_fn=None) -> dict:
    """Replay the policy on ``points`` (a full grid); the record, the full grid's decisions and the scores."""
    decide_fn = decide_fn or adaptive.decisions
    points = points.reset_index(drop=True)
    grid = adaptive.grid_from_points(points)
    index = pd.MultiIndex.from_arrays([points["run_id"].astype(str), points["seed"].astype(int),
                                       points["train_size"].astype(int)])

    def reveal(keys):
        return points[index.isin(keys)]

    record = adaptive.run(grid, reveal, settings, decide_fn=decide_fn)
    ops = adaptive.operating_points(grid)
    full = decide_fn(points, ops, settings)
    total_cpu = float(adaptive.point_cost(points).sum())
    rows = []
    for dataset, dec in full.items():
        mine = record.decisions[dataset]
        # a settled decision settles the kind of answer (a better model, more data, ...), not which lever of it
        rows.append({"dataset": dataset, "full": dec.chosen, "adaptive": mine["chosen"],
                     "agree": dec.chosen == mine["chosen"], "full_answer": dec.answer,
                     "adaptive_answer": mine["answer"], "same_answer": dec.answer == mine["answer"],
                     "full_settled": bool(dec.settled), "adaptive_settled": mine["settled"]})
    return {
        "record": record.to_json(),
        "datasets": rows,
        "agreement": sum(r["agree"] for r in rows) / len(rows),
        "answer_agreement": sum(r["same_answer"] for r in rows) / len(rows),
        "grid_points": len(points),
        "grid_cpu_seconds": round(total_cpu, 4),
        "cpu_ratio": record.used_cpu_seconds / total_cpu if total_cpu > 0 else float("nan"),
        "points_ratio": record.used_points / len(points),
    }


def _print(study: str, result: dict) -> None:
    rec = result["record"]
    print(f"replay of {study}: {len(rec['rounds'])} round(s); {rec['stop_sentence']}")
    for row in result["datasets"]:
        mark = ("same" if row["agree"] else f"same answer: {row['full_answer']}" if row["same_answer"]
                else f"DIFFERENT answer: {row['full_answer']}")
        print(f"  {row['dataset']}: adaptive: {rec['decisions'][row['dataset']]['sentence']}")
        print(f"  {' ' * len(row['dataset'])}  full grid: {row['full']} ({mark})")
    print(f"agreement {result['agreement']:.0%} of {len(result['datasets'])} decision(s) "
          f"({result['answer_agreement']:.0%} on the kind of answer); "
          f"CPU {rec['used_cpu_seconds']:.1f} of {result['grid_cpu_seconds']:.1f} s ({result['cpu_ratio']:.1%}); "
          f"points {rec['used_points']} of {result['grid_points']} ({result['points_ratio']:.1%})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="mvd-replay", description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", help="a study folder holding points/ (e.g. results/quickstart)")
    defaults = adaptive.Settings()
    parser.add_argument("--confidence", type=float, default=defaults.confidence)
    parser.add_argument("--budget", type=float, default=None, help="points or CPU-seconds (see --budget-unit)")
    parser.add_argument("--budget-unit", default=defaults.budget_unit, choices=adaptive.UNITS)
    parser.add_argument("--initial-seeds", type=int, default=defaults.initial_seeds)
    parser.add_argument("--coarse-factor", type=float, default=defaults.coarse_factor)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    from mvd import store

    folder = Path(args.study_dir)
    try:
        points = store.load(folder)
        if points.empty:
            raise ConfigError(f"STUDY_DIR={str(folder)!r} holds no points; give a study folder with points/ "
                              f"(e.g. results/quickstart).")
        settings = adaptive.Settings(confidence=args.confidence, budget=args.budget, budget_unit=args.budget_unit,
                                     initial_seeds=args.initial_seeds, coarse_factor=args.coarse_factor,
                                     seed=args.seed)
        result = replay(points, settings)
    except (ConfigError, store.StoreError) as exc:
        # the sweeper's keys, as this command's options (hydra.sweeper.budget_unit -> --budget-unit)
        message = re.sub(r"hydra\.sweeper\.(\w+)", lambda m: "--" + m.group(1).replace("_", "-"), str(exc))
        print(f"mvd-replay: error: {message}", file=sys.stderr)
        sys.exit(2)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        _print(folder.name, result)


if __name__ == "__main__":
    main()
