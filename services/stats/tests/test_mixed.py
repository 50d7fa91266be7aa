"""The random-intercept (multilevel) regression from unit summaries against statsmodels
MixedLM on the respondents' answers, and its limiting cases."""

from __future__ import annotations

import warnings

import numpy as np
import pulse_stats as ps
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.tools import add_constant


def _study(seed: int, units: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.integers(2, 40, units)
    x = rng.normal(60, 10, units)
    unit = np.repeat(np.arange(units), n)
    y = 3 + 0.03 * x[unit] + rng.normal(0, 0.5, units)[unit] + rng.normal(0, 1, n.sum())
    return n, x, unit, y


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_equals_statsmodels_mixedlm_reml(seed: int) -> None:
    n, x, unit, y = _study(seed)
    sums = np.bincount(unit, weights=y)
    squares = np.bincount(unit, weights=y * y)
    res = ps.random_intercept_regression(n, sums, squares, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MixedLM(y, add_constant(x[unit]), groups=unit).fit(
            reml=True, method="bfgs", gtol=1e-12, maxiter=2000
        )
    assert res.intercept == pytest.approx(fit.fe_params[0], rel=1e-6)
    assert res.slope == pytest.approx(fit.fe_params[1], rel=1e-6)
    assert res.between_variance == pytest.approx(float(np.ravel(fit.cov_re)[0]), rel=1e-6)
    assert res.within_variance == pytest.approx(fit.scale, rel=1e-6)
    # Standard error: the GLS covariance sigma^2 (X' V^-1 X)^-1 at the REML estimates (what
    # nlme / lme4 report), built here from the respondents' full covariance matrix.
    design = add_constant(x[unit])
    info = np.zeros((2, 2))
    for u in range(n.size):
        rows = design[unit == u]
        v = fit.scale * np.eye(rows.shape[0]) + float(np.ravel(fit.cov_re)[0])
        info += rows.T @ np.linalg.solve(v, rows)
    assert res.se == pytest.approx(np.sqrt(np.linalg.inv(info)[1, 1]), rel=1e-5)
    # statsmodels' own standard error uses the observed information: third digit.
    assert res.se == pytest.approx(fit.bse_fe[1], rel=5e-3)
    assert res.dof == n.size - 2
    assert res.n_obs == int(n.sum())


def test_equal_units_with_large_between_variance_give_the_regression_of_means() -> None:
    rng = np.random.default_rng(6)
    units, size = 30, 8
    x = rng.normal(0, 1, units)
    unit = np.repeat(np.arange(units), size)
    y = 0.4 * x[unit] + rng.normal(0, 2, units)[unit] + rng.normal(0, 1, unit.size)
    res = ps.random_intercept_regression(
        [size] * units, np.bincount(unit, weights=y), np.bincount(unit, weights=y * y), x
    )
    means = np.bincount(unit, weights=y) / size
    assert res.slope == pytest.approx(np.polyfit(x, means, 1)[0], rel=1e-9)


def test_no_between_variance_gives_pooled_least_squares() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(2, 30, 25)
    x = rng.normal(0, 1, 25)
    unit = np.repeat(np.arange(25), n)
    y = 0.2 * x[unit] + rng.normal(0, 1, unit.size)  # no unit effect at all
    res = ps.random_intercept_regression(
        n, np.bincount(unit, weights=y), np.bincount(unit, weights=y * y), x
    )
    # REML puts tau^2 on its boundary here (seed 7), where the weights are n_j.
    assert res.between_variance < 1e-6
    assert res.slope == pytest.approx(np.polyfit(x[unit], y, 1)[0], rel=1e-6)
    assert res.ci_low < res.slope < res.ci_high


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="need at least 3 units"):
        ps.random_intercept_regression([2, 3], [2.0, 3.0], [3.0, 5.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="x is constant"):
        ps.random_intercept_regression([2, 3, 2], [2.0, 3.0, 2.0], [3.0, 5.0, 3.0], [1, 1, 1])
    with pytest.raises(ValueError, match="within-unit degrees of freedom"):
        ps.random_intercept_regression([1, 1, 1], [2.0, 3.0, 2.0], [4.0, 9.0, 4.0], [1, 2, 3])
    with pytest.raises(ValueError, match="smaller than sums"):
        ps.random_intercept_regression([2, 2, 2], [2.0, 3.0, 2.0], [1.0, 9.0, 4.0], [1, 2, 3])
