"""Multiple-testing adjustment: false discovery rate q-values."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pulse_stats._validation import FloatArray, as_float_vector, check_method

FdrMethod = Literal["bh", "by"]


def fdr(p_values: ArrayLike, method: FdrMethod = "bh") -> FloatArray:
    """False-discovery-rate adjusted p-values (q-values), in the input order.

    ``"bh"``: q_(i) = min_{j >= i} min(1, m p_(j) / j) (Benjamini & Hochberg 1995, JRSS B
    57:289-300), valid under independence or positive dependence (PRDS).
    ``"by"``: the same times c(m) = sum_{i=1}^m 1/i, valid under any dependence
    (Benjamini & Yekutieli 2001, Ann. Stat. 29:1165-1188).
    Equal to ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh"/"fdr_by")[1]``
    and R ``p.adjust(p, "BH"/"BY")``. Missing p-values (NaN) stay NaN and are not counted
    in m, as in R ``p.adjust``. Rejecting where q <= 0.05 controls the FDR at 5%.
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
