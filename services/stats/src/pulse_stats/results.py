"""Frozen result types returned by the public functions.

Examples
--------
>>> import pulse_stats as ps
>>> res = ps.correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
>>> round(res.r, 3), res.n, res.method
(0.8, 5, 'pearson')
>>> res.r = 0.0
Traceback (most recent call last):
...
dataclasses.FrozenInstanceError: cannot assign to field 'r'
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AlphaResult",
    "CorrelationResult",
    "CrossLaggedCoefficient",
    "CrossLaggedResult",
    "IccResult",
    "LaggedCorrelation",
    "LeadLagResult",
    "NpsResult",
    "ProportionResult",
    "RandomInterceptResult",
    "RmCorrResult",
    "RwgResult",
    "WithinUnitLag",
]


@dataclass(frozen=True)
class CorrelationResult:
    """A correlation estimate with its test and interval.

    ``n`` is the number of complete pairs (or observations) actually used after missing
    values were dropped.
    """

    r: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int
    method: str


@dataclass(frozen=True)
class RmCorrResult(CorrelationResult):
    """Repeated-measures correlation; ``dof`` = observations - subjects - 1."""

    dof: int


@dataclass(frozen=True)
class LaggedCorrelation(CorrelationResult):
    """Correlation at one lag; ``lag > 0`` means the predictor leads the outcome."""

    lag: int


@dataclass(frozen=True)
class WithinUnitLag(LaggedCorrelation):
    """Within-unit correlation at one lag with a cluster-robust interval; ``n`` counts the
    pairs, ``n_units`` the units (clusters) contributing them, ``se`` is the standard error
    of r."""

    n_units: int
    se: float


@dataclass(frozen=True)
class LeadLagResult:
    """Forward (predictor leads) minus backward (outcome leads) within-unit correlation,
    averaged over lags 1..``max_lag``, with its cluster-robust test."""

    forward: float
    backward: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_units: int
    n_pairs: int
    max_lag: int


@dataclass(frozen=True)
class RandomInterceptResult:
    """Slope of a unit-level predictor in a random-intercept model fitted by REML."""

    slope: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    dof: int
    intercept: float
    between_variance: float  # tau^2
    within_variance: float  # sigma^2
    n_units: int
    n_obs: int


@dataclass(frozen=True)
class IccResult:
    """One-way random-effects ANOVA intraclass correlations (Bliese 2000)."""

    icc1: float
    icc2: float
    f_statistic: float
    p_value: float
    n_groups: int
    mean_group_size: float


@dataclass(frozen=True)
class RwgResult:
    """Within-group agreement r_wg(j) per group (NaN for single-member groups)."""

    by_group: Mapping[Hashable, float] = field(hash=False)
    mean: float
    median: float


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with Feldt's (1965) confidence interval."""

    alpha: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class NpsResult:
    """Net Promoter Score on the -100..100 scale with its standard error and adjusted Wald
    interval (Rocks 2016)."""

    nps: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    promoters: int
    passives: int
    detractors: int


@dataclass(frozen=True)
class ProportionResult:
    """A proportion with a Wilson score interval."""

    p: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class CrossLaggedCoefficient:
    """One cross-lagged OLS coefficient (unit fixed effects + autoregressive term)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    dof: int


@dataclass(frozen=True)
class CrossLaggedResult:
    """Both cross-lagged paths of a two-variable panel.

    ``predictor_to_outcome``: x[t-1] -> y[t] controlling y[t-1];
    ``outcome_to_predictor``: y[t-1] -> x[t] controlling x[t-1].
    """

    predictor_to_outcome: CrossLaggedCoefficient
    outcome_to_predictor: CrossLaggedCoefficient
    n_units: int
