"""Load times of the named datasets: cold parse vs. warm prepared cache.

    MVD_DATA=../shared/data .venv/bin/python benchmarks/data_bench.py [--repeats 5] [--json out.json]

Cold: the original files are verified (MD5) and parsed, and the prepared
entry is written (an empty cache directory each time).  Warm: the files are
verified and the prepared entry is read back.  Both go through
``mvd.data.load`` exactly as a curve job does; imports are paid once before
timing.  Reported: median and min over the repeats, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from mvd import data
from mvd.config import CONF_DIR, register

NAMED = ["adult", "letter", "magic", "optdigits", "spambase", "sms_spam", "mnist"]
# the targets for a warm load
TARGETS = {"adult": 0.3, "mnist": 0.5}


def _timed(cfg) -> float:
    data._MEMO.clear()
    start = time.perf_counter()
    data.load(cfg)
    return time.perf_counter() - start


def bench(names, repeats: int) -> list[dict]:
    rows = []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        configs = {n: compose(config_name="config", overrides=[f"dataset={n}"]).dataset for n in names}
    for name, cfg in configs.items():
        cold = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as cache:
                os.environ["MVD_CACHE"] = cache
                cold.append(_timed(cfg))
        with tempfile.TemporaryDirectory() as cache:
            os.environ["MVD_CACHE"] = cache
            _timed(cfg)  # fill the cache
            warm = [_timed(cfg) for _ in range(repeats)]
            ds = data.load(cfg)
        rows.append({
            "dataset": name, "rows": len(ds), "cold_median_s": statistics.median(cold), "cold_min_s": min(cold),
            "warm_median_s": statistics.median(warm), "warm_min_s": min(warm), "target_s": TARGETS.get(name),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--datasets", default=",".join(NAMED))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not os.environ.get("MVD_DATA"):
        parser.error("set MVD_DATA to the folder holding adult/, mnist/, ... (e.g. ../shared/data)")
    register()
    rows = bench(args.datasets.split(","), args.repeats)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    print(f"{os.cpu_count()} CPUs ({cpu}), python {platform.python_version()}, {args.repeats} repeats")
    print(f"{'dataset':<10} {'rows':>7} {'cold median':>12} {'cold min':>9} {'warm median':>12} {'warm min':>9}  target")
    for r in rows:
        target = f"< {r['target_s']} s {'ok' if r['warm_median_s'] < r['target_s'] else 'MISSED'}" if r["target_s"] else ""
        print(f"{r['dataset']:<10} {r['rows']:>7} {r['cold_median_s']:>11.3f}s {r['cold_min_s']:>8.3f}s "
              f"{r['warm_median_s']:>11.3f}s {r['warm_min_s']:>8.3f}s  {target}")
    if args.json:
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "cpu": cpu, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
