"""Cronbach's alpha (Feldt interval) and the correction for attenuation."""

from __future__ import annotations

import math

import numpy as np
import pingouin as pg
import pulse_stats as ps
import pytest


def test_alpha_matches_pingouin_documented_likert_example() -> None:
    # Source: pingouin.cronbach_alpha docstring, 'cronbach_alpha' data set (long format):
    # (0.5917188485995826, array([0.195, 0.84 ])); pingouin rounds the CI to 3 decimals.
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores").to_numpy()
    res = ps.cronbach_alpha(wide)
    assert res.alpha == pytest.approx(0.5917188485995826, rel=1e-12)
    assert round(res.ci_low, 3) == 0.195
    assert round(res.ci_high, 3) == 0.84


def test_alpha_listwise_matches_pingouin_and_psych() -> None:
    # Source: pingouin docstring 'cronbach_wide_missing', nan_policy="listwise" (= R
    # psych::alpha(use="complete.obs")): alpha = 0.8016949152542373.
    data = pg.read_dataset("cronbach_wide_missing").to_numpy(dtype=float)
    res = ps.cronbach_alpha(data)
    assert res.alpha == pytest.approx(0.8016949152542373, rel=1e-12)
    # pingouin's printed CI [0.581, 0.933] uses the row count *before* dropping rows
    # (n = 12); the Feldt interval here uses the 9 complete rows, so it is wider.
    kept = data[~np.isnan(data).any(axis=1)]
    assert kept.shape[0] == 9
    assert res.ci_low < 0.581
    assert res.ci_high > 0.933
    ref = pg.cronbach_alpha(data=pg.read_dataset("cronbach_wide_missing").dropna())
    assert (round(res.ci_low, 3), round(res.ci_high, 3)) == tuple(ref[1])


def test_alpha_equals_variance_formula_and_multilevel_cronbach() -> None:
    # Independent implementation: R multilevel::cronbach transcription
    # ALPHA <- (N/(N-1)) * (1 - SUMVAR/TOTVAR).
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(80, 1))
    items = latent + rng.normal(size=(80, 6))
    n = items.shape[1]
    expected = n / (n - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    assert ps.cronbach_alpha(items).alpha == pytest.approx(expected, rel=1e-12)


def test_alpha_invalid_input() -> None:
    with pytest.raises(ValueError, match="need at least 2 items"):
        ps.cronbach_alpha([[1], [2], [3]])
    with pytest.raises(ValueError, match="need at least 3 complete respondents"):
        ps.cronbach_alpha([[1.0, 2.0], [2.0, np.nan], [3.0, 3.0]])
    with pytest.raises(ValueError, match="total score is constant"):
        ps.cronbach_alpha([[1, 3], [2, 2], [3, 1]])
    with pytest.raises(ValueError, match="confidence_level"):
        ps.cronbach_alpha([[1, 2], [2, 3], [3, 5]], confidence_level=1.0)


def test_disattenuated_spearman_formula_and_no_clipping() -> None:
    # Spearman (1904): r / sqrt(rxx * ryy).
    assert ps.disattenuated(0.3, 0.81, 0.64) == pytest.approx(0.3 / math.sqrt(0.81 * 0.64))
    assert ps.disattenuated(-0.4, 1.0, 1.0) == -0.4
    # Documented choice: values beyond +/-1 are returned, not clipped.
    assert ps.disattenuated(0.6, 0.5, 0.4) == pytest.approx(0.6 / math.sqrt(0.2))
    assert ps.disattenuated(0.6, 0.5, 0.4) > 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.2, 0.8, 0.8), "r must be between -1 and 1"),
        ((0.2, 0.0, 0.8), "reliability_x must be in"),
        ((0.2, 0.8, 1.5), "reliability_y must be in"),
        ((float("nan"), 0.8, 0.8), "r must be a number"),
    ],
)
def test_disattenuated_invalid(args: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ps.disattenuated(*args)
