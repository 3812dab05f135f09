"""Add the ``fixed_test_set`` column to points stored before it existed (run once per study).

    MVD_DATA=../shared/data .venv/bin/python scripts/backfill_fixed_test_set.py results/atlas [results/...]

A point records whether its dataset has one official test set for every seed (adult, optdigits) or a test
split drawn per seed; the report's intervals say from it whether they cover the test sample.  For each
curve this loads the dataset of its saved config (through the prepared-data cache), reads
``test_index is not None`` and rewrites the points file atomically with the column; every other value
stays as it was.  Curves that already carry the column, and curves whose data files are missing, are left
alone and listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from omegaconf import OmegaConf

from mvd import data
from mvd.files import write_atomic


def backfill(study: Path) -> tuple[int, list[str]]:
    done, left = 0, []
    fixed_of: dict = {}
    for path in sorted((study / "points").glob("*.parquet")):
        table = pq.read_table(path)
        if "fixed_test_set" in table.column_names:
            continue
        config = study / "configs" / f"{path.stem}.yaml"
        node = OmegaConf.to_container(OmegaConf.load(config).dataset, resolve=True)
        key = repr(sorted(node.items()))
        if key not in fixed_of:
            try:
                fixed_of[key] = data.load(node).test_index is not None
            except Exception as exc:  # missing files: leave the curve as it is, and say so
                left.append(f"{path.name}: {type(exc).__name__}: {exc}")
                continue
        column = pa.array([fixed_of[key]] * table.num_rows, type=pa.bool_())
        table = table.append_column("fixed_test_set", column)
        write_atomic(path, lambda handle, t=table: pq.write_table(t, handle))
        done += 1
    return done, left


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        n, left = backfill(Path(arg))
        print(f"{arg}: {n} curve file(s) given fixed_test_set; {len(left)} left alone")
        for line in left:
            print("  " + line)
