"""Sample-size planning for correlations."""

from __future__ import annotations

import math

from scipy import stats

from pulse_stats._validation import check_probability


def units_needed(r: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units needed to detect a correlation ``r`` with a two-sided test at level ``alpha``.

    Fisher-z approximation n = ((z_{1-alpha/2} + z_{power}) / atanh(|r|))^2 + 3, rounded up
    (Fisher 1921; Hulley et al. 2013, *Designing Clinical Research*, 4th ed., app. 6C;
    Cohen 1988, ch. 3). For the unit-level correlation use the *observed* (attenuated)
    correlation of unit means, not the latent one; see
    :func:`pulse_stats.simulation.expected_unit_correlation`.
    """
    if not isinstance(r, int | float) or math.isnan(float(r)) or not 0.0 < abs(r) < 1.0:
        raise ValueError(f"r must satisfy 0 < |r| < 1 (got {r!r})")
    a = check_probability("alpha", alpha)
    pw = check_probability("power", power)
    z_sum = float(stats.norm.ppf(1.0 - a / 2.0)) + float(stats.norm.ppf(pw))
    n = (z_sum / math.atanh(abs(float(r)))) ** 2 + 3.0
    return math.ceil(n - 1e-9)
