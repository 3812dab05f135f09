"""Synthetic studies with known curves: the test fixtures and the benchmarks' input (benchmarks put the
repository root on ``sys.path`` and import ``tests.synthetic_study``).

Each model's error follows err(n) = a·n^(-b) + c (+ ``noise_effect`` x rate on
corrupted data) plus Gaussian seed noise, written through the real store
layout (one parquet file per curve, one saved config per curve) so that
``build`` reads it exactly like a real study.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from mvd.config import BusinessConfig, ReportConfig
from mvd.levers import TUNED_SUFFIX
from mvd.store import COLUMNS, points_dir

__all__ = ["write_study", "family_curves", "true_curve", "SIZES"]


def write_study(path, *, models: dict, sizes=(16, 32, 64, 128, 256, 512), seeds=(0, 1, 2), noise: float = 0.0,
                datasets=("synth",), rates=(0.0,), noise_effect: float = 0.3, business: dict | None = None,
                report: dict | None = None, task: str = "classification", cleanings=("none",),
                seed: int = 0, verdict: dict | None = None, kind: str = "label_noise") -> Path:
    """Write a study of ``models = {name: (sophistication, a, b, c)}``; returns the study directory.

    ``rates`` > 0 add curves of quality ``kind`` (label noise unless named); a cleaning other than "none" halves the noise's effect
    (a fifth entry of a model's tuple is its own noise effect); ``task="regression"`` stores the
    error as rmse/mae.  A model named "... (tuned)" is written with ``tuned=True`` and one second
    of ``tune_seconds`` per point.
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    sizes = np.asarray(sizes, dtype=int)
    folder = points_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    (path / "configs").mkdir(parents=True, exist_ok=True)
    primary = "accuracy" if task == "classification" else "rmse"
    for dataset in datasets:
        for model, spec in sorted(models.items()):
            level, a, b, c = spec[:4]
            own_effect = spec[4] if len(spec) > 4 else noise_effect
            tuned = model.endswith(TUNED_SUFFIX)
            for rate, cleaning in ((r, k) for r in rates for k in cleanings):
                quality = "clean" if rate == 0 else kind
                run_id = f"{dataset}-{model.replace(TUNED_SUFFIX, '-tuned')}-{quality}{rate:g}-{cleaning}"
                effect = own_effect * rate * (1.0 if cleaning == "none" else 0.5)
                n = np.repeat(sizes, len(seeds))
                s = np.tile(np.asarray(seeds, dtype=int), len(sizes))
                err = a * n.astype(float) ** -b + c + effect + rng.normal(0, noise, len(n))
                frame = pd.DataFrame({c_: np.nan for c_ in COLUMNS}, index=range(len(n)))
                frame = frame.assign(
                    study=path.name, run_id=run_id, dataset=dataset, task=task, modality="tabular", model=model,
                    sophistication=int(level), quality=quality, quality_rate=float(rate), cleaning=cleaning,
                    train_size=n, n_fit=n, seed=s, primary_metric=primary, train_score=np.nan,
                    fit_seconds=1e-5 * n * (1 + level), predict_seconds=1e-4, n_params=0, device="cpu",
                    status="ok", error="", config_hash=run_id, mvd_version="test", created_at="",
                    tuned=tuned, tune_seconds=1.0 if tuned else 0.0)
                if task == "classification":
                    err = np.clip(err, 0.0, 1.0)
                    frame["test_accuracy"] = 1.0 - err
                else:
                    err = np.clip(err, 0.0, None)
                    frame["test_rmse"], frame["test_mae"] = err, 0.8 * err
                frame[COLUMNS + ["tuned", "tune_seconds"]].to_parquet(folder / f"{run_id}.parquet", index=False)
                config = {"study": path.name, "question": "Synthetic curves with known answers.",
                          "business": {**vars(BusinessConfig()), **(business or {})},
                          "report": {**vars(ReportConfig()), **(report or {})}, "verdict": dict(verdict or {})}
                (path / "configs" / f"{run_id}.yaml").write_text(OmegaConf.to_yaml(config))
    return path


# the anchors of the synthetic family curves: LCDB's 16·2^(k/2), up to 2,048
SIZES = np.round(16 * 2 ** (np.arange(15) / 2))
# which families can imitate which (a simpler family that fits is the right answer)
_NESTS = {"last": {"loglinear", "pow3", "pow4", "mmf4"}, "loglinear": {"pow3", "pow4", "mmf4"},
          "pow3": {"pow4", "mmf4"}, "pow4": {"mmf4"}, "mmf4": set()}


def true_curve(family: str, n, rng) -> np.ndarray:
    """A noise-free error curve of ``family`` with parameters drawn from ranges seen on real tasks."""
    n = np.asarray(n, dtype=float)
    n0, n1 = n.min(), n.max()
    if family == "pow3":
        return rng.uniform(0.02, 0.15) + rng.uniform(0.8, 3.0) * n ** -rng.uniform(0.3, 0.8)
    if family == "pow4":
        return rng.uniform(0.02, 0.12) + rng.uniform(2.0, 6.0) * (n + rng.uniform(3, 8) * n0) ** -rng.uniform(0.5, 1.0)
    if family == "mmf4":
        top, floor = rng.uniform(0.5, 0.8), rng.uniform(0.02, 0.1)
        scale = np.exp(rng.uniform(np.log(4 * n0), np.log(n1 / 16)))
        return floor + (top - floor) / (1 + (n / scale) ** rng.uniform(1.0, 2.0))
    if family == "loglinear":
        e0, e1 = rng.uniform(0.4, 0.6), rng.uniform(0.05, 0.15)
        return e0 + (e1 - e0) * (np.log(n) - np.log(n0)) / (np.log(n1) - np.log(n0))
    if family == "last":
        return np.full(len(n), rng.uniform(0.1, 0.4))
    raise ValueError(f"family={family!r}; allowed: last, loglinear, pow3, pow4, mmf4")


def family_curves(count: int, *, seeds: int = 5, noise: float = 0.01, margin: float = 4.0, seed: int = 0,
                  sizes=SIZES) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``count`` synthetic curves (family, sizes, error per size x seed), cycling through the families.

    Only curves whose family a backtest can identify are kept: every family
    that does not nest it, fitted to the noise-free anchors up to n_max/4 and
    n_max/2, misses the held-out anchors by more than ``margin`` standard
    errors of a mean (mean absolute error over both cuts).  Each seed adds
    Gaussian noise of standard deviation ``noise``.
    """
    from mvd.report import families

    rng = np.random.default_rng(seed)
    n = np.asarray(sizes, dtype=float)
    se = noise / np.sqrt(seeds)
    out = []
    names = families.FAMILIES
    pools = {f: [] for f in names}
    while len(out) < count:
        family = names[len(out) % len(names)]
        if not pools[family]:
            mus = np.array([true_curve(family, n, rng) for _ in range(64)])
            keep = np.ones(len(mus), dtype=bool)
            for other in (f for f in names if f != family and f not in _NESTS[family]):
                miss = 0.0
                for frac in (0.25, 0.5):
                    inside = n <= n.max() * frac
                    pred = families.fit(other, n, np.where(inside[None], mus, np.nan), 1.0).at(n[~inside])
                    miss = miss + np.mean(np.abs(pred - mus[:, ~inside]), axis=1) / 2
                keep &= miss > margin * se
            pools[family] = list(mus[keep])
            continue
        mu = pools[family].pop()
        out.append((family, n, mu[:, None] + rng.normal(0.0, noise, (len(n), seeds))))
    return out


def backtest_curves(curves, *, bootstrap: int = 200, seed: int = 0) -> dict:
    """Feed curves (family or None, sizes, error per size x seed) through the report's fit-and-backtest path.

    Returns how often the backtest picked the true family (where it is known), per family, and the
    empirical coverage of the 80% and 95% extrapolation intervals on the anchors above n_max/2.
    """
    from mvd.report import families
    from mvd.report.aggregate import SeedResamples, standard_error
    from mvd.report.fits import sigma_floor

    picks: dict = {}
    held, covered = 0, {0.8: 0, 0.95: 0}
    cache: dict = {}
    for family, n, wide in curves:
        k = wide.shape[1]
        rs = cache.setdefault(k, SeedResamples(range(k), n=bootstrap, seed=seed))
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(wide, axis=1)
            se = standard_error(wide)
        w = 1.0 / sigma_floor(se, mean) ** 2
        if family is not None:
            chosen, _ = families.choose(families.backtest_scores(n, mean, w), families.noise_of(wide))
            picks.setdefault(family, []).append(chosen == family)
        got = families.coverage(n, wide, np.arange(k), w, rs)
        if got is not None:
            held += got["held_out"]
            for level in covered:
                covered[level] += got["covered"][level]
    every = [hit for hits in picks.values() for hit in hits]
    return {"curves": len(curves), "pick_rate": float(np.mean(every)) if every else None,
            "per_family": {f: float(np.mean(h)) for f, h in sorted(picks.items())},
            "held_out": held, "coverage": {lv: (c / held if held else None) for lv, c in covered.items()}}
