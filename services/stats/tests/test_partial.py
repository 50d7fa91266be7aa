"""Partial correlation: golden values from pingouin and an independent OLS computation."""

from __future__ import annotations

import math

import numpy as np
import pingouin as pg
import pulse_stats as ps
import pytest
import statsmodels.api as sm
from scipy import stats


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return pg.read_dataset("partial_corr")


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_matches_pingouin_partial_corr(data, method: ps.PartialMethod) -> None:  # type: ignore[no-untyped-def]
    # Source: pingouin.partial_corr (tested by pingouin against R ppcor::pcor.test);
    # docstring values: pearson r=0.493 p=0.009, spearman r=0.521 p=0.005 (n=30).
    covar = ["cv1", "cv2", "cv3"]
    ref = pg.partial_corr(data=data, x="x", y="y", covar=covar, method=method)
    res = ps.partial_correlation(data["x"], data["y"], data[covar], method=method)
    assert res.r == pytest.approx(float(ref["r"].iloc[0]), rel=1e-9)
    assert res.p_value == pytest.approx(float(ref["p_val"].iloc[0]), rel=1e-7)
    assert res.n == 30
    low, high = ref["CI95"].iloc[0]  # rounded to 2 decimals by pingouin
    assert round(res.ci_low, 2) == pytest.approx(low)
    assert round(res.ci_high, 2) == pytest.approx(high)
    assert round(res.r, 3) == {"pearson": 0.493, "spearman": 0.521}[method]


def test_interval_uses_n_minus_3_minus_k(data) -> None:  # type: ignore[no-untyped-def]
    res = ps.partial_correlation(data["x"], data["y"], data[["cv1", "cv2", "cv3"]])
    z = stats.norm.ppf(0.975)
    se = 1 / math.sqrt(30 - 3 - 3)
    assert res.ci_low == pytest.approx(math.tanh(math.atanh(res.r) - z * se), rel=1e-12)
    assert res.ci_high == pytest.approx(math.tanh(math.atanh(res.r) + z * se), rel=1e-12)


def test_single_covariate_equals_statsmodels_residual_correlation(data) -> None:  # type: ignore[no-untyped-def]
    # Independent implementation: residuals from statsmodels OLS, then numpy corrcoef.
    design = sm.add_constant(data[["cv1"]].to_numpy())
    rx = sm.OLS(data["x"].to_numpy(), design).fit().resid
    ry = sm.OLS(data["y"].to_numpy(), design).fit().resid
    res = ps.partial_correlation(data["x"], data["y"], data["cv1"])
    assert res.r == pytest.approx(np.corrcoef(rx, ry)[0, 1], rel=1e-12)
    assert round(res.r, 3) == 0.568  # pingouin docstring (covar="cv1")


def test_listwise_deletion(data) -> None:  # type: ignore[no-untyped-def]
    x = data["x"].to_numpy().copy()
    cov = data[["cv1", "cv2"]].to_numpy().copy()
    x[0] = np.nan
    cov[5, 1] = np.nan
    res = ps.partial_correlation(x, data["y"], cov)
    keep = np.ones(30, dtype=bool)
    keep[[0, 5]] = False
    ref = ps.partial_correlation(x[keep], data["y"].to_numpy()[keep], cov[keep])
    assert res.n == 28
    assert res == ref


def test_invalid_input() -> None:
    rng = np.random.default_rng(0)
    x, y, c = rng.normal(size=10), rng.normal(size=10), rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="x and covariates must have the same length"):
        ps.partial_correlation(x, y, c[:9])
    with pytest.raises(ValueError, match="collinear"):
        ps.partial_correlation(x, y, np.column_stack([c[:, 0], 2 * c[:, 0]]))
    with pytest.raises(ValueError, match=r"covariates\[:, 1\] is constant"):
        ps.partial_correlation(x, y, np.column_stack([c[:, 0], np.ones(10)]))
    with pytest.raises(ValueError, match="x is a linear function of the covariates"):
        ps.partial_correlation(c[:, 0] * 3 + 1, y, c)
    with pytest.raises(ValueError, match="need at least 6 complete rows"):
        ps.partial_correlation(x[:5], y[:5], c[:5])
    with pytest.raises(ValueError, match="method"):
        ps.partial_correlation(x, y, c, method="kendall")  # type: ignore[arg-type]
