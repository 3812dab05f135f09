"""The root config schema, registered in Hydra's ConfigStore.

``conf/config.yaml`` starts from ``base_config``.  The model, curve, business
and report groups are typed nodes: a misspelt key or a wrong type fails when
Hydra composes the config, before any work.  The parts a job builds
(dataset, quality, cleaning, logger) are ``_target_`` nodes whose keys are
the target's keyword arguments (:mod:`mvd.parts`): their YAML files list
every option, so a misspelt override fails at compose time too, and a key
the target does not take is refused before any work.  Every part node has a
``name`` (``dataset.name``, ``quality.name``, ...) that labels its points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

__all__ = ["Config", "register", "CONF_DIR"]

from mvd.bundle import CONF_DIR, store_studies  # noqa: E402  (the shipped conf/ and experiments/)


@dataclass
class ModelConfig:
    name: str = MISSING
    # position on the model ladder: 0 (dummy) and up
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
    # the space a tuned curve searches (tuning=optuna): {param: {low, high[, log]} or {choices: [...]}}
    search: Dict[str, Any] = field(default_factory=dict)
    # the most classes the rung is run on (its cost grows with them); more: the job is skipped in one sentence
    max_classes: Optional[int] = None
    # the most training rows x classes a point is fit on (a fully grown tree stores a row of class counts per
    # node); larger sizes of the curve are skipped in one sentence
    max_rows_classes: Optional[int] = None


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
class BusinessConfig:
    currency: str = "USD"
    # value of one correct decision
    value_correct: float = 1.0
    # cost of one wrong decision (any kind), or per kind for binary tasks
    cost_error: float = 1.0
    cost_false_positive: Optional[float] = None
    cost_false_negative: Optional[float] = None
    # full cost matrix [true][predicted], overrides the above when given
    # (rows typed loosely so [[0, 1], [5, 0]] composes; mvd.business.check_business checks it)
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
    # baseline model for data-equivalents; null picks the sophistication-1 model
    baseline: Optional[str] = None
    # target of the primary metric for the cheapest-route table; null picks one
    target: Optional[float] = None
    bootstrap: int = 1000
    # what the decision maximises: a stored metric or a weighted sum (mvd.report.objectives); null: the
    # primary metric the sweep ran with
    objective: Optional[str] = None


@dataclass
class VerdictConfig:
    # the operating point of the report's decision (mvd.report.decision); null: the documented default
    # labelled rows you have now (null: the largest measured size)
    n_now: Optional[float] = None
    # the data you have now, e.g. "clean" or "label_noise 0.4" (null: the noisiest uncleaned condition)
    data: Optional[str] = None
    # your current model (null: the model of sophistication 1)
    model: Optional[str] = None
    # a lever of your own: this many extra labels, besides doubling the data
    step: Optional[float] = None
    # backtest the decision by hiding the largest sizes (null: when a dataset has at least 4 sizes)
    backtest: Optional[bool] = None
    # money per training row for each automated cleaning method (absent: compute only)
    cleaning_cost_per_row: Dict[str, float] = field(default_factory=dict)


@dataclass
class EvaluationConfig:
    # none | label_noise: also score against noisy copies of the test labels (mvd.evaluation)
    name: str = "none"
    # test-label noise rates, each in (0, 1); empty: true labels only
    rates: List[float] = field(default_factory=list)
    # symmetric | pairwise
    mode: str = "symmetric"


@dataclass
class TuningConfig:
    # none | optuna: search model.search at every point, inside its training subset only (mvd.tuning)
    name: str = "none"
    # the budget, the same for every rung: trials (reproducible) and/or a wall-clock cap per point (s)
    trials: Optional[int] = 20
    timeout: Optional[float] = None
    # inner stratified folds; cut to the smallest class at small n unless shrink_folds is false
    folds: int = 3
    shrink_folds: bool = True
    # a model with nothing to tune (dummy): refuse | default (run its default curve)
    untunable: str = "refuse"
    # keep the model's own values unless the best trial beats them by more than this many standard
    # errors of its inner-CV score (1.0: the one-standard-error rule); null: the best trial wins
    keep_default_within: Optional[float] = None
    # subsets of at most this many rows are cross-validated with 20 inner folds (fits near the subset's
    # size, 20/folds times the cost); null: tuning.folds at every size
    small_n: Optional[int] = None


@dataclass
class Config:
    # _target_ nodes (mvd.parts): conf/dataset, conf/quality, conf/cleaning, conf/logger
    dataset: Any = MISSING
    model: ModelConfig = MISSING
    quality: Any = MISSING
    cleaning: Any = MISSING
    curve: CurveConfig = field(default_factory=CurveConfig)
    logger: Any = MISSING
    business: BusinessConfig = field(default_factory=BusinessConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)
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
    from mvd.fingerprint import register_resolver  # ${mvd.fingerprint:...}: a user file's content (file.yaml)

    ConfigStore.instance().store(name="base_config", node=Config)
    store_studies()
    register_resolver()
