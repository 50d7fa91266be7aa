"""Partial correlation by the regression-residual method."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pulse_stats._core import fisher_interval, pearson_r, ranks, t_test_p_value
from pulse_stats._validation import (
    FloatArray,
    as_float_matrix,
    as_float_vector,
    check_confidence_level,
    check_method,
    check_min_n,
    check_not_constant,
    check_same_length,
    complete_rows,
)
from pulse_stats.results import CorrelationResult

__all__ = ["PartialMethod", "partial_correlation"]

PartialMethod = Literal["pearson", "spearman"]


def _residuals(target: FloatArray, design: FloatArray) -> FloatArray:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return np.asarray(target - design @ coef, dtype=np.float64)


def partial_correlation(
    x: ArrayLike,
    y: ArrayLike,
    covariates: ArrayLike,
    *,
    method: PartialMethod = "pearson",
    confidence_level: float = 0.95,
) -> CorrelationResult:
    """Partial correlation of x and y controlling for the columns of ``covariates``.

    Parameters
    ----------
    x, y : array_like
        1-D samples of equal length.
    covariates : array_like
        n x k array of covariates (a 1-D array is one covariate). Rows with any missing
        value in x, y or a covariate are dropped (listwise).
    method : {"pearson", "spearman"}, default "pearson"
        ``"spearman"`` ranks every variable first.
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    CorrelationResult
        Partial ``r``, its two-sided ``p_value``, ``ci_low``/``ci_high`` and ``n``, the
        number of complete rows used.

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than k + 4 complete rows, a constant variable, collinear
        covariates, x or y an exact linear function of the covariates, or a bad method or
        confidence_level.

    Notes
    -----
    x and y are each regressed (OLS with intercept) on the k covariates and r is the
    Pearson correlation of the two residual vectors (Fisher 1924 [1]_; Cohen, Cohen, West
    & Aiken 2003 [2]_). The test uses t = r sqrt((n-2-k)/(1-r^2)) on n-2-k df and the
    interval is Fisher's z with standard error 1/sqrt(n-3-k). r and p-value match
    ``pingouin.partial_corr`` (which is tested against R ``ppcor::pcor.test``).

    References
    ----------
    .. [1] Fisher, R. A. (1924). The distribution of the partial correlation coefficient.
       Metron 3:329-332.
    .. [2] Cohen, J., Cohen, P., West, S. G. & Aiken, L. S. (2003). *Applied Multiple
       Regression/Correlation Analysis for the Behavioral Sciences*, 3rd ed. Erlbaum.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> x = [3.1, 2.4, 4.0, 3.3, 2.9, 4.4, 3.8, 2.2, 3.6, 4.1]
    >>> y = [3.9, 3.1, 4.2, 4.1, 3.2, 4.6, 3.9, 3.0, 4.4, 4.0]
    >>> size = [12, 8, 20, 15, 9, 25, 18, 7, 16, 22]
    >>> res = ps.partial_correlation(x, y, size)
    >>> round(res.r, 3), round(res.p_value, 3), res.n
    (0.335, 0.379, 10)
    """
    level = check_confidence_level(confidence_level)
    check_method(method, ("pearson", "spearman"))
    xa = as_float_vector("x", x)
    ya = as_float_vector("y", y)
    cov = as_float_matrix("covariates", covariates)
    check_same_length(x=xa, y=ya, covariates=cov)
    keep = complete_rows(xa, ya, cov)
    xa, ya, cov = xa[keep], ya[keep], cov[keep]
    n, k = cov.shape
    check_min_n(n, k + 4, f"complete rows for a partial correlation with {k} covariate(s)")
    check_not_constant("x", xa)
    check_not_constant("y", ya)
    for j in range(k):
        check_not_constant(f"covariates[:, {j}]", cov[:, j])
    if method == "spearman":
        xa, ya = ranks(xa), ranks(ya)
        cov = np.column_stack([ranks(cov[:, j]) for j in range(k)])
    design = np.column_stack([np.ones(n), cov])
    if np.linalg.matrix_rank(design) < k + 1:
        raise ValueError("covariates are collinear (the covariate matrix is rank-deficient)")
    rx = _residuals(xa, design)
    ry = _residuals(ya, design)
    for name, resid, original in (("x", rx, xa), ("y", ry, ya)):
        if float(resid @ resid) <= 1e-20 * float(np.sum((original - original.mean()) ** 2)):
            raise ValueError(f"{name} is a linear function of the covariates; r is undefined")
    r = pearson_r(rx, ry)
    dof = n - 2 - k
    low, high = fisher_interval(r, 1.0 / math.sqrt(n - 3 - k), level)
    return CorrelationResult(
        r=r, p_value=t_test_p_value(r, dof), ci_low=low, ci_high=high, n=n, method=method
    )
