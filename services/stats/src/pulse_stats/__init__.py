"""pulse_stats: pure statistics for the Pulse correlation service (numpy + scipy only).

No I/O and no pandas: every function takes array-likes and returns a frozen dataclass,
an array or a number. Invalid input raises ValueError naming the argument; missing values
(NaN) are dropped and the n actually used is reported.
"""

from pulse_stats.correlation import Method, correlation
from pulse_stats.customer import nps, nps_from_counts, top_box, wilson_interval
from pulse_stats.multilevel import GroupSize, icc, icc_from_summaries, rwg_j, rwg_j_from_summaries
from pulse_stats.multiple import FdrMethod, fdr
from pulse_stats.partial import PartialMethod, partial_correlation
from pulse_stats.power import units_needed
from pulse_stats.reliability import cronbach_alpha, disattenuated
from pulse_stats.resampling import bootstrap_correlation, permutation_correlation
from pulse_stats.results import (
    AlphaResult,
    CorrelationResult,
    CrossLaggedCoefficient,
    CrossLaggedResult,
    IccResult,
    LaggedCorrelation,
    NpsResult,
    ProportionResult,
    RmCorrResult,
    RwgResult,
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
    "Method",
    "NpsResult",
    "PartialMethod",
    "ProportionResult",
    "RmCorrResult",
    "RwgResult",
    "bootstrap_correlation",
    "correlation",
    "cronbach_alpha",
    "cross_lagged",
    "disattenuated",
    "fdr",
    "icc",
    "icc_from_summaries",
    "lagged_correlations",
    "nps",
    "nps_from_counts",
    "partial_correlation",
    "permutation_correlation",
    "repeated_measures_correlation",
    "rwg_j",
    "rwg_j_from_summaries",
    "top_box",
    "units_needed",
    "wilson_interval",
]
