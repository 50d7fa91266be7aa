"""Shared internals of the correlation functions (not part of the public API).

The public functions in :mod:`pulse_stats.correlation`, :mod:`pulse_stats.resampling`,
:mod:`pulse_stats.partial`, :mod:`pulse_stats.rmcorr` and :mod:`pulse_stats.temporal`
build on these helpers; their docstrings cite the formulas' sources.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pulse_stats._validation import (
    FloatArray,
    as_float_vector,
    check_method,
    check_min_n,
    check_not_constant,
    check_same_length,
    complete_rows,
)

METHODS: tuple[str, ...] = ("pearson", "spearman", "kendall")

#: Fewest complete pairs each method needs for its interval (n - 3 > 0, n - 4 > 0).
MIN_N: dict[str, int] = {"pearson": 4, "spearman": 4, "kendall": 5}


def fisher_interval(r: float, se: float, confidence_level: float) -> tuple[float, float]:
    """Interval tanh(atanh(r) -/+ z_{1-a/2} * se) on the Fisher z scale (Fisher 1921)."""
    z_crit = float(stats.norm.ppf(0.5 + confidence_level / 2.0))
    with np.errstate(divide="ignore"):
        z = float(np.arctanh(np.clip(r, -1.0, 1.0)))
    return math.tanh(z - z_crit * se), math.tanh(z + z_crit * se)


def z_standard_error(method: str, r: float, n: int) -> float:
    """Standard error of atanh(r).

    Pearson: 1/sqrt(n-3) (Fisher 1921). Spearman: sqrt((1 + r^2/2)/(n-3)) and Kendall:
    sqrt(0.437/(n-4)) (Bonett & Wright 2000, Psychometrika 65:23-28; the Kendall value is
    Fieller, Hartley & Pearson 1957).
    """
    if method == "pearson":
        return 1.0 / math.sqrt(n - 3)
    if method == "spearman":
        return math.sqrt((1.0 + r * r / 2.0) / (n - 3))
    return math.sqrt(0.437 / (n - 4))


def pearson_r(x: FloatArray, y: FloatArray) -> float:
    """Pearson product-moment correlation of two complete, non-constant vectors."""
    xc = x - x.mean()
    yc = y - y.mean()
    denom = math.sqrt(float(xc @ xc) * float(yc @ yc))
    return float(np.clip(float(xc @ yc) / denom, -1.0, 1.0))


def t_test_p_value(r: float, dof: int) -> float:
    """Two-sided p-value of H0: rho = 0 from t = r sqrt(dof / (1 - r^2)) on ``dof`` df."""
    if abs(r) >= 1.0:
        return 0.0
    t = r * math.sqrt(dof / (1.0 - r * r))
    return float(2.0 * stats.t.sf(abs(t), dof))


def ranks(values: FloatArray) -> FloatArray:
    """Average ranks (ties get the mean rank), as used by Spearman's rho."""
    return np.asarray(stats.rankdata(values), dtype=np.float64)


def paired_complete(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate two paired vectors and drop pairs with a missing value (pairwise deletion)."""
    xa = as_float_vector("x", x)
    ya = as_float_vector("y", y)
    check_same_length(x=xa, y=ya)
    keep = complete_rows(xa, ya)
    return xa[keep], ya[keep]


def estimate(method: str, x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Return (coefficient, analytic two-sided p-value) on complete, validated data."""
    n = x.shape[0]
    if method == "pearson":
        r = pearson_r(x, y)
        return r, t_test_p_value(r, n - 2)
    if method == "spearman":
        r = pearson_r(ranks(x), ranks(y))
        return r, t_test_p_value(r, n - 2)
    res = stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)


def validated_pairs(x: ArrayLike, y: ArrayLike, method: str) -> tuple[FloatArray, FloatArray]:
    """Method check, pairwise deletion, minimum n and non-constant checks."""
    check_method(method, METHODS)
    xa, ya = paired_complete(x, y)
    check_min_n(xa.shape[0], MIN_N[method], f"complete (x, y) pairs for a {method} correlation")
    check_not_constant("x", xa)
    check_not_constant("y", ya)
    return xa, ya
