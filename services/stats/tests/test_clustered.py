"""Within-unit lagged correlations with units as clusters, and the lead-lag test: agreement
with independent computations (numpy centring, scipy's one-sample t-test, rmcorr), exact
time-reversal antisymmetry, and their error rates on simulated panels."""

from __future__ import annotations

import math

import numpy as np
import pulse_stats as ps
import pytest
from scipy import stats


def _panel(
    rng: np.random.Generator, units: int, periods: int, link: str = "none", r: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit levels plus AR(1) deviations; the outcome follows the predictor by ``link``."""
    steps = periods + 1
    x = np.empty((units, steps))
    noise = np.empty((units, steps))
    x[:, 0], noise[:, 0] = rng.standard_normal(units), rng.standard_normal(units)
    for t in range(1, steps):
        x[:, t] = 0.5 * x[:, t - 1] + math.sqrt(0.75) * rng.standard_normal(units)
        noise[:, t] = 0.5 * noise[:, t - 1] + math.sqrt(0.75) * rng.standard_normal(units)
    y = noise.copy()
    if link == "concurrent":
        y = r * x + math.sqrt(1 - r * r) * noise
    elif link == "leading":
        y[:, 1:] = r * x[:, :-1] + math.sqrt(1 - r * r) * noise[:, 1:]
    level_x, level_y = rng.standard_normal((2, units, 1))
    x = x + level_x + 0.3 * rng.standard_normal(x.shape)  # measurement noise
    y = y + level_y + 0.3 * rng.standard_normal(y.shape)
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    return unit, period, x[:, 1:].ravel(), y[:, 1:].ravel()


def _centred(unit: np.ndarray, values: np.ndarray) -> np.ndarray:
    means = {u: values[unit == u].mean() for u in np.unique(unit)}
    return np.array([v - means[u] for u, v in zip(unit, values, strict=True)])


def test_within_unit_lags_equal_an_independent_computation() -> None:
    rng = np.random.default_rng(1)
    unit, period, x, y = _panel(rng, 25, 6, "leading")
    keep = rng.random(x.size) > 0.1  # missing cells
    unit, period, x, y = unit[keep], period[keep], x[keep], y[keep]
    lags = ps.within_unit_lags(unit, period, x, y, max_lag=2)
    xc, yc = _centred(unit, x), _centred(unit, y)
    cell = {(u, t): i for i, (u, t) in enumerate(zip(unit, period, strict=True))}
    for res in lags:
        pairs = [
            (i, cell[(u, t + res.lag)]) for (u, t), i in cell.items() if (u, t + res.lag) in cell
        ]
        xs = np.array([xc[i] for i, _ in pairs])
        ys = np.array([yc[j] for _, j in pairs])
        assert res.r == pytest.approx(xs @ ys / math.sqrt((xs @ xs) * (ys @ ys)), abs=1e-12)
        assert res.n == len(pairs)
        # The test is Student's one-sample t-test of the units' sums of cross-products.
        owner = np.array([unit[i] for i, _ in pairs])
        sums = [float(np.sum(xs[owner == u] * ys[owner == u])) for u in np.unique(owner)]
        assert res.n_units == len(sums)
        assert res.p_value == pytest.approx(stats.ttest_1samp(sums, 0.0).pvalue, abs=1e-12)
        assert (res.ci_low > 0 or res.ci_high < 0) == (res.p_value < 0.05)
        assert res.ci_low <= res.r <= res.ci_high
    same_period = next(res for res in lags if res.lag == 0)
    rm = ps.repeated_measures_correlation(unit, x, y)
    assert same_period.r == pytest.approx(rm.r, abs=1e-12)


def test_the_interval_inverts_the_test() -> None:
    # At each end of the interval, the t-test of the units' a_u - rho h_u sits exactly at
    # the critical value (Fieller's construction).
    rng = np.random.default_rng(2)
    unit, period, x, y = _panel(rng, 15, 5, "concurrent")
    res = ps.within_unit_lags(unit, period, x, y, max_lag=0)[0]
    xc, yc = _centred(unit, x), _centred(unit, y)
    sxx, syy = float(xc @ xc), float(yc @ yc)
    a = np.array([xc[unit == u] @ yc[unit == u] for u in range(15)])
    b = np.array([xc[unit == u] @ xc[unit == u] for u in range(15)])
    c = np.array([yc[unit == u] @ yc[unit == u] for u in range(15)])
    h = 0.5 * (b * math.sqrt(syy / sxx) + c * math.sqrt(sxx / syy))
    t_crit = stats.t.ppf(0.975, 14)
    for end in (res.ci_low, res.ci_high):
        assert abs(stats.ttest_1samp(a - end * h, 0.0).statistic) == pytest.approx(t_crit)


def test_lead_lag_reverses_sign_when_time_runs_backwards() -> None:
    rng = np.random.default_rng(3)
    unit, period, x, y = _panel(rng, 20, 8, "leading", r=0.6)
    forward = ps.lead_lag_test(unit, period, x, y, max_lag=2)
    backward = ps.lead_lag_test(unit, -period, x, y, max_lag=2)
    assert forward.difference > 0
    assert forward.p_value < 0.05
    assert backward.difference == pytest.approx(-forward.difference, abs=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, abs=1e-12)
    assert (backward.forward, backward.backward) == pytest.approx(
        (forward.backward, forward.forward), abs=1e-12
    )
    assert forward.ci_low <= forward.difference <= forward.ci_high
    assert forward.n_units == 20
    assert forward.max_lag == 2


def test_lead_lag_is_a_t_test_of_the_units_contributions() -> None:
    rng = np.random.default_rng(4)
    unit, period, x, y = _panel(rng, 12, 6, "leading")
    res = ps.lead_lag_test(unit, period, x, y, max_lag=1)
    xc, yc = _centred(unit, x), _centred(unit, y)
    scale = math.sqrt(np.mean(xc * xc) * np.mean(yc * yc))
    contributions = []
    for u in range(12):
        xs, ys = xc[unit == u], yc[unit == u]  # periods 0..5 in order
        contributions.append(float(xs[:-1] @ ys[1:] - ys[:-1] @ xs[1:]))
    pairs = 12 * 5
    d = np.array(contributions) / (pairs * scale)
    assert res.difference == pytest.approx(d.sum(), abs=1e-12)
    assert res.p_value == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue, abs=1e-12)


def test_error_rates_on_simulated_panels() -> None:
    """Concurrent links must not look like a direction, nor independent series like a link
    (units' months are correlated, which independent-pair tests ignore)."""
    rng = np.random.default_rng(5)
    direction, link = 0, 0
    replicates = 300
    for _ in range(replicates):
        unit, period, x, y = _panel(rng, 30, 8, "concurrent")
        direction += ps.lead_lag_test(unit, period, x, y, max_lag=1).p_value < 0.05
        unit, period, x, y = _panel(rng, 30, 8, "none")
        lag = ps.within_unit_lags(unit, period, x, y, max_lag=1)[2]
        link += lag.p_value < 0.05
    # Nominal 5 %; 3 Monte-Carlo standard errors above it is 8.8 %.
    assert direction / replicates <= 0.088
    assert link / replicates <= 0.088


def test_undefined_and_invalid_inputs() -> None:
    few = ps.within_unit_lags(
        [1, 1, 2, 2], [1, 2, 1, 2], [1.0, 2.0, 3.0, 5.0], [2.0, 1.0, 4.0, 3.0], max_lag=1
    )
    assert all(math.isnan(res.r) and res.n_units < 3 for res in few if res.lag != 0)
    assert math.isnan(few[1].p_value)  # 2 units: no interval, no test
    none = ps.lead_lag_test([1, 1, 2, 2], [1, 2, 1, 2], [1.0, 2.0, 3.0, 5.0], [2.0, 1.0, 4.0, 3.0])
    assert math.isnan(none.p_value)
    assert none.n_units == 2
    with pytest.raises(ValueError, match="max_lag"):
        ps.lead_lag_test([1, 2], [1, 2], [1.0, 2.0], [1.0, 2.0], max_lag=0)
    with pytest.raises(ValueError, match="duplicated"):
        ps.within_unit_lags([1, 1], [1, 1], [1.0, 2.0], [1.0, 2.0], max_lag=0)
    with pytest.raises(ValueError, match="confidence_level"):
        ps.within_unit_lags([1, 2], [1, 2], [1.0, 2.0], [1.0, 2.0], max_lag=0, confidence_level=1)
