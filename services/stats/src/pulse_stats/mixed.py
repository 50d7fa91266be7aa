"""A random-intercept (multilevel) regression of respondents' answers on a unit-level
predictor, fitted by REML from per-unit sufficient statistics: every unit weighs by the
precision of its mean, so a unit of 3 customers no longer counts as much as one of 300."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special

from pulse_stats._validation import (
    FloatArray,
    as_float_vector,
    check_confidence_level,
    check_min_n,
    check_not_constant,
    check_same_length,
)
from pulse_stats.results import RandomInterceptResult

__all__ = ["random_intercept_regression"]

_LOG_LAMBDA = (-18.0, 12.0)  # search range of log(tau^2 / sigma^2)


class _Reml:
    """The REML criterion profiled over sigma^2, as a function of lambda = tau^2/sigma^2."""

    def __init__(self, n: FloatArray, means: FloatArray, within_ss: float, x: FloatArray):
        self.n, self.means, self.within_ss = n, means, within_ss
        self.design = np.column_stack([np.ones_like(x), x])
        self.dof_total = float(n.sum()) - self.design.shape[1]

    def fit(self, lam: float) -> tuple[FloatArray, FloatArray, float]:
        """(beta, (X'V^-1 X)^-1, sigma^2) for a given lambda."""
        weights = 1.0 / (1.0 / self.n + lam)
        xtwx = self.design.T @ (self.design * weights[:, np.newaxis])
        inverse = np.asarray(np.linalg.inv(xtwx), dtype=np.float64)
        beta = inverse @ (self.design.T @ (weights * self.means))
        resid = self.means - self.design @ beta
        sigma2 = (self.within_ss + float(weights @ (resid * resid))) / self.dof_total
        return np.asarray(beta, dtype=np.float64), inverse, float(sigma2)

    def criterion(self, log_lam: float) -> float:
        return float(self.criteria(np.array([log_lam]))[0])

    def criteria(self, log_lams: FloatArray) -> FloatArray:
        """-2 x the profiled REML log-likelihood (up to a constant) for many lambdas."""
        lam = np.exp(log_lams)[:, np.newaxis]
        w = 1.0 / (1.0 / self.n[np.newaxis, :] + lam)  # lambdas x units
        x, y = self.design[:, 1], self.means
        s0, s1, s2 = w.sum(axis=1), w @ x, w @ (x * x)
        t0, t1 = w @ y, w @ (x * y)
        det = s0 * s2 - s1 * s1
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (s0 * t1 - s1 * t0) / det
            intercept = (t0 - slope * s1) / s0
            resid = y[np.newaxis, :] - intercept[:, np.newaxis] - slope[:, np.newaxis] * x
            sigma2 = (self.within_ss + np.sum(w * resid * resid, axis=1)) / self.dof_total
            value = (
                self.dof_total * np.log(sigma2)
                + np.sum(np.log1p(lam * self.n[np.newaxis, :]), axis=1)
                + np.log(det)
            )
        return np.asarray(np.where((det > 0) & (sigma2 > 0), value, np.inf))


def _best_log_lambda(reml: _Reml) -> float:
    grid = np.linspace(*_LOG_LAMBDA, 61)
    values = reml.criteria(grid)
    i = int(np.argmin(values))
    if i == 0:
        return float(grid[0])  # tau^2 at (numerically) zero: the boundary
    high = float(grid[min(i + 1, grid.size - 1)])
    found = optimize.minimize_scalar(
        reml.criterion,
        bounds=(float(grid[i - 1]), high),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(found.x)


def random_intercept_regression(
    n: ArrayLike,
    sums: ArrayLike,
    sums_of_squares: ArrayLike,
    x: ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> RandomInterceptResult:
    """Slope of a unit-level predictor in a random-intercept model, from unit summaries.

    Parameters
    ----------
    n : array_like
        1-D respondents per unit (positive integers).
    sums, sums_of_squares : array_like
        1-D sum and sum of squares of the respondents' answers in each unit.
    x : array_like
        1-D unit-level predictor (e.g. the unit's mean employee score).
    confidence_level : float, default 0.95
        Confidence level of the slope's interval, strictly between 0 and 1.

    Returns
    -------
    RandomInterceptResult
        ``slope`` with ``se``, ``ci_low``, ``ci_high``, ``p_value`` (t on ``dof`` =
        units - 2), ``intercept``, ``between_variance`` (tau^2), ``within_variance``
        (sigma^2), ``n_units`` and ``n_obs``.

    Raises
    ------
    ValueError
        Mismatched lengths, missing values, non-positive or non-integer ``n``,
        ``sums_of_squares`` below ``sums**2 / n``, fewer than 3 units, no within-unit
        degrees of freedom, a constant ``x`` or a bad confidence_level.

    Notes
    -----
    Model: y_ij = b0 + b1 x_j + u_j + e_ij with u_j ~ N(0, tau^2), e_ij ~ N(0, sigma^2)
    (Raudenbush & Bryk 2002 [1]_, ch. 4, "means as outcomes"). The likelihood depends on
    the data only through n_j, the unit means and the pooled within-unit sum of squares W:
    with lambda = tau^2 / sigma^2 and v_j = 1/n_j + lambda, the unit mean has variance
    sigma^2 v_j, and the restricted (REML) log-likelihood (Patterson & Thompson 1971 [2]_;
    Harville 1977 [3]_), profiled over sigma^2, is up to a constant

        -1/2 [(N - p) log s^2(lambda) + sum_j log(1 + lambda n_j) + log |X' V^-1 X|],

    s^2(lambda) = (W + sum_j (ybar_j - x_j' b)^2 / v_j) / (N - p), with b the generalised
    least-squares estimate given lambda. It is maximised over log(lambda) by a grid and
    Brent's bounded search; the slope's covariance is s^2 (X' V^-1 X)^-1 and its test is
    Student's t on J - 2 df (Raudenbush & Bryk 2002, ch. 3). The fit equals
    ``statsmodels`` ``MixedLM(y, [1, x], groups).fit(reml=True)`` on the respondents'
    answers. When tau^2 is near 0 the weights approach n_j (pooled OLS); when it is large
    they approach equality (the regression of unit means).

    References
    ----------
    .. [1] Raudenbush, S. W. & Bryk, A. S. (2002). *Hierarchical Linear Models*, 2nd ed.
       Sage.
    .. [2] Patterson, H. D. & Thompson, R. (1971). Recovery of inter-block information
       when block sizes are unequal. Biometrika 58:545-554.
    .. [3] Harville, D. A. (1977). Maximum likelihood approaches to variance component
       estimation and to related problems. JASA 72:320-338.

    Examples
    --------
    Five units summarised as (n_j, sum_j, sum of squares_j) of their customers' answers:

    >>> import pulse_stats as ps
    >>> res = ps.random_intercept_regression(
    ...     [4, 6, 3, 8, 5], [14, 24, 9, 36, 17], [52, 100, 29, 166, 61], [55, 70, 50, 80, 60]
    ... )
    >>> round(res.slope, 4), res.dof, res.n_obs
    (0.0473, 3, 26)
    """
    level = check_confidence_level(confidence_level)
    na = as_float_vector("n", n)
    sa = as_float_vector("sums", sums)
    qa = as_float_vector("sums_of_squares", sums_of_squares)
    xa = as_float_vector("x", x)
    check_same_length(n=na, sums=sa, sums_of_squares=qa, x=xa)
    if np.isnan(na).any() or np.isnan(sa).any() or np.isnan(qa).any() or np.isnan(xa).any():
        raise ValueError("n, sums, sums_of_squares and x must not contain missing values")
    if (na < 1).any() or (na != np.round(na)).any():
        raise ValueError("n must contain positive integer group sizes")
    units = na.shape[0]
    check_min_n(units, 3, "units for a random-intercept regression")
    total = float(na.sum())
    check_min_n(int(total) - units, 1, "within-unit degrees of freedom (N - units)")
    check_not_constant("x", xa)
    centre = float(sa.sum()) / total  # centring keeps the sums of squares precise
    sums_c = sa - na * centre
    squares_c = qa - 2.0 * centre * sa + na * centre * centre
    within = squares_c - sums_c * sums_c / na
    if (within < -1e-9 * np.maximum(np.abs(qa), 1.0)).any():
        raise ValueError("sums_of_squares is smaller than sums**2 / n for some unit")
    reml = _Reml(na, sums_c / na, float(np.maximum(within, 0.0).sum()), xa)
    lam = math.exp(_best_log_lambda(reml))
    beta, inverse, sigma2 = reml.fit(lam)
    se = math.sqrt(sigma2 * float(inverse[1, 1]))
    dof = units - 2
    slope = float(beta[1])
    t_crit = float(special.stdtrit(dof, 0.5 + level / 2.0))
    p_value = float(2.0 * special.stdtr(dof, -abs(slope / se))) if se > 0 else 0.0
    return RandomInterceptResult(
        slope=slope,
        se=se,
        ci_low=slope - t_crit * se,
        ci_high=slope + t_crit * se,
        p_value=p_value,
        dof=dof,
        intercept=float(beta[0]) + centre,
        between_variance=lam * sigma2,
        within_variance=sigma2,
        n_units=units,
        n_obs=int(total),
    )
