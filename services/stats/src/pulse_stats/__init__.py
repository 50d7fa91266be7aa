"""pulse_stats: pure statistics for the Pulse correlation service (numpy + scipy only).

No I/O and no pandas: every function takes array-likes and returns a frozen dataclass,
an array or a number. Invalid input raises ValueError naming the argument; missing values
(NaN) are dropped and the n actually used is reported.

Conventions (as scipy.stats and pingouin): the data are positional, everything after them
is keyword-only, and the same option has the same name everywhere (``method``,
``confidence_level``, ``n_resamples``, ``random_state``, ``alpha``, ``power``, ...).

Examples
--------
>>> import pulse_stats as ps
>>> treatment = [62.0, 70.5, 55.1, 80.2, 66.3, 74.9, 59.8, 71.0]  # unit means, 0-100
>>> csat = [3.9, 4.2, 3.6, 4.5, 4.0, 4.3, 3.8, 4.1]
>>> res = ps.correlation(treatment, csat, method="spearman")
>>> round(res.r, 3), res.n
(0.976, 8)
"""

from pulse_stats.agreement import rwg_j, rwg_j_from_summaries
from pulse_stats.clustered import lead_lag_test, within_unit_lags
from pulse_stats.correlation import Method, correlation
from pulse_stats.customer import nps, nps_from_counts, top_box, wilson_interval
from pulse_stats.mixed import random_intercept_regression
from pulse_stats.multilevel import GroupSize, icc, icc_from_summaries
from pulse_stats.multiple import FdrMethod, fdr, holm
from pulse_stats.partial import PartialMethod, partial_correlation
from pulse_stats.power import correlation_power, units_needed
from pulse_stats.reliability import cronbach_alpha, disattenuated
from pulse_stats.resampling import bootstrap_correlation, permutation_correlation
from pulse_stats.results import (
    AlphaResult,
    CorrelationResult,
    CrossLaggedCoefficient,
    CrossLaggedResult,
    IccResult,
    LaggedCorrelation,
    LeadLagResult,
    NpsResult,
    ProportionResult,
    RandomInterceptResult,
    RmCorrResult,
    RwgResult,
    WithinUnitLag,
)
from pulse_stats.rmcorr import repeated_measures_correlation
from pulse_stats.temporal import cross_lagged, lagged_correlations

__all__ = [
    "AlphaResult",
    "CorrelationResult",
    "CrossLaggedCoefficient",
    "CrossLaggedResult",
    "FdrMethod",
    "GroupSize",
    "IccResult",
    "LaggedCorrelation",
    "LeadLagResult",
    "Method",
    "NpsResult",
    "PartialMethod",
    "ProportionResult",
    "RandomInterceptResult",
    "RmCorrResult",
    "RwgResult",
    "WithinUnitLag",
    "bootstrap_correlation",
    "correlation",
    "correlation_power",
    "cronbach_alpha",
    "cross_lagged",
    "disattenuated",
    "fdr",
    "holm",
    "icc",
    "icc_from_summaries",
    "lagged_correlations",
    "lead_lag_test",
    "nps",
    "nps_from_counts",
    "partial_correlation",
    "permutation_correlation",
    "random_intercept_regression",
    "repeated_measures_correlation",
    "rwg_j",
    "rwg_j_from_summaries",
    "top_box",
    "units_needed",
    "wilson_interval",
    "within_unit_lags",
]
