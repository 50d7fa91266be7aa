"""Scale reliability (Cronbach's alpha) and correction for attenuation."""

from __future__ import annotations

import math

from numpy.typing import ArrayLike
from scipy import stats

from pulse_stats._validation import (
    as_float_matrix,
    check_confidence_level,
    check_min_n,
    complete_rows,
)
from pulse_stats.results import AlphaResult


def cronbach_alpha(items: ArrayLike, confidence_level: float = 0.95) -> AlphaResult:
    """Cronbach's alpha of a respondents x items matrix with Feldt's F-based interval.

    alpha = k/(k-1) (1 - sum(item variances) / variance(total score)) (Cronbach 1951,
    Psychometrika 16:297-334). Interval (Feldt 1965, Psychometrika 30:357-370):
    [1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1)), 1 - (1 - alpha) F_{a/2}(n-1, (n-1)(k-1))],
    as ``pingouin.cronbach_alpha``. Respondents (rows) with any missing item are dropped
    (listwise, as R ``psych::alpha(use="complete.obs")``) and the interval uses the rows
    kept. Alpha can be negative when items correlate negatively on average.
    """
    level = check_confidence_level(confidence_level)
    mat = as_float_matrix("items", items)
    mat = mat[complete_rows(mat)]
    n, k = mat.shape
    check_min_n(k, 2, "items (columns) for Cronbach's alpha")
    check_min_n(n, 3, "complete respondents (rows) for Cronbach's alpha")
    item_var = mat.var(axis=0, ddof=1)
    total_var = float(mat.sum(axis=1).var(ddof=1))
    if total_var == 0.0:
        raise ValueError("items: the total score is constant; alpha is undefined")
    alpha = k / (k - 1.0) * (1.0 - float(item_var.sum()) / total_var)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1.0 - level) / 2.0
    low = 1.0 - (1.0 - alpha) * float(stats.f.isf(tail, df1, df2))
    high = 1.0 - (1.0 - alpha) * float(stats.f.isf(1.0 - tail, df1, df2))
    return AlphaResult(alpha=alpha, ci_low=low, ci_high=high)


def disattenuated(r: float, reliability_x: float, reliability_y: float) -> float:
    """Correlation corrected for attenuation: r / sqrt(r_xx r_yy) (Spearman 1904, Am. J.
    Psychol. 15:72-101; Schmidt & Hunter 2015, *Methods of Meta-Analysis*, 3rd ed.).

    The value is **not clipped**: a result beyond +/-1 is returned as is, because it is
    informative (the reliabilities are underestimated, or r is inflated by sampling error)
    and silently clipping it to +/-1 would hide that. Callers that display it should flag
    such values. Reliabilities must lie in (0, 1]; r in [-1, 1].
    """
    for name, value in (
        ("r", r),
        ("reliability_x", reliability_x),
        ("reliability_y", reliability_y),
    ):
        if not isinstance(value, int | float) or math.isnan(float(value)):
            raise ValueError(f"{name} must be a number (got {value!r})")
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"r must be between -1 and 1 (got {r!r})")
    for name, value in (("reliability_x", reliability_x), ("reliability_y", reliability_y)):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be in (0, 1] (got {value!r})")
    return float(r) / math.sqrt(float(reliability_x) * float(reliability_y))
