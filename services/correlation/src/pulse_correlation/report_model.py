"""The records of a linkage report, pure: the request, the unit table the statistics run on,
and every result as the report carries it (a number that is not defined is NaN, mapped by
``values.reported``, with its reason beside it)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pulse_stats
from numpy.typing import NDArray

from pulse_correlation.access import Viewer
from pulse_correlation.values import reported

Method = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[Method, ...] = ("pearson", "spearman", "kendall")


@dataclass(frozen=True)
class Options:
    bootstrap_resamples: int
    permutation_resamples: int
    confidence_level: float
    method: Method
    random_seed: int
    # The smallest unit-level correlation worth detecting, declared before the data are
    # seen: the verdict's power statement and "units needed" use it, never the observed r.
    smallest_effect: float = 0.3


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
class Panel:
    """The (unit, period) points as columns, one entry per point: unit by unit (in the
    order of ``units``), periods in order. A predictor's value counts only where its
    ``reached`` flag is set (its cell has n >= k)."""

    units: list[str]  # what ``unit`` indexes
    periods: list[str]  # what ``period`` indexes
    unit: NDArray[np.intp]
    period: NDArray[np.intp]
    period_index: NDArray[np.int64]
    y: NDArray[np.float64]
    x: dict[str, NDArray[np.float64]]  # predictor construct -> mean (see ``reached``)
    reached: dict[str, NDArray[np.bool_]]

    def __len__(self) -> int:
        return int(self.y.size)

    def __iter__(self) -> Iterator[PanelRow]:
        """The points one by one (tests and tools; the report reads the columns)."""
        for at in range(len(self)):
            xs = {p: float(v[at]) for p, v in self.x.items() if self.reached[p][at]}
            yield PanelRow(
                self.units[self.unit[at]],
                self.periods[self.period[at]],
                int(self.period_index[at]),
                xs,
                float(self.y[at]),
            )


# Numbers per unit (or per unit and item) as lists or as the report's arrays: the
# statistics take either, and arrays spare a report at 1M responses a round trip through
# Python floats (issue 20).
Counts = Sequence[int] | NDArray[np.int64]
Values = Sequence[float] | NDArray[np.float64]
CountRows = Sequence[Sequence[int]] | NDArray[np.int64]
ValueRows = Sequence[Sequence[float]] | NDArray[np.float64]


@dataclass(frozen=True)
class RwgInput:
    """Per released unit (rows) and item (columns): answers, sum and sum of squares."""

    n: CountRows
    sums: ValueRows
    sumsq: ValueRows
    n_options: int


@dataclass(frozen=True)
class UnitSums:
    """Respondents, sum and sum of squares per unit, aligned."""

    n: Counts
    sums: Values
    squares: Values


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
    panel: Panel
    # construct -> one entry per period: (n, sum, sum of squares) of each released unit
    # with answers in that period (ICC per period: each person answers once a period).
    period_sums: dict[str, list[UnitSums]]
    rwg_inputs: dict[str, RwgInput]
    nps_counts: tuple[int, int, int] | None
    top2: tuple[int, int] | None
    outcome_totals: tuple[int, float, float] | None  # n, sum, sum of squares (0-100 scale)
    # Per released unit: respondents, sum and sum of squares of the outcome on the scale of
    # ``y`` (NPS outcomes: promoter 100, passive 0, detractor -100), for the n-weighted fit.
    outcome_sums: UnitSums = field(default_factory=lambda: UnitSums([], [], []))
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
    note: str = ""  # why a value is not computable ("" when every value is)

    @classmethod
    def of(cls, result: pulse_stats.CorrelationResult, note: str = "") -> Estimate:
        values = (result.r, result.p_value, result.ci_low, result.ci_high)
        if not note and not all(math.isfinite(v) for v in values):
            note = f"not computable from {result.n} pairs (too few, or no variation)"
        return cls(
            method=result.method,
            r=reported(result.r),
            p_value=reported(result.p_value),
            ci_low=reported(result.ci_low),
            ci_high=reported(result.ci_high),
            n=result.n,
            note=note,
        )


# What a missing estimate reads as (the proto's default message).
NO_ESTIMATE = Estimate("", 0.0, 0.0, 0.0, 0.0, 0)


@dataclass(frozen=True)
class LagEstimate:
    lag: int
    estimate: Estimate
    units: int = 0  # units contributing pairs (the clusters of the interval)


@dataclass(frozen=True)
class LinkTest:
    """One test in the verdict's family: ``source`` "between" (correlation of unit means)
    or "within" (within-unit correlation at ``lag``), with its p-value and the family-wise
    (Holm) adjusted one."""

    source: str
    lag: int
    r: float
    p_value: float
    adjusted_p_value: float


@dataclass(frozen=True)
class Direction:
    """Which moves first: forward (treatment leads) against backward (customers lead)
    within units, averaged over lags 1..max_lag, with its cluster-level test."""

    leader: str  # "treatment" | "outcome" | "cannot_tell" | "not_assessed"
    forward: float = math.nan
    backward: float = math.nan
    difference: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    adjusted_p_value: float = math.nan  # Holm over the predictors with a claimed link
    units: int = 0
    max_lag: int = 0
    note: str = ""


@dataclass(frozen=True)
class Disattenuation:
    """The correlation of unit means corrected for the unreliability of both means, with
    the corrected interval; ``flagged`` when it exceeds 1 or its interval crosses 1."""

    r: float
    ci_low: float
    ci_high: float
    reliability_x: float
    reliability_y: float
    flagged: bool
    note: str


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
    disattenuation: Disattenuation | None = None
    repeated_measures: Estimate | None = None
    lags: list[LagEstimate] = field(default_factory=list)
    partials: list[PartialEstimate] = field(default_factory=list)
    units_needed: int = 0  # for the smallest effect of interest (Options.smallest_effect)
    # The n-weighted multilevel estimate beside the correlation of means, and a note when
    # the two disagree.
    multilevel: Estimate | None = None
    multilevel_note: str = ""
    tests: list[LinkTest] = field(default_factory=list)
    direction: Direction = field(default_factory=lambda: Direction("not_assessed"))
    reliable: bool = True  # False: left out of the verdict by the reliability gate

    @property
    def disattenuated_r(self) -> float:
        return self.disattenuation.r if self.disattenuation else math.nan

    @property
    def adjusted(self) -> PartialEstimate | None:
        """The estimate controlling every chosen covariate at once."""
        return max(self.partials, key=lambda p: len(p.covariates), default=None)


@dataclass(frozen=True)
class Driver:
    name: str
    level: str  # "construct" or "item"
    estimate: Estimate
    q_value: float  # as reported (NaN when not computable)
    raw_q_value: float  # as computed


@dataclass
class Diagnostic:
    """Aggregation diagnostics of one construct. ICC(1) is estimated in each period (each
    respondent answers once a period) and averaged; ICC(2) is the reliability of one
    period's unit mean; ``reliability`` that of the unit means the report correlates."""

    construct: str
    icc1: float = math.nan
    icc2: float = math.nan
    rwg_j_mean: float = math.nan
    rwg_j_median: float = math.nan
    n_groups: int = 0
    mean_group_size: float = math.nan  # respondents per unit and period
    warnings: list[str] = field(default_factory=list)
    reliability: float = math.nan
    reliability_basis: str = ""
    periods: int = 0
    single_item: bool = False


@dataclass(frozen=True)
class CustomerMetric:
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    std_error: float


@dataclass(frozen=True)
class PowerPlan:
    """Power for the smallest effect of interest, declared before the data were seen."""

    smallest_effect: float
    units: int
    power: float  # with the current units, one pre-declared measure, two-sided alpha
    units_needed: int  # for 80 % power
    alpha: float


@dataclass(frozen=True)
class Verdict:
    level: str  # not_enough_data | unreliable | supported | weak | no_evidence
    text: str
    caveats: list[str]
    # Which moves first in the lead finding: treatment | outcome | together | "" (none).
    leader: str = ""
    linked: list[str] = field(default_factory=list)  # predictors with a claimed link


@dataclass(frozen=True)
class ReportBody:
    """Everything a report states about its released units."""

    table: UnitTable
    diagnostics: list[Diagnostic]
    drivers: list[Driver]
    linkages: list[PredictorLinkage]
    customer_metrics: list[CustomerMetric]
    verdict: Verdict
    power: PowerPlan | None = None
