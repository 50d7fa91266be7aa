"""Golden and behaviour tests for pulse_stats.correlation."""

from __future__ import annotations

import math

import numpy as np
import pingouin as pg
import pulse_stats as ps
import pytest
from scipy import stats

# R's ?cor.test example (Hollander & Wolfe 1973, p. 187).
HW_X = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
HW_Y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]

# statpsych::ci.spear documented example (Bonett's own package).
SP_Y = [21, 4, 9, 12, 35, 18, 10, 22, 24, 1, 6, 8, 13, 16, 19]
SP_X = [67, 28, 30, 28, 52, 40, 25, 37, 44, 10, 14, 20, 28, 40, 51]


def test_pearson_matches_r_cor_test_documented_output() -> None:
    # Source: R stats::cor.test help-page example output:
    # t = 1.8411, df = 7, p-value = 0.1082, 95% CI -0.1497426 0.8955795, cor 0.5711816
    res = ps.correlation(HW_X, HW_Y)
    assert res.r == pytest.approx(0.5711816, abs=5e-8)
    assert res.p_value == pytest.approx(0.1082, abs=5e-5)
    assert res.ci_low == pytest.approx(-0.1497426, abs=5e-8)
    assert res.ci_high == pytest.approx(0.8955795, abs=5e-8)
    assert res.n == 9
    assert res.method == "pearson"


def test_pearson_matches_scipy_pearsonr() -> None:
    # Source: scipy.stats.pearsonr (exact beta-distribution p-value; Fisher-z CI).
    rng = np.random.default_rng(1)
    x = rng.normal(size=57)
    y = 0.3 * x + rng.normal(size=57)
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(0.9)
    res = ps.correlation(x, y, confidence_level=0.9)
    assert res.r == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.ci_low == pytest.approx(ci.low, rel=1e-9)
    assert res.ci_high == pytest.approx(ci.high, rel=1e-9)


def test_spearman_interval_matches_statpsych_ci_spear() -> None:
    # Source: statpsych::ci.spear(.05, y, x) documented output:
    # Estimate 0.8699639, LL 0.5840951, UL 0.9638297 (Bonett & Wright 2000 SE).
    res = ps.correlation(SP_Y, SP_X, method="spearman")
    assert res.r == pytest.approx(0.8699639, abs=5e-8)
    assert res.ci_low == pytest.approx(0.5840951, abs=5e-8)
    assert res.ci_high == pytest.approx(0.9638297, abs=5e-8)


def test_spearman_and_kendall_match_scipy() -> None:
    # Source: scipy.stats.spearmanr / kendalltau (tau-b, exact p for small untied n).
    sp = stats.spearmanr(SP_Y, SP_X)
    kt = stats.kendalltau(SP_Y, SP_X)
    s = ps.correlation(SP_Y, SP_X, method="spearman")
    k = ps.correlation(SP_Y, SP_X, method="kendall")
    assert s.r == pytest.approx(sp.statistic, rel=1e-12)
    assert s.p_value == pytest.approx(sp.pvalue, rel=1e-9)
    assert k.r == pytest.approx(kt.statistic, rel=1e-12)
    assert k.p_value == pytest.approx(kt.pvalue, rel=1e-9)


def test_kendall_interval_is_fieller_bonett_wright() -> None:
    # No published numeric example found; check the formula tanh(atanh(tau) -/+ z*se).
    k = ps.correlation(HW_X, HW_Y, method="kendall")
    assert k.r == pytest.approx(0.4444444, abs=5e-8)  # R cor.test(method="kendall"): tau
    se = math.sqrt(0.437 / (9 - 4))
    z = stats.norm.ppf(0.975)
    assert k.ci_low == pytest.approx(math.tanh(math.atanh(k.r) - z * se), rel=1e-12)
    assert k.ci_high == pytest.approx(math.tanh(math.atanh(k.r) + z * se), rel=1e-12)
    # R cor.test(method="kendall") exact p-value for these data: 0.1194
    assert k.p_value == pytest.approx(0.1194, abs=5e-5)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_matches_pingouin_corr_on_bundled_big_five(method: ps.Method) -> None:
    # Source: pingouin.corr on pingouin's 'pairwise_corr' data set (500 respondents).
    df = pg.read_dataset("pairwise_corr")
    ref = pg.corr(df["Neuroticism"], df["Extraversion"], method=method)
    res = ps.correlation(df["Neuroticism"], df["Extraversion"], method=method)
    assert res.r == pytest.approx(float(ref["r"].iloc[0]), rel=1e-10)
    assert res.p_value == pytest.approx(float(ref["p_val"].iloc[0]), rel=1e-8)
    assert res.n == 500
    if method == "pearson":  # pingouin rounds its CI to 2 decimals
        low, high = ref["CI95"].iloc[0]
        assert round(res.ci_low, 2) == pytest.approx(low)
        assert round(res.ci_high, 2) == pytest.approx(high)


def test_missing_values_dropped_pairwise_and_n_reported() -> None:
    x = [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0]
    y = [2.0, 1.0, 3.0, np.nan, 6.0, 5.0, 8.0]
    res = ps.correlation(x, y)
    ref = ps.correlation([1, 2, 5, 6, 7], [2, 1, 6, 5, 8])
    assert res.n == 5
    assert res == ref


def test_perfect_correlation_has_degenerate_interval() -> None:
    res = ps.correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert res.r == 1.0
    assert res.p_value == 0.0
    assert res.ci_low == res.ci_high == 1.0


def test_confidence_level_widens_interval() -> None:
    narrow = ps.correlation(HW_X, HW_Y, confidence_level=0.8)
    wide = ps.correlation(HW_X, HW_Y, confidence_level=0.99)
    assert wide.ci_low < narrow.ci_low < narrow.r < narrow.ci_high < wide.ci_high


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1, 2, 3, 4, 5], "y": [1, 2, 3, 4, 5, 6]}, "x and y must have the same length"),
        ({"x": [1, 2, 3], "y": [3, 1, 2]}, "need at least 4 complete"),
        ({"x": [1, 2, 3, 4], "y": [3, 1, 2, 5], "method": "kendall"}, "need at least 5"),
        ({"x": [1, 1, 1, 1, 1], "y": [3, 1, 2, 5, 4]}, "x is constant"),
        ({"x": [1, 2, 3, 4, 5], "y": [2, 2, 2, 2, 2]}, "y is constant"),
        ({"x": [1, 2, 3, 4, 5], "y": [3, 1, 2, 5, 4], "method": "pearsn"}, "method must be"),
        ({"x": [1, 2, 3, 4, 5], "y": [3, 1, 2, 5, 4], "confidence_level": 95}, "confidence_level"),
        ({"x": [1, 2, 3, 4, 5], "y": [3, 1, 2, 5, 4], "confidence_level": 0.0}, "confidence_level"),
        ({"x": [[1, 2], [3, 4]], "y": [1, 2]}, "x must be one-dimensional"),
        ({"x": ["a", "b", "c", "d"], "y": [1, 2, 3, 4]}, "x must be numeric"),
        ({"x": [1, 2, np.inf, 4, 5], "y": [1, 2, 3, 4, 5]}, "x must not contain infinite"),
    ],
)
def test_invalid_input_raises_value_error_naming_argument(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ps.correlation(**kwargs)  # type: ignore[arg-type]


def test_length_message_reports_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"\(got 5 and 6\)"):
        ps.correlation([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6])


def test_result_is_frozen() -> None:
    res = ps.correlation(HW_X, HW_Y)
    with pytest.raises(AttributeError):
        res.r = 0.0  # type: ignore[misc]
