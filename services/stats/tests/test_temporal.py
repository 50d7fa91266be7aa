"""Lagged correlations and cross-lagged fixed-effects regressions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pulse_stats as ps
import pytest
import statsmodels.formula.api as smf
from scipy import stats


def _panel(seed: int = 0, units: int = 12, periods: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        level = rng.normal()
        x_prev, y_prev = rng.normal(), rng.normal()
        for t in range(periods):
            x = 0.4 * x_prev + level + rng.normal()
            y = 0.3 * y_prev + 0.5 * x_prev + 0.5 * level + rng.normal()
            rows.append((f"unit{u}", t, x, y))
            x_prev, y_prev = x, y
    df = pd.DataFrame(rows, columns=["u", "t", "x", "y"])
    # gaps, a missing value and shuffled row order
    df = df.drop(index=[5, 30, 31]).reset_index(drop=True)
    df.loc[10, "y"] = np.nan
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


def _lag_frame(df: pd.DataFrame, lag: int) -> pd.DataFrame:
    shifted = df[["u", "t", "y"]].assign(t=df["t"] - lag)
    return df[["u", "t", "x"]].merge(shifted, on=["u", "t"]).dropna()


@pytest.mark.parametrize("far", [False, True])
def test_lagged_correlations_match_pandas_merge_and_scipy(far: bool) -> None:
    # Independent implementation: pair x(t) with y(t + k) by a pandas merge on (unit, t),
    # then scipy.stats.pearsonr. ``far``: one unit's periods a million later, so the
    # (unit, period) grid would be mostly empty and partners are found by binary search
    # instead of the dense lookup.
    df = _panel()
    if far:
        df.loc[df["u"] == "unit3", "t"] += 1_000_000
    results = ps.lagged_correlations(df["u"], df["t"], df["x"], df["y"], max_lag=3)
    assert [r.lag for r in results] == [-3, -2, -1, 0, 1, 2, 3]
    for res in results:
        pairs = _lag_frame(df, res.lag)
        ref = stats.pearsonr(pairs["x"], pairs["y"])
        assert res.n == len(pairs)
        assert res.r == pytest.approx(ref.statistic, rel=1e-12)
        assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert isinstance(res, ps.CorrelationResult)
    by_lag = {r.lag: r.r for r in results}
    assert by_lag[1] > by_lag[-1]  # x leads y in the generating process


def test_lag_with_too_few_pairs_is_nan_not_an_error() -> None:
    res = ps.lagged_correlations(
        [1, 1, 1, 1, 1], [0, 1, 2, 3, 4], [1.0, 2, 3, 5, 4], [2.0, 1, 4, 3, 5], max_lag=2
    )
    by_lag = {r.lag: r for r in res}
    assert by_lag[0].n == 5
    assert not math.isnan(by_lag[0].r)
    assert by_lag[2].n == 3
    assert math.isnan(by_lag[2].r)


def _ols_reference(df: pd.DataFrame, formula: str, term: str):  # type: ignore[no-untyped-def]
    prev = df[["u", "t", "x", "y"]].assign(t=df["t"] + 1).rename(columns={"x": "xl", "y": "yl"})
    data = df.merge(prev, on=["u", "t"]).dropna()
    fit = smf.ols(formula, data).fit()
    return fit, data


@pytest.mark.parametrize("fixed_effects", [True, False])
def test_cross_lagged_matches_statsmodels_ols(fixed_effects: bool) -> None:
    # Source: statsmodels OLS with unit dummies C(u) (or a common intercept when pooled).
    df = _panel(seed=3)
    res = ps.cross_lagged(df["u"], df["t"], df["x"], df["y"], fixed_effects=fixed_effects)
    fe = " + C(u)" if fixed_effects else ""
    for path, formula, term in (
        (res.predictor_to_outcome, f"y ~ xl + yl{fe}", "xl"),
        (res.outcome_to_predictor, f"x ~ yl + xl{fe}", "yl"),
    ):
        fit, data = _ols_reference(df, formula, term)
        low, high = fit.conf_int(alpha=0.05).loc[term]
        assert path.estimate == pytest.approx(fit.params[term], rel=1e-9)
        assert path.se == pytest.approx(fit.bse[term], rel=1e-9)
        assert path.p_value == pytest.approx(fit.pvalues[term], rel=1e-7)
        assert path.ci_low == pytest.approx(low, rel=1e-9)
        assert path.ci_high == pytest.approx(high, rel=1e-9)
        assert path.n == len(data) == int(fit.nobs)
        assert path.dof == int(fit.df_resid)
    assert res.n_units == 12


def test_panel_validation() -> None:
    with pytest.raises(ValueError, match="duplicated"):
        ps.lagged_correlations([1, 1, 2], [0, 0, 1], [1, 2, 3], [1, 2, 3], max_lag=1)
    with pytest.raises(ValueError, match="period must contain whole numbers"):
        ps.lagged_correlations([1, 1], [0, 0.5], [1, 2], [1, 2], max_lag=1)
    with pytest.raises(ValueError, match="max_lag"):
        ps.lagged_correlations([1, 1], [0, 1], [1, 2], [1, 2], max_lag=-1)
    with pytest.raises(ValueError, match="unit and period must have the same length"):
        ps.cross_lagged([1, 1], [0, 1, 2], [1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="complete"):
        ps.cross_lagged([1, 1, 1], [0, 1, 2], [1, 2, 3], [1, 3, 2])
