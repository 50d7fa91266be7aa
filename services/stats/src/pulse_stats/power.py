"""Sample-size planning for correlations: units needed for a given power, and the power
of a given number of units."""

from __future__ import annotations

import math

from scipy import stats

from pulse_stats._validation import check_probability

__all__ = ["correlation_power", "units_needed"]


def units_needed(r: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units needed to detect a correlation ``r`` with a two-sided test at level ``alpha``.

    Parameters
    ----------
    r : float
        Correlation to detect, 0 < |r| < 1. For the unit-level correlation use the
        *observed* (attenuated) correlation of unit means, not the latent one; see
        :func:`pulse_stats.simulation.expected_unit_correlation`.
    alpha : float, default 0.05
        Two-sided significance level, strictly between 0 and 1.
    power : float, default 0.8
        Desired power, strictly between 0 and 1.

    Returns
    -------
    int
        The smallest number of units (pairs) reaching ``power``.

    Raises
    ------
    ValueError
        r not in 0 < |r| < 1, or alpha or power outside (0, 1).

    Notes
    -----
    Fisher-z approximation n = ((z_{1-alpha/2} + z_{power}) / atanh(|r|))^2 + 3, rounded
    up (Fisher 1921 [1]_; Hulley et al. 2013 [2]_, app. 6C; Cohen 1988 [3]_, ch. 3).

    References
    ----------
    .. [1] Fisher, R. A. (1921). Metron 1:3-32.
    .. [2] Hulley, S. B. et al. (2013). *Designing Clinical Research*, 4th ed. Lippincott
       Williams & Wilkins.
    .. [3] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*,
       2nd ed. Erlbaum.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> ps.units_needed(0.3)
    85
    >>> ps.units_needed(0.3, power=0.9)
    113
    """
    if not isinstance(r, int | float) or math.isnan(float(r)) or not 0.0 < abs(r) < 1.0:
        raise ValueError(f"r must satisfy 0 < |r| < 1 (got {r!r})")
    a = check_probability("alpha", alpha)
    pw = check_probability("power", power)
    z_sum = float(stats.norm.ppf(1.0 - a / 2.0)) + float(stats.norm.ppf(pw))
    n = (z_sum / math.atanh(abs(float(r)))) ** 2 + 3.0
    return math.ceil(n - 1e-9)


def correlation_power(r: float, n: int, *, alpha: float = 0.05) -> float:
    """Power of the two-sided test of no correlation with ``n`` units when the truth is ``r``.

    Parameters
    ----------
    r : float
        True correlation, -1 < r < 1 (0 gives alpha).
    n : int
        Number of units (pairs), at least 4.
    alpha : float, default 0.05
        Two-sided significance level, strictly between 0 and 1.

    Returns
    -------
    float
        The probability of rejecting H0: rho = 0 at level ``alpha``.

    Raises
    ------
    ValueError
        r not in (-1, 1), n < 4 or alpha outside (0, 1).

    See Also
    --------
    units_needed : the inverse (the fewest units reaching a power).

    Notes
    -----
    Fisher-z approximation: power = Phi(z sqrt(n-3) - z_{1-alpha/2}) +
    Phi(-z sqrt(n-3) - z_{1-alpha/2}) with z = atanh(r) (Fisher 1921 [1]_; Cohen 1988 [2]_,
    ch. 3), the same approximation :func:`units_needed` inverts, so
    ``correlation_power(r, units_needed(r)) >= 0.8``. It is meant for a correlation fixed
    before looking at the data (a smallest effect of interest): power computed from the
    observed r is a transformation of the p-value and says nothing new (Hoenig & Heisey
    2001 [3]_).

    References
    ----------
    .. [1] Fisher, R. A. (1921). Metron 1:3-32.
    .. [2] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*,
       2nd ed. Erlbaum.
    .. [3] Hoenig, J. M. & Heisey, D. M. (2001). The abuse of power: the pervasive
       fallacy of power calculations for data analysis. Am. Stat. 55:19-24.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> round(ps.correlation_power(0.3, 85), 3)
    0.8
    >>> round(ps.correlation_power(0.3, 30), 3)
    0.363
    """
    if not isinstance(r, int | float) or math.isnan(float(r)) or not -1.0 < r < 1.0:
        raise ValueError(f"r must satisfy -1 < r < 1 (got {r!r})")
    if isinstance(n, bool) or not isinstance(n, int) or n < 4:
        raise ValueError(f"n must be an integer >= 4 (got {n!r})")
    a = check_probability("alpha", alpha)
    shift = math.atanh(abs(float(r))) * math.sqrt(n - 3)
    z_crit = float(stats.norm.ppf(1.0 - a / 2.0))
    return float(stats.norm.cdf(shift - z_crit) + stats.norm.cdf(-shift - z_crit))
