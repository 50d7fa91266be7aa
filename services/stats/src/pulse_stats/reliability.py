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

__all__ = ["cronbach_alpha", "disattenuated"]


def cronbach_alpha(items: ArrayLike, *, confidence_level: float = 0.95) -> AlphaResult:
    """Cronbach's alpha of a respondents x items matrix with Feldt's F-based interval.

    Parameters
    ----------
    items : array_like
        Respondents x items answers (at least 2 items and 3 complete respondents).
        Respondents (rows) with any missing item are dropped (listwise, as R
        ``psych::alpha(use="complete.obs")``).
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    AlphaResult
        ``alpha`` and the Feldt interval ``ci_low``/``ci_high``.

    Raises
    ------
    ValueError
        Fewer than 2 items or 3 complete respondents, a constant total score, or a bad
        confidence_level.

    Notes
    -----
    alpha = k/(k-1) (1 - sum(item variances) / variance(total score)) (Cronbach 1951
    [1]_). Interval (Feldt 1965 [2]_):
    [1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1)), 1 - (1 - alpha) F_{a/2}(n-1, (n-1)(k-1))],
    as ``pingouin.cronbach_alpha``; the interval uses the rows kept. Alpha can be negative
    when items correlate negatively on average.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika 16:297-334.
    .. [2] Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson
       reliability coefficient twenty. Psychometrika 30:357-370.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> items = [[4, 5, 4], [3, 3, 4], [5, 5, 5], [2, 3, 2], [4, 4, 3], [3, 2, 3]]
    >>> res = ps.cronbach_alpha(items)
    >>> round(res.alpha, 3), round(res.ci_low, 3), round(res.ci_high, 3)
    (0.893, 0.548, 0.984)
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
    """Correlation corrected for attenuation: r / sqrt(r_xx r_yy).

    Parameters
    ----------
    r : float
        Observed correlation, in [-1, 1].
    reliability_x, reliability_y : float
        Reliabilities of the two measures (e.g. ICC(2) of unit means), in (0, 1].

    Returns
    -------
    float
        The disattenuated correlation, **not clipped** to [-1, 1].

    Raises
    ------
    ValueError
        A value that is not a number or lies outside its range.

    Notes
    -----
    Spearman's correction (Spearman 1904 [1]_; Schmidt & Hunter 2015 [2]_). A result
    beyond +/-1 is returned as is, because it is informative (the reliabilities are
    underestimated, or r is inflated by sampling error) and silently clipping it to +/-1
    would hide that. Callers that display it should flag such values.

    References
    ----------
    .. [1] Spearman, C. (1904). The proof and measurement of association between two
       things. Am. J. Psychol. 15:72-101.
    .. [2] Schmidt, F. L. & Hunter, J. E. (2015). *Methods of Meta-Analysis*, 3rd ed. Sage.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> round(ps.disattenuated(0.3, 0.81, 0.64), 4)
    0.4167
    >>> round(ps.disattenuated(0.6, 0.5, 0.4), 3)  # beyond 1: reliabilities too low?
    1.342
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
