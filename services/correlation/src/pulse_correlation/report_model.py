"""The records of a linkage report, pure: the request, the unit table the statistics run on,
and every result as the report carries it (numbers that are not defined already mapped by
``values.as_sent``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulse_stats

from pulse_correlation.access import Viewer
from pulse_correlation.values import as_sent

Method = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[Method, ...] = ("pearson", "spearman", "kendall")


@dataclass(frozen=True)
class Options:
    bootstrap_resamples: int
    permutation_resamples: int
    confidence_level: float
    method: Method
    random_seed: int


@dataclass(frozen=True)
class ReportRequest:
    viewer: Viewer
    scope_unit_id: str  # "" = the viewer's own scope
    period_from: str  # "" = open
    period_to: str
    predictors: tuple[str, ...]  # () = every treatment construct with data in scope
    outcome: str
    max_lag: int
    covariates: tuple[str, ...]
    options: Options


# ---------------------------------------------------------------- the unit table


@dataclass(frozen=True)
class PanelRow:
    unit_id: str
    period: str
    period_index: int
    x: dict[str, float]  # predictor construct -> mean (cells with n >= k only)
    y: float


@dataclass(frozen=True)
class RwgInput:
    """Per released unit (rows) and item (columns): answers, sum and sum of squares."""

    n: list[list[int]]
    sums: list[list[float]]
    sumsq: list[list[float]]
    n_options: int


@dataclass(frozen=True)
class UnitTable:
    """Released analysis units and everything the report needs about them, aligned by index."""

    units: list[str]
    names: dict[str, str]
    outcome: str
    predictors: list[str]
    x: dict[str, list[float]]  # employee construct -> value per unit (0-100)
    n_x: dict[str, list[int]]
    y: list[float]
    n_y: list[int]
    items: dict[str, tuple[str, list[float]]]  # treatment item -> (construct, value per unit)
    covariates: dict[str, list[float]]
    panel: list[PanelRow]
    icc_inputs: dict[str, tuple[list[int], list[float], list[float]]]
    rwg_inputs: dict[str, RwgInput]
    nps_counts: tuple[int, int, int] | None
    top2: tuple[int, int] | None
    outcome_totals: tuple[int, float, float] | None  # n, sum, sum of squares (0-100 scale)
    max_lag: int = 0
    suppressions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be done, in order

    @property
    def units_suppressed(self) -> int:
        return len({u for u, _ in self.suppressions})


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimate:
    method: str
    r: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int

    @classmethod
    def of(cls, result: pulse_stats.CorrelationResult) -> Estimate:
        return cls(
            method=result.method,
            r=as_sent(result.r),
            p_value=as_sent(result.p_value),
            ci_low=as_sent(result.ci_low),
            ci_high=as_sent(result.ci_high),
            n=result.n,
        )


# What a missing estimate reads as (the proto's default message).
NO_ESTIMATE = Estimate("", 0.0, 0.0, 0.0, 0.0, 0)


@dataclass(frozen=True)
class LagEstimate:
    lag: int
    estimate: Estimate


@dataclass(frozen=True)
class CrossLaggedCoefficient:
    path: str  # "predictor->outcome" or "outcome->predictor"
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


@dataclass(frozen=True)
class PartialEstimate:
    covariates: list[str]
    estimate: Estimate


@dataclass(frozen=True)
class UnitPoint:
    unit_id: str
    unit_name: str
    predictor: float
    outcome: float
    n_employees: int
    n_customers: int


@dataclass
class PredictorLinkage:
    predictor: str
    points: list[UnitPoint] = field(default_factory=list)
    pearson: Estimate | None = None
    spearman: Estimate | None = None
    bootstrap: Estimate | None = None
    permutation: Estimate | None = None
    disattenuated_r: float = 0.0
    repeated_measures: Estimate | None = None
    lags: list[LagEstimate] = field(default_factory=list)
    cross_lagged: list[CrossLaggedCoefficient] = field(default_factory=list)
    partials: list[PartialEstimate] = field(default_factory=list)
    units_needed: int = 0


@dataclass(frozen=True)
class Driver:
    name: str
    level: str  # "construct" or "item"
    estimate: Estimate
    q_value: float  # as sent
    raw_q_value: float  # as computed (the verdict needs to tell "not computed" apart)


@dataclass
class Diagnostic:
    construct: str
    icc1: float = 0.0
    icc2: float = 0.0
    rwg_j_mean: float = 0.0
    rwg_j_median: float = 0.0
    n_groups: int = 0
    mean_group_size: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerMetric:
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    std_error: float


@dataclass(frozen=True)
class Verdict:
    level: str  # not_enough_data | supported | weak | no_evidence
    text: str
    caveats: list[str]


@dataclass(frozen=True)
class ReportBody:
    """Everything a report states about its released units."""

    table: UnitTable
    diagnostics: list[Diagnostic]
    drivers: list[Driver]
    linkages: list[PredictorLinkage]
    customer_metrics: list[CustomerMetric]
    verdict: Verdict
