"""Check that a committed study can be regenerated: refit a random sample of its points from
their stored configs and rebuild its summary.json from its points.

A refitted point must equal the stored one in every column that measures the model
(scores, sizes, counts, parameters); only the columns that measure the machine
(``mvd.store.VOLATILE``: times, timestamps) may differ.  The summary is rebuilt in a
temporary copy of the study and must match the committed file.

Equal means bit for bit on a machine whose math kernels match the committing
one's.  OpenBLAS and numpy pick their kernels by CPU (AVX2 or AVX-512), and those
differ in the last bits of a float; so a number may also differ by ``POINT_RTOL``
(points) or, in the summary, whose numbers are rounded to 6 significant digits,
by ``SUMMARY_RTOL``.  Text, counts and any choice made
from the numbers (a flipped prediction, another lever) must match exactly.

    python -m mvd.reproduce results/quickstart --n 50      # make reproduce STUDY=quickstart N=50
    python -m mvd.reproduce --all                          # make reproduce: every committed study

``--all`` covers the committed studies only: the folders of ``results/`` whose
``summary.json`` (or ``IN_PROGRESS``) git tracks, never a folder a run left
there.  A study whose data files are not on this machine (the named datasets
read ``dataset.root``, else ``$MVD_DATA``, else a cache folder; ``make
reproduce`` points ``MVD_DATA`` at ``../shared/data`` when the checkout has
one beside it) is skipped and named, with the files it needs and where they
come from; every other study is still reproduced.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["IN_PROGRESS", "Mismatch", "in_progress", "refit_sample", "rebuild_summary", "committed_studies",
           "missing_data", "main"]

# the file a study still running carries, saying how far it is and how to resume it
IN_PROGRESS = "IN_PROGRESS"

# how far a float may move between CPUs whose math kernels differ: the last bits of a float64,
# and for the torch rungs, which train in float32, about 1e-7 (a summary's numbers are rounded
# to 6 significant digits, where such a difference can flip the last)
POINT_RTOL = 1e-6
SUMMARY_RTOL = 1e-4
# a torch net trained for hundreds of epochs (a point with ``epochs``) carries such a difference through
# every step: its probabilities (log loss, ROC AUC) moved by 2e-5 between two x86 machines (MNIST's mlp at
# 16 rows, 300 epochs), its predictions not at all; counts and choices must still match exactly
TRAINED_RTOL = 1e-4
# a model holding torch tensors pickles each storage under its memory address, whose digits vary from run to run:
# the same fitted RealMLP measured 663,324 and 663,326 bytes; a size is a cost, so it is compared to 0.1%
MODEL_BYTES_RTOL = 1e-3

# columns that say when and with which code a point was made, not what it measured; the config
# hash covers the curve's sizes and seeds, which a refit narrows: it is checked against the stored config
_PROVENANCE = ("created_at", "mvd_version", "config_hash")


@dataclass(frozen=True)
class Mismatch:
    """One difference between a committed point (or file) and its regeneration."""

    where: str
    column: str
    committed: object
    regenerated: object

    def __str__(self) -> str:
        return f"{self.where}: {self.column} committed {self.committed!r}, regenerated {self.regenerated!r}"


def _missing(value) -> bool:
    """None or NaN: a value the point did not record."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _written(study_dir: Path, run_id: str) -> set[str] | None:
    """The columns a curve's own points file holds (None: no such file). A column that only the study's
    other curves wrote, or that mvd added after this curve was stored, is not this curve's to compare."""
    import pyarrow.parquet as pq

    from mvd import store

    path = store.points_dir(study_dir) / f"{run_id}.parquet"
    return set(pq.read_schema(path).names) if path.is_file() else None


def tolerance(point, column: str | None = None) -> float:
    """How far a refitted point's floats (of ``column``) may move: ``TRAINED_RTOL`` for a net trained over
    epochs, ``MODEL_BYTES_RTOL`` for the pickled model's size."""
    epochs = point.get("epochs") if hasattr(point, "get") else None
    rtol = TRAINED_RTOL if not _missing(epochs) and epochs is not None else POINT_RTOL
    return max(rtol, MODEL_BYTES_RTOL) if column == "model_bytes" else rtol


def _same(a, b, rtol: float = POINT_RTOL) -> bool:
    """Equal values: numbers within ``rtol`` (see the module's note), text exactly, except that
    numbers inside JSON text or inside a sentence get the same tolerance."""
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        fa, fb = float(a), float(b)
        return (math.isnan(fa) and math.isnan(fb)) or math.isclose(fa, fb, rel_tol=rtol, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rtol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
        try:
            return _same(json.loads(a), json.loads(b), rtol)
        except (ValueError, TypeError):
            pass
        words_a, words_b = _NUMBER.split(a), _NUMBER.split(b)
        numbers_a, numbers_b = _NUMBER.findall(a), _NUMBER.findall(b)
        return words_a == words_b and len(numbers_a) == len(numbers_b) and all(
            math.isclose(float(x), float(y), rel_tol=rtol, abs_tol=1e-12) for x, y in zip(numbers_a, numbers_b))
    return a == b


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _config(study_dir: Path, run_id: str, results_dir: Path):
    """The curve's stored config, checked against today's schema, writing under ``results_dir``."""
    from omegaconf import OmegaConf, open_dict

    from mvd.config import Config
    from mvd.errors import ConfigError

    path = study_dir / "configs" / f"{run_id}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: the points of curve {run_id} cannot be refitted without their config.")
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(path))
    except Exception as exc:
        raise ConfigError(f"{path} does not fit this mvd's config schema ({exc}); regenerate the study.") from exc
    with open_dict(cfg):
        cfg.results_dir = str(results_dir)
        cfg.progress = False
        cfg.logger = OmegaConf.merge(cfg.logger, {"name": "none"})
    return cfg


def refit_sample(study_dir, *, n: int, seed: int = 0) -> tuple[int, list[Mismatch]]:
    """Refit ``n`` randomly chosen ok points of a study; (points refitted, mismatches)."""
    from mvd import curve, store

    study_dir = Path(study_dir)
    points = store.load(study_dir)
    ok = points[points["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        return 0, []
    rng = np.random.default_rng(seed)
    chosen = ok.iloc[np.sort(rng.choice(len(ok), size=min(n, len(ok)), replace=False))]
    compared = [c for c in ok.columns if c not in store.VOLATILE and c not in _PROVENANCE]
    mismatches: list[Mismatch] = []
    with tempfile.TemporaryDirectory(prefix="mvd-reproduce-") as tmp:
        for (run_id, point_seed), rows in chosen.groupby(["run_id", "seed"], sort=True):
            cfg = _config(study_dir, run_id, Path(tmp) / "results")
            stored_hash = curve.config_hash(cfg)
            for committed_hash in sorted(set(rows["config_hash"])):
                if committed_hash != stored_hash:
                    mismatches.append(Mismatch(f"{run_id} seed={int(point_seed)}", "config_hash (of the stored config)",
                                               committed_hash, stored_hash))
            cfg.curve.seeds = [int(point_seed)]
            cfg.curve.sizes = sorted(int(s) for s in rows["train_size"])
            cfg.curve.fractions = None
            fresh = curve.run_curve(cfg)
            fresh = fresh.set_index(["seed", "train_size"])
            written = _written(study_dir, run_id)
            columns = [c for c in compared if written is None or c in written]
            for _, row in rows.iterrows():
                where = f"{run_id} seed={int(point_seed)} train_size={int(row['train_size'])}"
                key = (int(point_seed), int(row["train_size"]))
                if key not in fresh.index:
                    mismatches.append(Mismatch(where, "status", "ok", "missing"))
                    continue
                again = fresh.loc[key]
                for column in columns:
                    if column in ("seed", "train_size"):
                        continue
                    new = again[column] if column in again.index else None
                    if not _same(row[column], new, tolerance(row, column)):
                        mismatches.append(Mismatch(where, column, row[column], new))
    return len(chosen), mismatches


def in_progress(study_dir) -> str | None:
    """What a study still running says about itself (its ``IN_PROGRESS`` file), or None when complete.

    A long study is committed as it goes, over several sittings: its points
    refit like any others, and it has no summary.json until it is complete.
    """
    marker = Path(study_dir) / IN_PROGRESS
    return " ".join(marker.read_text().split()) or "in progress" if marker.is_file() else None


def rebuild_summary(study_dir) -> list[Mismatch]:
    """Rebuild the report of a copy of the study; a summary.json that differs is a mismatch."""
    from mvd.report import build

    study_dir = Path(study_dir)
    committed = study_dir / "summary.json"
    if not committed.is_file() and in_progress(study_dir):
        return []
    if not committed.is_file():
        return [Mismatch(str(committed), "file", "present", "missing")]
    with tempfile.TemporaryDirectory(prefix="mvd-reproduce-") as tmp:
        copy = Path(tmp) / study_dir.name
        copy.mkdir()
        for part in ("points", "configs"):
            if (study_dir / part).is_dir():
                shutil.copytree(study_dir / part, copy / part)
        build(copy)
        old, new = committed.read_bytes(), (copy / "summary.json").read_bytes()
        if old == new or _same(json.loads(old), json.loads(new), SUMMARY_RTOL):
            return []
        old_lines, new_lines = old.decode().splitlines(), new.decode().splitlines()
        differ = [i for i, (a, b) in enumerate(zip(old_lines, new_lines))
                  if not _same(a.strip().rstrip(","), b.strip().rstrip(","), SUMMARY_RTOL)]
        first = differ[0] if differ else min(len(old_lines), len(new_lines))
        pick = lambda lines: lines[first].strip() if first < len(lines) else "<end of file>"  # noqa: E731
        return [Mismatch(f"{committed} line {first + 1}", "summary.json", pick(old_lines), pick(new_lines))]


def committed_studies(results_dir="results") -> list[Path]:
    """The committed studies under ``results_dir``: folders whose summary.json or IN_PROGRESS git tracks
    (outside a git checkout: the folders that have one)."""
    results_dir = Path(results_dir)
    markers = [f"{results_dir.as_posix()}/*/{name}" for name in ("summary.json", IN_PROGRESS)]
    try:
        listed = subprocess.run(["git", "ls-files", "--", *markers], capture_output=True, text=True, check=True,
                                timeout=60).stdout.split()
    except (OSError, subprocess.SubprocessError):
        listed = [str(p) for name in ("summary.json", IN_PROGRESS) for p in results_dir.glob(f"*/{name}")]
    return sorted({Path(p).parent for p in listed})


def _dataset_sections(study_dir: Path) -> list[dict]:
    """The distinct ``dataset`` sections of a study's saved configs."""
    import yaml

    texts = set()
    for path in sorted((study_dir / "configs").glob("*.yaml")):
        keep, lines = False, []
        for line in path.read_text().splitlines():
            if line and not line[0].isspace():
                keep = line.split(":", 1)[0] == "dataset"
            if keep:
                lines.append(line)
        texts.add("\n".join(lines))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [(yaml.load(text, Loader=loader) or {}).get("dataset") or {} for text in sorted(texts)]


def missing_data(study_dir) -> list[str]:
    """One phrase per data file a study's curves read that is not on this machine, with where it comes
    from; empty when every file is there (bundled and synthetic datasets need none)."""
    from mvd.data import SOURCES
    from mvd.sources import idx, uci
    from mvd.sources.download import data_root

    out = []
    for node in _dataset_sections(Path(study_dir)):
        target = node.get("_target_")
        name = str(node.get("name"))
        if target == SOURCES["uci"] and name in uci.DATASETS:
            spec, files = uci.DATASETS[name], uci.DATASETS[name].files
        elif target == SOURCES["mnist"]:
            spec, files = idx.MNIST, idx.TEST  # the test pair at least (the loader's rule)
        elif target == SOURCES["file"]:
            for key in ("path", "test_path"):
                if node.get(key) and not Path(str(node[key])).expanduser().is_file():
                    out.append(f"{name}: {node[key]} (dataset.{key}, the user's own file)")
            continue
        else:
            continue
        folder = data_root(node.get("root")) / spec.folder
        absent = [f for f in files if not (folder / f.name).is_file()]
        if absent:
            out.append(f"{name}: {', '.join(f.name for f in absent)} in {folder} (published at {absent[0].urls[0]})")
    return sorted(set(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mvd.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("study_dir", nargs="*", help="committed study folders, e.g. results/quickstart")
    parser.add_argument("--all", action="store_true",
                        help="every committed study: the folders of results/ whose summary.json git tracks")
    parser.add_argument("--n", type=int, default=50, help="points to refit per study (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="which points are drawn (default 0)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error(f"--n={args.n} must be a count >= 0")
    studies = [*args.study_dir, *(committed_studies() if args.all else [])]
    if not studies:
        parser.error("name a study folder (e.g. results/quickstart) or give --all for every committed study")
    from mvd.errors import ConfigError

    failed = errors = False
    skipped = []
    for study in studies:
        absent = missing_data(study)
        if absent:
            print(f"{study}: skipped: its data files are not on this machine: {'; '.join(absent)}")
            skipped.append(str(study))
            continue
        try:
            refitted, mismatches = refit_sample(study, n=args.n, seed=args.seed)
            mismatches += rebuild_summary(study)
        except ConfigError as exc:
            print(f"mvd-reproduce: error: {study}: {exc}", file=sys.stderr)
            errors = True
            continue
        for m in mismatches:
            print(f"mismatch: {m}", file=sys.stderr)
        verdict = "FAILED" if mismatches else "ok"
        running = in_progress(study)
        rebuilt = f"no summary.json yet ({running})" if running and not (Path(study) / "summary.json").is_file() \
            else "summary.json rebuilt"
        print(f"{study}: {refitted} point(s) refitted, {rebuilt}: {verdict}"
              f"{f' ({len(mismatches)} mismatch(es) listed above)' if mismatches else ''}")
        failed |= bool(mismatches)
    if skipped:
        studies = f"{len(skipped)} stud{'y' if len(skipped) == 1 else 'ies'}"
        print(f"skipped {studies} ({', '.join(skipped)}): set MVD_DATA to "
              "a folder holding their dataset folders (../shared/data beside a checkout, each folder's SOURCE.txt "
              "says where its files come from), or fetch them once with mvd dataset=NAME dataset.download=true.")
    return 2 if errors else 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
