"""Typed schemas for every config group, registered in Hydra's ConfigStore.

``conf/config.yaml`` starts from ``base_config``, so every group's YAML is
merged into a typed node: a misspelt key or a wrong type fails when Hydra
composes the config, before any work.  Estimator nodes are left
open (``Any``) so a model file can pass any hyperparameter to its ``_target_``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

__all__ = ["Config", "register", "CONF_DIR"]

from mvd.bundle import CONF_DIR, store_studies  # noqa: E402  (the shipped conf/ and experiments/)


@dataclass
class DatasetConfig:
    name: str = MISSING
    # sklearn | synthetic | uci | mnist | hf | openml | file (mvd.sources)
    source: str = "sklearn"
    # classification | regression
    task: str = "classification"
    # tabular | image | text
    modality: str = "tabular"
    # (channels, height, width) when rows are images (digits: [1, 8, 8])
    image_shape: Optional[List[int]] = None
    # knobs for the `synthetic` source (make_classification) or a source's options
    params: Dict[str, Any] = field(default_factory=dict)
    # file-based sources: where the files live and whether to fetch them
    root: Optional[str] = None
    download: bool = False
    path: Optional[str] = None
    test_path: Optional[str] = None
    # table sources: the target column and optional typing of the others
    target: Optional[str] = None
    columns: Dict[str, Any] = field(default_factory=dict)
    categorical: Optional[List[str]] = None
    numeric: Optional[List[str]] = None
    # hf / openml: split names and identifiers
    train_split: Optional[str] = None
    test_split: Optional[str] = None
    openml_id: Optional[int] = None
    # use the dataset's official test split when it has one
    official_split: bool = True
    cache: bool = True


@dataclass
class ModelConfig:
    name: str = MISSING
    # rank on the model ladder (DESIGN.md section 4)
    sophistication: int = MISSING
    # tabular | image | text; images also qualify for a dataset with image_shape
    modalities: List[str] = field(default_factory=lambda: ["tabular", "image"])
    # standard scaling, fitted on the training subset only
    scale: bool = False
    # categorical columns: onehot | ordinal | native (gradient boosting)
    categorical: str = "onehot"
    # text columns: tfidf | raw (the estimator tokenises itself)
    text: str = "tfidf"
    # the estimator per task: a `_target_` node, or null when unsupported
    classification: Optional[Any] = None
    regression: Optional[Any] = None
    # per modality, estimator nodes that replace the task's node
    # (naive Bayes: Gaussian on numbers, multinomial on TF-IDF counts of text)
    per_modality: Dict[str, Any] = field(default_factory=dict)
    # optional inner-CV search on the training subset only
    tune: Optional[Any] = None


@dataclass
class QualityConfig:
    # clean | label_noise | feature_noise | missing | imbalance | duplicates
    name: str = "clean"
    rate: float = 0.0
    # label_noise: symmetric | pairwise
    mode: str = "symmetric"


@dataclass
class CleaningConfig:
    # none | oracle | confident_learning | dedup
    name: str = "none"
    # folds of the out-of-fold probabilities for confident learning
    folds: int = 5
    params: Dict[str, Any] = field(default_factory=dict)


@dataclass
class CurveConfig:
    # explicit training sizes (counts); null means geometric anchors
    sizes: Optional[List[int]] = None
    # or fractions of the pool in (0, 1]
    fractions: Optional[List[float]] = None
    # geometric anchors: start * growth^k up to the pool, plus the pool itself
    start: int = 16
    growth: float = 1.4142135623730951
    max_size: Optional[int] = None
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    test_fraction: float = 0.25
    # null picks accuracy (classification) or rmse (regression)
    primary: Optional[str] = None


@dataclass
class LoggerConfig:
    # none | wandb
    name: str = "none"
    project: str = "mvd"
    entity: Optional[str] = None
    # online | offline | disabled; online needs credentials, else offline
    mode: str = "offline"
    tags: List[str] = field(default_factory=list)
    init_timeout: float = 10.0
    # seconds run.finish() may spend uploading before the run is marked crashed
    finish_timeout: float = 120.0
    dir: Optional[str] = None


@dataclass
class BusinessConfig:
    currency: str = "USD"
    # value of one correct decision
    value_correct: float = 1.0
    # cost of one wrong decision (any kind), or per kind for binary tasks
    cost_error: float = 1.0
    cost_false_positive: Optional[float] = None
    cost_false_negative: Optional[float] = None
    # full cost matrix [true][predicted], overrides the above when given
    # (rows typed loosely so [[0, 1], [5, 0]] composes; mvd.report.study.check_business checks it)
    cost_matrix: Optional[List[Any]] = None
    cost_per_label: float = 0.1
    cost_per_clean_label: Optional[float] = None
    cost_per_compute_hour: float = 1.0
    # regression: cost of one unit of absolute error
    cost_per_unit_error: float = 1.0


@dataclass
class ReportConfig:
    # build the report at the end of a multirun
    build: bool = True
    # baseline model for data-equivalents; null picks the rank-1 model
    baseline: Optional[str] = None
    # target of the primary metric for the cheapest-route table; null picks one
    target: Optional[float] = None
    bootstrap: int = 1000


@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    quality: QualityConfig = field(default_factory=QualityConfig)
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    curve: CurveConfig = field(default_factory=CurveConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    business: BusinessConfig = field(default_factory=BusinessConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    study: str = "default"
    # what the study answers, shown in its report
    question: str = ""
    results_dir: str = "results"
    # BLAS/OpenMP threads per job (threadpoolctl)
    threads: int = 1
    # show progress bars and tables
    progress: bool = True


def register() -> None:
    """Store the root schema (every group's YAML is validated against its field type) and the studies."""
    ConfigStore.instance().store(name="base_config", node=Config)
    store_studies()
