"""Panel (unit x period) correlations with units as clusters: within-unit lagged
correlations with cluster-robust intervals, and a test of which series moves first.

Rows of one unit are not independent (the same team, often the same people, month after
month), so every standard error here comes from per-unit contributions (Liang & Zeger
1986; Cameron & Miller 2015) and every test has ``units - 1`` degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from pulse_stats._validation import FloatArray, check_confidence_level, check_positive_int
from pulse_stats.results import LeadLagResult, WithinUnitLag
from pulse_stats.temporal import _Panel, _panel

__all__ = ["lead_lag_test", "within_unit_lags"]


@dataclass(frozen=True)
class _Within:
    """A panel whose predictor and outcome are centred on each unit's own mean."""

    panel: _Panel
    x: FloatArray
    y: FloatArray
    n_units: int

    def pairs(self, lag: int) -> tuple[FloatArray, FloatArray, NDArray[np.intp]]:
        """(x at t, y at t + lag, unit code) for every complete pair at ``lag``."""
        partner = self.panel.partner(lag)
        rows = np.flatnonzero(partner >= 0)
        xs, ys = self.x[rows], self.y[partner[rows]]
        ok = ~np.isnan(xs) & ~np.isnan(ys)
        return xs[ok], ys[ok], self.panel.codes[rows][ok]

    def per_unit(self, values: FloatArray, codes: NDArray[np.intp]) -> FloatArray:
        return np.asarray(np.bincount(codes, weights=values, minlength=self.n_units))


def _within(
    unit: ArrayLike, period: ArrayLike, predictor: ArrayLike, outcome: ArrayLike
) -> _Within:
    panel = _panel(unit, period, predictor, outcome)
    complete = ~np.isnan(panel.predictor) & ~np.isnan(panel.outcome)
    n_units = int(panel.codes.max()) + 1
    codes = panel.codes[complete]
    counts = np.bincount(codes, minlength=n_units).astype(np.float64)
    safe = np.maximum(counts, 1.0)
    x = np.full(panel.predictor.shape, np.nan)
    y = np.full(panel.outcome.shape, np.nan)
    for target, source in ((x, panel.predictor), (y, panel.outcome)):
        means = np.bincount(codes, weights=source[complete], minlength=n_units) / safe
        target[complete] = source[complete] - means[codes]
    return _Within(panel, x, y, n_units)


def _t_critical(level: float, dof: int) -> float:
    return float(special.stdtrit(dof, 0.5 + level / 2.0))


def _fieller(a: FloatArray, h: FloatArray, t_crit: float) -> tuple[float, float]:
    """The correlations rho whose one-sample t-test of mean(a - rho h) = 0 is not rejected:
    the roots of (A - rho H)^2 = k sum((a~ - rho h~)^2), k = t^2 G/(G-1) (Fieller 1954)."""
    g = a.size
    k = t_crit * t_crit * g / (g - 1)
    big_a, big_h = float(a.sum()), float(h.sum())
    ac, hc = a - a.mean(), h - h.mean()
    quad = big_h * big_h - k * float(hc @ hc)
    lin = big_a * big_h - k * float(ac @ hc)
    const = big_a * big_a - k * float(ac @ ac)
    disc = lin * lin - quad * const
    if quad <= 0.0 or disc < 0.0:
        return -1.0, 1.0  # the data cannot bound the correlation at this level
    root = math.sqrt(disc)
    low, high = (lin - root) / quad, (lin + root) / quad
    return max(low, -1.0), min(high, 1.0)


def _lag(within: _Within, lag: int, level: float) -> WithinUnitLag:
    xs, ys, codes = within.pairs(lag)
    sxy, sxx, syy = float(xs @ ys), float(xs @ xs), float(ys @ ys)
    present = np.zeros(within.n_units, dtype=bool)
    present[codes] = True
    clusters = int(np.count_nonzero(present))
    nan = math.nan
    if clusters < 3 or sxx <= 0.0 or syy <= 0.0:
        return WithinUnitLag(nan, nan, nan, nan, int(xs.size), "within-unit", lag, clusters, nan)
    r = float(np.clip(sxy / math.sqrt(sxx * syy), -1.0, 1.0))
    a = within.per_unit(xs * ys, codes)[present]
    b = within.per_unit(xs * xs, codes)[present]
    c = within.per_unit(ys * ys, codes)[present]
    # Unit u's share of the estimating equation A - rho sqrt(B C) = 0 is a_u - rho h_u.
    h = 0.5 * (b * math.sqrt(syy / sxx) + c * math.sqrt(sxx / syy))
    dof = clusters - 1
    centred = a - a.mean()
    spread = math.sqrt(float(centred @ centred) / dof)
    if spread <= 0.0:
        return WithinUnitLag(r, nan, nan, nan, int(xs.size), "within-unit", lag, clusters, nan)
    t_stat = float(a.mean()) / (spread / math.sqrt(clusters))
    p_value = float(2.0 * special.stdtr(dof, -abs(t_stat)))
    resid = a - r * h
    se = math.sqrt(clusters / dof * float((resid - resid.mean()) @ (resid - resid.mean())))
    se /= float(h.sum())
    low, high = _fieller(a, h, _t_critical(level, dof))
    return WithinUnitLag(r, p_value, low, high, int(xs.size), "within-unit", lag, clusters, se)


def within_unit_lags(
    unit: ArrayLike,
    period: ArrayLike,
    predictor: ArrayLike,
    outcome: ArrayLike,
    *,
    max_lag: int,
    confidence_level: float = 0.95,
) -> tuple[WithinUnitLag, ...]:
    """Within-unit correlation of predictor and outcome at every lag, units as clusters.

    Parameters
    ----------
    unit : array_like
        1-D unit label of each row.
    period : array_like
        1-D integer period index of each row (one row per unit and period).
    predictor, outcome : array_like
        1-D values of each row; rows with a missing value are dropped.
    max_lag : int
        Largest lag, in periods (at least 0).
    confidence_level : float, default 0.95
        Confidence level of the intervals, strictly between 0 and 1.

    Returns
    -------
    tuple of WithinUnitLag
        One result per lag from -max_lag to +max_lag with ``r``, ``p_value``, ``ci_low``,
        ``ci_high``, ``n`` (pairs), ``lag``, ``n_units`` (units with a pair) and ``se``.
        A lag with fewer than 3 units or no within-unit variation has NaN statistics.

    Raises
    ------
    ValueError
        Mismatched lengths, a non-integer period, a duplicated (unit, period) row, a
        negative ``max_lag`` or a bad confidence_level.

    See Also
    --------
    lead_lag_test : does the predictor or the outcome move first?
    lagged_correlations : the same pairs without centring and with independent-pair
        intervals.

    Notes
    -----
    Each variable is centred on its unit's mean over the unit's complete rows, which
    removes stable differences between units (as in the repeated-measures correlation of
    Bakdash & Marusich 2017 [1]_, which equals lag 0 here). For lag k the predictor at
    (unit, t) is paired with the outcome at (unit, t + k) (k > 0: the predictor leads) and
    r_k = sum(x y) / sqrt(sum(x^2) sum(y^2)) over the pairs. Its standard error is the
    cluster-robust (sandwich) one of the linearised statistic, units as clusters:
    psi_u = a_u / sqrt(B C) - r/2 (b_u / B + c_u / C) with a_u, b_u, c_u the unit's sums
    of x y, x^2, y^2 and A, B, C their totals, Var(r) = G/(G-1) sum(psi_u^2) over the G
    units with a pair (Liang & Zeger 1986 [2]_; the G/(G-1) factor and the t reference
    on G-1 df follow Cameron & Miller 2015 [3]_). The interval is formed on Fisher's z
    scale (se_z = se / (1 - r^2)) and the p-value is that of z / se_z on G-1 df, so the
    interval excludes 0 exactly when p < 1 - confidence_level.

    References
    ----------
    .. [1] Bakdash, J. Z. & Marusich, L. R. (2017). Repeated measures correlation.
       Front. Psychol. 8:456.
    .. [2] Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using
       generalized linear models. Biometrika 73:13-22.
    .. [3] Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to
       cluster-robust inference. J. Hum. Resour. 50:317-372.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> unit = ["a"] * 4 + ["b"] * 4 + ["c"] * 4 + ["d"] * 4
    >>> period = [1, 2, 3, 4] * 4
    >>> x = [60, 70, 55, 65, 50, 58, 66, 52, 71, 64, 69, 75, 40, 48, 45, 41]
    >>> y = [3.5, 3.9, 4.3, 3.6, 3.8, 3.4, 3.7, 4.0, 4.1, 4.4, 4.0, 4.2, 3.0, 3.1, 3.6, 3.3]
    >>> lags = ps.within_unit_lags(unit, period, x, y, max_lag=1)
    >>> [(res.lag, res.n, res.n_units, round(res.r, 3)) for res in lags]
    [(-1, 12, 4, -0.489), (0, 16, 4, -0.313), (1, 12, 4, 0.881)]
    """
    level = check_confidence_level(confidence_level)
    lag_max = check_positive_int("max_lag", max_lag, minimum=0)
    within = _within(unit, period, predictor, outcome)
    return tuple(_lag(within, lag, level) for lag in range(-lag_max, lag_max + 1))


def lead_lag_test(
    unit: ArrayLike,
    period: ArrayLike,
    predictor: ArrayLike,
    outcome: ArrayLike,
    *,
    max_lag: int = 1,
    confidence_level: float = 0.95,
) -> LeadLagResult:
    """Does the predictor move first, or the outcome? A test of forward minus backward.

    Parameters
    ----------
    unit : array_like
        1-D unit label of each row.
    period : array_like
        1-D integer period index of each row (one row per unit and period).
    predictor, outcome : array_like
        1-D values of each row; rows with a missing value are dropped.
    max_lag : int, default 1
        Lags 1..max_lag are compared in both directions (at least 1).
    confidence_level : float, default 0.95
        Confidence level of the interval of the difference.

    Returns
    -------
    LeadLagResult
        ``forward`` (predictor leads) and ``backward`` (outcome leads) within-unit
        correlations averaged over lags 1..max_lag, their ``difference`` with ``se``,
        ``ci_low``, ``ci_high`` and two-sided ``p_value``, ``n_units``, ``n_pairs``.
        NaN when fewer than 3 units have a pair or nothing varies within units.

    Raises
    ------
    ValueError
        Mismatched lengths, a non-integer period, a duplicated (unit, period) row,
        ``max_lag`` < 1 or a bad confidence_level.

    Notes
    -----
    Values are centred on their unit's mean (stable differences between units say nothing
    about order in time). With s_x^2 and s_y^2 the pooled within-unit variances and
    m_k = (n_k + n_-k)/2 the mean number of pairs at lags +/-k, unit u contributes

        d_u = (1/L) sum_k [sum_{pairs +k of u} x y - sum_{pairs -k of u} x y] / (m_k s_x s_y)

    and the statistic is D = sum_u d_u = forward - backward. Reversing time within a unit
    swaps its +k and -k pairs and leaves its centred values unchanged, so d_u becomes -d_u.
    When neither series leads (e.g. both move in the same month, with any autocorrelation
    of either), the joint process is time-reversible and each d_u is symmetric about 0:
    a test of E[D] = 0 then needs no model of the dynamics. This is the idea of
    time-reversal tests of causal order (Ramsey & Rothman 1996 [1]_; cross-lagged
    correlations compared in both directions, Kenny 1975 [2]_), with units as independent
    clusters. The standard error is that of a sum of independent cluster terms,
    se^2 = G/(G-1) sum (d_u - D/G)^2 over the G units with a pair, and D/se is referred to
    Student's t on G-1 df, which is conservative for symmetric, independent terms
    (Efron 1969 [3]_). Unlike fixed-effects cross-lagged regressions, the test carries no
    Nickell (1981) bias: centring changes both directions alike.

    References
    ----------
    .. [1] Ramsey, J. B. & Rothman, P. (1996). Time irreversibility and business cycle
       asymmetry. J. Money Credit Bank. 28:1-21.
    .. [2] Kenny, D. A. (1975). Cross-lagged panel correlation: a test for spuriousness.
       Psychol. Bull. 82:887-903.
    .. [3] Efron, B. (1969). Student's t-test under symmetry conditions. JASA
       64:1278-1302.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> unit = ["a"] * 4 + ["b"] * 4 + ["c"] * 4 + ["d"] * 4
    >>> period = [1, 2, 3, 4] * 4
    >>> x = [60, 70, 55, 65, 50, 58, 66, 52, 71, 64, 69, 75, 40, 48, 45, 41]
    >>> y = [3.5, 3.9, 4.3, 3.6, 3.8, 3.4, 3.7, 4.0, 4.1, 4.4, 4.0, 4.2, 3.0, 3.1, 3.6, 3.3]
    >>> res = ps.lead_lag_test(unit, period, x, y)
    >>> round(res.forward, 3), round(res.backward, 3), res.n_units
    (0.961, -0.551, 4)
    >>> round(res.difference, 3), round(res.p_value, 3)
    (1.512, 0.027)
    """
    level = check_confidence_level(confidence_level)
    lag_max = check_positive_int("max_lag", max_lag, minimum=1)
    within = _within(unit, period, predictor, outcome)
    complete = ~np.isnan(within.x)
    rows = int(np.count_nonzero(complete))
    scale = math.sqrt(
        float(np.nansum(within.x**2)) / max(rows, 1) * float(np.nansum(within.y**2)) / max(rows, 1)
    )
    d = np.zeros(within.n_units)
    forward = backward = 0.0
    used_lags = 0
    involved = np.zeros(within.n_units, dtype=bool)
    pairs = 0
    for k in range(1, lag_max + 1):
        fx, fy, fcodes = within.pairs(k)
        bx, by, bcodes = within.pairs(-k)
        m = (fx.size + bx.size) / 2.0
        if m == 0 or scale == 0.0:
            continue
        used_lags += 1
        pairs += fx.size + bx.size
        involved[fcodes] = True
        involved[bcodes] = True
        f_unit = within.per_unit(fx * fy, fcodes) / (m * scale)
        b_unit = within.per_unit(bx * by, bcodes) / (m * scale)
        d += f_unit - b_unit
        forward += float(f_unit.sum())
        backward += float(b_unit.sum())
    clusters = int(np.count_nonzero(involved))
    nan = math.nan
    if used_lags == 0 or clusters < 3:
        return LeadLagResult(nan, nan, nan, nan, nan, nan, nan, clusters, pairs, lag_max)
    d, forward, backward = d[involved] / used_lags, forward / used_lags, backward / used_lags
    difference = float(d.sum())
    centred = d - difference / clusters
    se = math.sqrt(clusters / (clusters - 1) * float(centred @ centred))
    if se <= 0.0:
        return LeadLagResult(
            forward, backward, difference, se, nan, nan, nan, clusters, pairs, lag_max
        )
    dof = clusters - 1
    t_crit = _t_critical(level, dof)
    p_value = float(2.0 * special.stdtr(dof, -abs(difference / se)))
    return LeadLagResult(
        forward=forward,
        backward=backward,
        difference=difference,
        se=se,
        ci_low=difference - t_crit * se,
        ci_high=difference + t_crit * se,
        p_value=p_value,
        n_units=clusters,
        n_pairs=pairs,
        max_lag=lag_max,
    )
