"""Multiple-testing adjustment: false discovery rate q-values and Holm's family-wise
adjusted p-values."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pulse_stats._validation import FloatArray, as_float_vector, check_method

__all__ = ["FdrMethod", "fdr", "holm"]

FdrMethod = Literal["bh", "by"]


def fdr(p_values: ArrayLike, *, method: FdrMethod = "bh") -> FloatArray:
    """False-discovery-rate adjusted p-values (q-values), in the input order.

    Parameters
    ----------
    p_values : array_like
        1-D p-values in [0, 1]; missing p-values (NaN) stay NaN and are not counted in m,
        as in R ``p.adjust``.
    method : {"bh", "by"}, default "bh"
        Benjamini-Hochberg (independence or positive dependence) or Benjamini-Yekutieli
        (any dependence).

    Returns
    -------
    numpy.ndarray
        q-values, same shape and order as ``p_values``. Rejecting where q <= 0.05 controls
        the FDR at 5%.

    Raises
    ------
    ValueError
        p-values outside [0, 1], a non-1-D input or an unknown method.

    Notes
    -----
    ``"bh"``: q_(i) = min_{j >= i} min(1, m p_(j) / j) (Benjamini & Hochberg 1995 [1]_),
    valid under independence or positive dependence (PRDS). ``"by"``: the same times
    c(m) = sum_{i=1}^m 1/i, valid under any dependence (Benjamini & Yekutieli 2001 [2]_).
    Equal to ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh"/"fdr_by")[1]``
    and R ``p.adjust(p, "BH"/"BY")``.

    References
    ----------
    .. [1] Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. JRSS B 57:289-300.
    .. [2] Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate
       in multiple testing under dependency. Ann. Stat. 29:1165-1188.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> [round(float(q), 4) for q in ps.fdr([0.001, 0.02, 0.04, 0.30])]
    [0.004, 0.04, 0.0533, 0.3]
    >>> [round(float(q), 4) for q in ps.fdr([0.001, 0.02, 0.04, 0.30], method="by")]
    [0.0083, 0.0833, 0.1111, 0.625]
    """
    check_method(method, ("bh", "by"))
    p = as_float_vector("p_values", p_values)
    present = ~np.isnan(p)
    observed = p[present]
    if ((observed < 0.0) | (observed > 1.0)).any():
        raise ValueError("p_values must lie between 0 and 1")
    q = np.full(p.shape, np.nan)
    m = observed.size
    if m == 0:
        return q
    order = np.argsort(observed, kind="stable")
    ranked = observed[order] * m / np.arange(1, m + 1)
    if method == "by":
        ranked = ranked * float(np.sum(1.0 / np.arange(1, m + 1)))
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    q[present] = out
    return q


def holm(p_values: ArrayLike) -> FloatArray:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input order.

    Parameters
    ----------
    p_values : array_like
        1-D p-values in [0, 1]; missing p-values (NaN) stay NaN and are not counted in m,
        as in R ``p.adjust``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape and order as ``p_values``. Rejecting where the
        adjusted p-value is below alpha keeps the probability of any false rejection at
        most alpha, whatever the dependence between the tests.

    Raises
    ------
    ValueError
        p-values outside [0, 1] or a non-1-D input.

    Notes
    -----
    With p_(1) <= ... <= p_(m): adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))
    (Holm 1979 [1]_). It is uniformly more powerful than Bonferroni and needs no
    assumption on the dependence of the tests. Equal to
    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]`` and R
    ``p.adjust(p, "holm")``.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scand. J. Stat. 6:65-70.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> [round(float(p), 4) for p in ps.holm([0.001, 0.02, 0.04, 0.30])]
    [0.004, 0.06, 0.08, 0.3]
    """
    p = as_float_vector("p_values", p_values)
    present = ~np.isnan(p)
    observed = p[present]
    if ((observed < 0.0) | (observed > 1.0)).any():
        raise ValueError("p_values must lie between 0 and 1")
    adjusted = np.full(p.shape, np.nan)
    m = observed.size
    if m == 0:
        return adjusted
    order = np.argsort(observed, kind="stable")
    stepped = np.minimum(observed[order] * (m - np.arange(m)), 1.0)
    out = np.empty(m)
    out[order] = np.maximum.accumulate(stepped)
    adjusted[present] = out
    return adjusted
