"""Panel (unit x period) analyses: lagged correlations and cross-lagged regressions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pulse_stats._core import METHODS, MIN_N, estimate, fisher_interval, z_standard_error
from pulse_stats._validation import (
    FloatArray,
    as_float_vector,
    as_labels,
    check_confidence_level,
    check_method,
    check_min_n,
    check_positive_int,
    check_same_length,
    encode_labels,
)
from pulse_stats.correlation import Method
from pulse_stats.results import CrossLaggedCoefficient, CrossLaggedResult, LaggedCorrelation

__all__ = ["cross_lagged", "lagged_correlations"]


@dataclass(frozen=True)
class _Panel:
    codes: NDArray[np.intp]
    periods: NDArray[np.int64]
    predictor: FloatArray
    outcome: FloatArray
    keys: NDArray[np.int64]  # sorted composite (unit, period) keys
    order: NDArray[np.intp]  # row index of each sorted key
    span: int
    first: int
    # Row of each composite key, -1 where no row (when units x span is not much larger
    # than the rows): a lookup in place of a binary search, same answer.
    grid: NDArray[np.intp] | None

    def partner(self, shift: int) -> NDArray[np.intp]:
        """Row holding (same unit, period + shift) for every row, or -1 if absent."""
        target = self.periods + shift
        valid = (target >= self.first) & (target < self.first + self.span)
        wanted = self.codes.astype(np.int64) * self.span + (target - self.first)
        if self.grid is not None:
            found_row = self.grid[np.where(valid, wanted, 0)]
            return np.where(valid, found_row, -1).astype(np.intp)
        pos = np.searchsorted(self.keys, wanted)
        pos = np.minimum(pos, self.keys.size - 1)
        found = valid & (self.keys[pos] == wanted)
        return np.where(found, self.order[pos], -1).astype(np.intp)


# A dense (unit, period) grid is used when it has at most this many cells per row (any
# grid of up to 1,024 cells too); else each partner is found by binary search.
_GRID_CELLS_PER_ROW = 8


def _panel(unit: ArrayLike, period: ArrayLike, predictor: ArrayLike, outcome: ArrayLike) -> _Panel:
    labels, missing_label = as_labels("unit", unit)
    per = as_float_vector("period", period)
    x = as_float_vector("predictor", predictor)
    y = as_float_vector("outcome", outcome)
    check_same_length(unit=labels, period=per, predictor=x, outcome=y)
    keep = ~missing_label & ~np.isnan(per)
    labels, per, x, y = labels[keep], per[keep], x[keep], y[keep]
    check_min_n(per.shape[0], 1, "rows with a unit and a period")
    if (per != np.round(per)).any():
        raise ValueError("period must contain whole numbers (an integer period index)")
    periods = per.astype(np.int64)
    _, codes = encode_labels("unit", labels)
    first = int(periods.min())
    span = int(periods.max()) - first + 1
    keys = codes.astype(np.int64) * span + (periods - first)
    order = np.argsort(keys, kind="stable").astype(np.intp)
    sorted_keys = keys[order]
    if (np.diff(sorted_keys) == 0).any():
        raise ValueError("unit and period contain a duplicated (unit, period) row")
    cells = (int(codes.max()) + 1) * span
    grid = None
    if cells <= _GRID_CELLS_PER_ROW * keys.size + 1024:
        grid = np.full(cells, -1, dtype=np.intp)
        grid[keys] = np.arange(keys.size, dtype=np.intp)
    return _Panel(codes, periods, x, y, sorted_keys, order, span, first, grid)


def lagged_correlations(
    unit: ArrayLike,
    period: ArrayLike,
    predictor: ArrayLike,
    outcome: ArrayLike,
    *,
    max_lag: int,
    method: Method = "pearson",
    confidence_level: float = 0.95,
) -> tuple[LaggedCorrelation, ...]:
    """Correlation of predictor and outcome at every lag from -max_lag to +max_lag.

    Parameters
    ----------
    unit : array_like
        1-D unit label of each row.
    period : array_like
        1-D integer period index of each row (one row per unit and period).
    predictor, outcome : array_like
        1-D values of each row; pairs with a missing value are dropped.
    max_lag : int
        Largest lag, in periods (at least 0).
    method : {"pearson", "spearman", "kendall"}, default "pearson"
        Coefficient, as in :func:`pulse_stats.correlation`.
    confidence_level : float, default 0.95
        Confidence level of the intervals, strictly between 0 and 1.

    Returns
    -------
    tuple of LaggedCorrelation
        One result per lag from -max_lag to +max_lag, each with its ``lag`` and ``n``. A
        lag with too few pairs or constant values has NaN statistics.

    Raises
    ------
    ValueError
        Mismatched lengths, a non-integer period, a duplicated (unit, period) row, a
        negative ``max_lag``, or a bad method or confidence_level.

    See Also
    --------
    cross_lagged : inference on the direction of the association.

    Notes
    -----
    For lag k, predictor at (unit, t) is paired with outcome at (unit, t + k): k > 0 means
    the predictor leads, k < 0 the outcome leads, k = 0 is concurrent. Pairs are formed
    only within a unit and only when period t + k exists for that unit. Each lag is then a
    :func:`pulse_stats.correlation` of its pairs (the sample cross-correlation of Box &
    Jenkins 1976 [1]_, pooled over units). Pairs from the same unit are not independent,
    so p-values are optimistic when units contribute many periods; use
    :func:`cross_lagged` for inference on direction.

    References
    ----------
    .. [1] Box, G. E. P. & Jenkins, G. M. (1976). *Time Series Analysis: Forecasting and
       Control*, revised ed. Holden-Day.

    Examples
    --------
    Two units over four periods; the outcome follows the predictor one period later:

    >>> import pulse_stats as ps
    >>> unit = ["a"] * 4 + ["b"] * 4
    >>> period = [1, 2, 3, 4] * 2
    >>> predictor = [60, 70, 55, 65, 50, 58, 66, 52]
    >>> outcome = [3.5, 3.9, 4.3, 3.6, 3.8, 3.4, 3.7, 4.0]
    >>> lags = ps.lagged_correlations(unit, period, predictor, outcome, max_lag=1)
    >>> [(res.lag, res.n, round(res.r, 3)) for res in lags]
    [(-1, 6, -0.213), (0, 8, -0.276), (1, 6, 0.984)]
    """
    level = check_confidence_level(confidence_level)
    check_method(method, METHODS)
    lag_max = check_positive_int("max_lag", max_lag, minimum=0)
    panel = _panel(unit, period, predictor, outcome)
    results = []
    for lag in range(-lag_max, lag_max + 1):
        partner = panel.partner(lag)
        rows = np.flatnonzero(partner >= 0)
        xs = panel.predictor[rows]
        ys = panel.outcome[partner[rows]]
        ok = ~np.isnan(xs) & ~np.isnan(ys)
        xs, ys = xs[ok], ys[ok]
        n = int(xs.shape[0])
        defined = n >= MIN_N[method] and bool(np.ptp(xs) > 0) and bool(np.ptp(ys) > 0)
        if defined:
            r, p = estimate(method, xs, ys)
            low, high = fisher_interval(r, z_standard_error(method, r, n), level)
        else:
            r = p = low = high = math.nan
        results.append(LaggedCorrelation(r, p, low, high, n, method, lag))
    return tuple(results)


def _within(values: FloatArray, codes: NDArray[np.intp], n_units: int) -> FloatArray:
    counts = np.bincount(codes, minlength=n_units).astype(np.float64)
    means = np.bincount(codes, weights=values, minlength=n_units) / np.maximum(counts, 1.0)
    return np.asarray(values - means[codes], dtype=np.float64)


def _fe_slope(
    target: FloatArray,
    focal: FloatArray,
    control: FloatArray,
    codes: NDArray[np.intp],
    level: float,
    name: str,
) -> CrossLaggedCoefficient:
    """OLS slope of ``focal`` in target ~ focal + control + unit fixed effects."""
    n_units = int(codes.max()) + 1
    used_units = int(np.unique(codes).size)
    n = target.shape[0]
    dof = n - used_units - 2
    check_min_n(dof, 1, f"residual degrees of freedom for the {name} regression")
    design = np.column_stack([_within(focal, codes, n_units), _within(control, codes, n_units)])
    response = _within(target, codes, n_units)
    xtx = design.T @ design
    if np.linalg.cond(xtx) > 1e12:
        raise ValueError(
            f"{name}: lagged regressors have no within-unit variation or are collinear"
        )
    xtx_inv = np.linalg.inv(xtx)
    beta = xtx_inv @ (design.T @ response)
    resid = response - design @ beta
    sigma2 = float(resid @ resid) / dof
    se = math.sqrt(sigma2 * float(xtx_inv[0, 0]))
    est = float(beta[0])
    t_crit = float(stats.t.ppf(0.5 + level / 2.0, dof))
    p_value = float(2.0 * stats.t.sf(abs(est / se), dof)) if se > 0 else 0.0
    return CrossLaggedCoefficient(
        estimate=est,
        se=se,
        ci_low=est - t_crit * se,
        ci_high=est + t_crit * se,
        p_value=p_value,
        n=n,
        dof=dof,
    )


def cross_lagged(
    unit: ArrayLike,
    period: ArrayLike,
    predictor: ArrayLike,
    outcome: ArrayLike,
    *,
    fixed_effects: bool = True,
    confidence_level: float = 0.95,
) -> CrossLaggedResult:
    """Cross-lagged panel regressions with unit fixed effects.

    Parameters
    ----------
    unit : array_like
        1-D unit label of each row.
    period : array_like
        1-D integer period index of each row (one row per unit and period).
    predictor, outcome : array_like
        1-D values of each row; rows with a missing value are dropped.
    fixed_effects : bool, default True
        Unit fixed effects (within transformation); False fits pooled OLS with one common
        intercept.
    confidence_level : float, default 0.95
        Confidence level of the intervals, strictly between 0 and 1.

    Returns
    -------
    CrossLaggedResult
        ``predictor_to_outcome`` and ``outcome_to_predictor`` coefficients (estimate, se,
        interval, p-value, n, dof) and ``n_units``.

    Raises
    ------
    ValueError
        Mismatched lengths, a non-integer period, a duplicated (unit, period) row, fewer
        than 4 complete (t, t-1) rows, no residual degrees of freedom, regressors without
        within-unit variation, or a bad confidence_level.

    Notes
    -----
    Two OLS regressions on rows (unit, t) whose period t - 1 exists for the same unit:

    * outcome[t] = a_u + b * predictor[t-1] + c * outcome[t-1] + e
      -> ``predictor_to_outcome``
    * predictor[t] = a_u + b * outcome[t-1] + c * predictor[t-1] + e
      -> ``outcome_to_predictor``

    Unit intercepts a_u are removed by the within transformation (Wooldridge 2010 [1]_,
    ch. 10), which gives exactly the coefficients of OLS with unit dummies;
    dof = n - units - 2, classical (homoskedastic) standard errors, t-based interval and
    p-value. Caveat: with a lagged dependent variable and few periods per unit the
    fixed-effects estimate of the autoregressive term is biased (Nickell 1981 [2]_), which
    also affects the cross-lagged slopes; treat them as descriptive for short panels. In
    simulations with 5 usable periods (scripts/validate_stats.py) the fixed-effects test
    of a path that does not exist rejected far more often than 5%;
    ``fixed_effects=False`` (dof = n - 3) is unbiased when units have no stable
    differences in level but confounded when they do.

    References
    ----------
    .. [1] Wooldridge, J. M. (2010). *Econometric Analysis of Cross Section and Panel
       Data*, 2nd ed. MIT Press.
    .. [2] Nickell, S. (1981). Biases in dynamic models with fixed effects. Econometrica
       49:1417-1426.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> unit = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    >>> period = [1, 2, 3, 4] * 3
    >>> predictor = [60, 70, 55, 65, 50, 58, 66, 52, 71, 64, 69, 75]
    >>> outcome = [3.5, 3.9, 4.3, 3.6, 3.8, 3.4, 3.7, 4.0, 4.1, 4.4, 4.0, 4.2]
    >>> res = ps.cross_lagged(unit, period, predictor, outcome)
    >>> path = res.predictor_to_outcome
    >>> round(path.estimate, 4), path.n, path.dof, res.n_units
    (0.0414, 9, 4, 3)
    """
    level = check_confidence_level(confidence_level)
    panel = _panel(unit, period, predictor, outcome)
    previous = panel.partner(-1)
    rows = np.flatnonzero(previous >= 0)
    prev = previous[rows]
    x_now, y_now = panel.predictor[rows], panel.outcome[rows]
    x_lag, y_lag = panel.predictor[prev], panel.outcome[prev]
    ok = ~(np.isnan(x_now) | np.isnan(y_now) | np.isnan(x_lag) | np.isnan(y_lag))
    codes = panel.codes[rows][ok]
    n_units = int(np.unique(codes).size)
    if not fixed_effects:
        codes = np.zeros_like(codes)
    x_now, y_now, x_lag, y_lag = x_now[ok], y_now[ok], x_lag[ok], y_lag[ok]
    check_min_n(int(codes.size), 4, "complete (t, t-1) rows for cross-lagged regressions")
    forward = _fe_slope(y_now, x_lag, y_lag, codes, level, "predictor_to_outcome")
    backward = _fe_slope(x_now, y_lag, x_lag, codes, level, "outcome_to_predictor")
    return CrossLaggedResult(
        predictor_to_outcome=forward,
        outcome_to_predictor=backward,
        n_units=n_units,
    )
