"""Bivariate correlation (Pearson, Spearman, Kendall) with analytic tests and intervals."""

from __future__ import annotations

from typing import Literal

from numpy.typing import ArrayLike

from pulse_stats._core import estimate, fisher_interval, validated_pairs, z_standard_error
from pulse_stats._validation import check_confidence_level
from pulse_stats.results import CorrelationResult

__all__ = ["Method", "correlation"]

Method = Literal["pearson", "spearman", "kendall"]


def correlation(
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: Method = "pearson",
    confidence_level: float = 0.95,
) -> CorrelationResult:
    """Correlation of x and y with a two-sided test of rho = 0 and a confidence interval.

    Parameters
    ----------
    x, y : array_like
        Paired 1-D samples of equal length. Pairs with a missing value (NaN) are dropped.
    method : {"pearson", "spearman", "kendall"}, default "pearson"
        Pearson's product-moment r, Spearman's rho or Kendall's tau-b.
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    CorrelationResult
        ``r``, two-sided ``p_value``, ``ci_low``/``ci_high`` and ``n``, the number of
        complete pairs used.

    Raises
    ------
    ValueError
        Mismatched lengths, too few complete pairs (4; 5 for Kendall), constant input, an
        unknown method or a confidence_level outside (0, 1).

    See Also
    --------
    bootstrap_correlation : the same coefficient with a BCa bootstrap interval.
    permutation_correlation : the same coefficient with a permutation test.

    Notes
    -----
    * ``"pearson"``: product-moment r; p-value from t = r sqrt((n-2)/(1-r^2)) on n-2 df
      (Student 1908 [1]_; Fisher 1915 [2]_); interval tanh(atanh r +/- z/sqrt(n-3))
      (Fisher 1921 [3]_).
    * ``"spearman"``: Pearson r of average ranks (Spearman 1904 [4]_); p-value from the
      same t approximation (as ``scipy.stats.spearmanr`` and R ``cor.test(exact=FALSE)``);
      interval with the Bonett & Wright [5]_ standard error sqrt((1 + r^2/2)/(n-3)).
    * ``"kendall"``: tau-b (Kendall 1945 [6]_) and its p-value from
      ``scipy.stats.kendalltau`` (exact permutation distribution for small samples without
      ties, normal approximation with tie correction otherwise); interval with the
      Fieller, Hartley & Pearson [7]_ standard error sqrt(0.437/(n-4)) recommended by
      Bonett & Wright [5]_.

    References
    ----------
    .. [1] Student (1908). Probable error of a correlation coefficient. Biometrika 6:302-310.
    .. [2] Fisher, R. A. (1915). Biometrika 10:507-521.
    .. [3] Fisher, R. A. (1921). Metron 1:3-32.
    .. [4] Spearman, C. (1904). Am. J. Psychol. 15:72-101.
    .. [5] Bonett, D. G. & Wright, T. A. (2000). Psychometrika 65:23-28.
    .. [6] Kendall, M. G. (1945). The treatment of ties in ranking problems. Biometrika
       33:239-251.
    .. [7] Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Biometrika 44:470-481.

    Examples
    --------
    Hollander & Wolfe's data, as in the help page of R ``cor.test``:

    >>> import pulse_stats as ps
    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> res = ps.correlation(x, y)
    >>> round(res.r, 4), round(res.p_value, 4), res.n
    (0.5712, 0.1082, 9)
    >>> round(res.ci_low, 4), round(res.ci_high, 4)
    (-0.1497, 0.8956)
    >>> round(ps.correlation(x, y, method="kendall").r, 4)
    0.4444
    """
    level = check_confidence_level(confidence_level)
    xa, ya = validated_pairs(x, y, method)
    n = xa.shape[0]
    r, p = estimate(method, xa, ya)
    low, high = fisher_interval(r, z_standard_error(method, r, n), level)
    return CorrelationResult(r=r, p_value=p, ci_low=low, ci_high=high, n=n, method=method)
