"""Synthetic studies with known curves: the test fixtures and the benchmark's input.

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
from mvd.store import COLUMNS, points_dir

__all__ = ["write_study"]


def write_study(path, *, models: dict, sizes=(16, 32, 64, 128, 256, 512), seeds=(0, 1, 2), noise: float = 0.0,
                datasets=("synth",), rates=(0.0,), noise_effect: float = 0.3, business: dict | None = None,
                report: dict | None = None, task: str = "classification", cleanings=("none",),
                seed: int = 0) -> Path:
    """Write a study of ``models = {name: (sophistication, a, b, c)}``; returns the study directory.

    ``rates`` > 0 add label-noise curves; a cleaning other than "none" halves the noise's effect;
    ``task="regression"`` stores the error as rmse/mae.
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    sizes = np.asarray(sizes, dtype=int)
    folder = points_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    (path / "configs").mkdir(parents=True, exist_ok=True)
    primary = "accuracy" if task == "classification" else "rmse"
    for dataset in datasets:
        for model, (level, a, b, c) in sorted(models.items()):
            for rate, cleaning in ((r, k) for r in rates for k in cleanings):
                quality = "clean" if rate == 0 else "label_noise"
                run_id = f"{dataset}-{model}-{quality}{rate:g}-{cleaning}"
                effect = noise_effect * rate * (1.0 if cleaning == "none" else 0.5)
                n = np.repeat(sizes, len(seeds))
                s = np.tile(np.asarray(seeds, dtype=int), len(sizes))
                err = a * n.astype(float) ** -b + c + effect + rng.normal(0, noise, len(n))
                frame = pd.DataFrame({c_: np.nan for c_ in COLUMNS}, index=range(len(n)))
                frame = frame.assign(
                    study=path.name, run_id=run_id, dataset=dataset, task=task, modality="tabular", model=model,
                    sophistication=int(level), quality=quality, quality_rate=float(rate), cleaning=cleaning,
                    train_size=n, n_fit=n, seed=s, primary_metric=primary, train_score=np.nan,
                    fit_seconds=1e-5 * n * (1 + level), predict_seconds=1e-4, n_params=0, device="cpu",
                    status="ok", error="", config_hash=run_id, mvd_version="test", created_at="")
                if task == "classification":
                    err = np.clip(err, 0.0, 1.0)
                    frame["test_accuracy"] = 1.0 - err
                else:
                    err = np.clip(err, 0.0, None)
                    frame["test_rmse"], frame["test_mae"] = err, 0.8 * err
                frame[COLUMNS].to_parquet(folder / f"{run_id}.parquet", index=False)
                config = {"study": path.name, "question": "Synthetic curves with known answers.",
                          "business": {**vars(BusinessConfig()), **(business or {})},
                          "report": {**vars(ReportConfig()), **(report or {})}}
                (path / "configs" / f"{run_id}.yaml").write_text(OmegaConf.to_yaml(config))
    return path
