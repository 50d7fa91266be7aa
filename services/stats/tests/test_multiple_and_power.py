"""FDR q-values and sample-size planning."""

from __future__ import annotations

import math

import numpy as np
import pingouin as pg
import pulse_stats as ps
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

# Benjamini & Hochberg (1995), section 4 example: 15 p-values from a clinical trial.
BH1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459]
BH1995 += [0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]


def test_bh_1995_example_rejects_four() -> None:
    # Source: Benjamini & Hochberg (1995): at q = 0.05 the procedure rejects the 4 smallest
    # (Bonferroni rejects 3).
    q = ps.fdr(BH1995, method="bh")
    assert int(np.sum(q <= 0.05)) == 4
    assert int(np.sum(np.asarray(BH1995) <= 0.05 / 15)) == 3


@pytest.mark.parametrize(("method", "sm_method"), [("bh", "fdr_bh"), ("by", "fdr_by")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_statsmodels_multipletests(method: ps.FdrMethod, sm_method: str, seed: int) -> None:
    # Source: statsmodels.stats.multitest.multipletests (same algorithm as R p.adjust).
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, size=10), [0.02, 0.02]])
    rng.shuffle(p)
    expected = multipletests(p, method=sm_method)[1]
    np.testing.assert_allclose(ps.fdr(p, method=method), expected, rtol=1e-12)
    np.testing.assert_allclose(
        ps.fdr(BH1995, method=method), multipletests(BH1995, method=sm_method)[1]
    )


def test_nan_passes_through_like_r_p_adjust() -> None:
    p = [0.01, np.nan, 0.04, 0.03]
    q = ps.fdr(p)
    assert math.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3]], ps.fdr([0.01, 0.04, 0.03]))
    assert ps.fdr([]).shape == (0,)


def test_fdr_invalid() -> None:
    with pytest.raises(ValueError, match="p_values must lie between 0 and 1"):
        ps.fdr([0.1, 1.2])
    with pytest.raises(ValueError, match="method"):
        ps.fdr([0.1], method="holm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="p_values must be one-dimensional"):
        ps.fdr([[0.1, 0.2]])


@pytest.mark.parametrize("r", [0.1, 0.2, 0.3, 0.5, -0.4, 0.7])
def test_units_needed_formula(r: float) -> None:
    # Fisher-z formula computed independently.
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    expected = math.ceil((z / math.atanh(abs(r))) ** 2 + 3)
    assert ps.units_needed(r) == expected


@pytest.mark.parametrize("r", [0.1, 0.2, 0.3, 0.5])
def test_units_needed_close_to_pingouin_power_corr(r: float) -> None:
    # Source: pingouin.power_corr (pwr.r.test-style approximation); agree within 2 units.
    assert abs(ps.units_needed(r) - math.ceil(pg.power_corr(r=r, power=0.8))) <= 2


def test_units_needed_known_values_and_monotonicity() -> None:
    # r = .3, two-sided alpha .05, power .8 -> 85 by the Fisher-z formula.
    assert ps.units_needed(0.3) == 85
    assert ps.units_needed(0.3, power=0.9) > ps.units_needed(0.3)
    assert ps.units_needed(0.3, alpha=0.01) > ps.units_needed(0.3)
    assert ps.units_needed(0.2) > ps.units_needed(0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r": 0.0}, "r must satisfy"),
        ({"r": 1.0}, "r must satisfy"),
        ({"r": 0.3, "alpha": 0.0}, "alpha must be strictly between"),
        ({"r": 0.3, "power": 1.0}, "power must be strictly between"),
    ],
)
def test_units_needed_invalid(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ps.units_needed(**kwargs)


def test_holm_matches_statsmodels_and_r() -> None:
    # Source: R p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") = 0.05 0.08 0.09 0.09 0.09
    # (double-checked with statsmodels.stats.multitest.multipletests(method="holm")).
    p = [0.01, 0.02, 0.03, 0.04, 0.05]
    assert list(ps.holm(p)) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09], abs=1e-12)
    rng = np.random.default_rng(9)
    for _ in range(5):
        values = rng.uniform(0, 0.2, 30)
        expected = multipletests(values, method="holm")[1]
        assert ps.holm(values) == pytest.approx(expected, abs=1e-12)
    with_nan = ps.holm([0.01, np.nan, 0.04])
    assert math.isnan(with_nan[1])
    assert list(with_nan[[0, 2]]) == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ps.holm([0.5, 1.5])


def test_correlation_power_inverts_units_needed() -> None:
    # Fisher z power of the two-sided test; units_needed(r) is the first n reaching 80 %.
    for r in (0.1, 0.3, 0.5):
        n = ps.units_needed(r)
        assert ps.correlation_power(r, n) >= 0.8 > ps.correlation_power(r, n - 1)
        assert ps.correlation_power(-r, n) == ps.correlation_power(r, n)
    assert ps.correlation_power(0.0, 50) == pytest.approx(0.05)
    # Cross-check with statsmodels' normal power on the Fisher-z scale.
    from statsmodels.stats.power import NormalIndPower

    z = math.atanh(0.3) * math.sqrt(60 - 3)
    expected = NormalIndPower().power(effect_size=z, nobs1=1, alpha=0.05, ratio=0)
    assert ps.correlation_power(0.3, 60) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="n must be an integer >= 4"):
        ps.correlation_power(0.3, 3)
