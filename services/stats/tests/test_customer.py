"""NPS, top-box and Wilson intervals."""

from __future__ import annotations

import math

import numpy as np
import pulse_stats as ps
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table(
    successes: int, n: int, low: float, high: float
) -> None:
    # Source: Newcombe (1998), Stat. Med. 17:857-872, worked examples, method 3 (score).
    res = ps.wilson_interval(successes, n)
    assert round(res.ci_low, 4) == pytest.approx(low)
    assert round(res.ci_high, 4) == pytest.approx(high)


@pytest.mark.parametrize(("successes", "n"), [(0, 7), (3, 7), (7, 7), (45, 310), (999, 1000)])
@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, level: float) -> None:
    # Source: statsmodels.stats.proportion.proportion_confint(method="wilson").
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    res = ps.wilson_interval(successes, n, confidence_level=level)
    assert res.ci_low == pytest.approx(low, abs=1e-12)
    assert res.ci_high == pytest.approx(high, abs=1e-12)
    assert res.p == successes / n
    assert res.n == n


def test_top_box_counts_top_categories_and_drops_missing() -> None:
    scores = [1, 2, 3, 4, 5, 5, 4, 3, np.nan, 5]
    res = ps.top_box(scores, scale_max=5)
    assert res.n == 9
    assert res.p == pytest.approx(5 / 9)
    assert res == ps.wilson_interval(5, 9)
    assert ps.top_box(scores, scale_max=5, boxes=1).p == pytest.approx(3 / 9)
    assert ps.top_box([0, 10, 9, 8], scale_max=10, scale_min=0, boxes=3).p == pytest.approx(0.75)


def test_nps_counts_score_and_multinomial_se() -> None:
    # 0-6 detractors, 7-8 passives, 9-10 promoters (Reichheld 2003).
    scores = [10] * 50 + [9] * 10 + [8] * 15 + [7] * 5 + [6] * 8 + [3] * 12
    res = ps.nps(scores)
    assert (res.promoters, res.passives, res.detractors, res.n) == (60, 20, 20, 100)
    assert res.nps == pytest.approx(40.0)
    p_p, p_d = 0.6, 0.2
    se = 100 * math.sqrt((p_p + p_d - (p_p - p_d) ** 2) / 100)
    assert res.se == pytest.approx(se)
    # Adjusted Wald (Rocks 2016): 3 pseudo-respondents, 3/4 promoters and 3/4 detractors.
    q_p, q_d = 60.75 / 103, 20.75 / 103
    half = 1.959963984540054 * 100 * math.sqrt((q_p + q_d - (q_p - q_d) ** 2) / 103)
    assert res.ci_low == pytest.approx(100 * (q_p - q_d) - half, abs=1e-9)
    assert res.ci_high == pytest.approx(100 * (q_p - q_d) + half, abs=1e-9)
    assert res == ps.nps_from_counts(60, 20, 20)


def _coverage(n: int, shares: tuple[float, float, float], wald: bool) -> float:
    """Exact coverage: the trinomial probability of every sample whose interval holds the
    true NPS."""
    truth = 100 * (shares[0] - shares[2])
    covered = 0.0
    for promoters in range(n + 1):
        for passives in range(n + 1 - promoters):
            detractors = n - promoters - passives
            res = ps.nps_from_counts(promoters, passives, detractors)
            low, high = (
                (res.nps - 1.959963984540054 * res.se, res.nps + 1.959963984540054 * res.se)
                if wald
                else (res.ci_low, res.ci_high)
            )
            if low <= truth <= high:
                covered += stats.multinomial.pmf([promoters, passives, detractors], n, shares)
    return covered


def test_adjusted_wald_nps_interval_covers_where_the_wald_interval_did_not() -> None:
    # n = 30 with 85 % promoters: the plain Wald interval covers the true NPS 89.9 % of the
    # time, the adjusted Wald interval about 96 % (computed exactly over all samples).
    shares = (0.85, 0.10, 0.05)
    assert _coverage(30, shares, wald=True) == pytest.approx(0.8994, abs=5e-4)
    assert _coverage(30, shares, wald=False) >= 0.95
    assert _coverage(30, (0.5, 0.3, 0.2), wald=False) >= 0.94
    # Every answer in one group: an interval of width > 0 (Wald's is zero-width).
    res = ps.nps_from_counts(20, 0, 0)
    assert res.se == 0.0
    assert res.ci_low < 100.0 == res.ci_high


def test_nps_se_equals_multinomial_simulation() -> None:
    # Independent check of Var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2)/n by simulation.
    rng = np.random.default_rng(0)
    draws = rng.multinomial(200, [0.5, 0.3, 0.2], size=200_000)
    sim_sd = np.std(100 * (draws[:, 0] - draws[:, 2]) / 200)
    assert ps.nps_from_counts(100, 60, 40).se == pytest.approx(sim_sd, rel=0.01)


def test_nps_interval_is_clipped() -> None:
    res = ps.nps([10] * 20)
    assert res.ci_high == 100.0
    assert res.ci_low < res.nps
    assert ps.nps([10, 9, 10]).se == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ps.nps([1, 2, 11]), "scores must lie between 0 and 10"),
        (lambda: ps.nps([1.5, 2, 3]), "scores must be whole numbers"),
        (lambda: ps.nps([np.nan]), "need at least 1 non-missing scores"),
        (lambda: ps.nps_from_counts(0, 0, 0), "need at least 1 respondents"),
        (lambda: ps.nps_from_counts(-1, 2, 3), "promoters must be an integer >= 0"),
        (lambda: ps.wilson_interval(5, 4), "successes must not exceed n"),
        (lambda: ps.wilson_interval(1, 0), "n must be an integer >= 1"),
        (lambda: ps.top_box([1, 2], scale_max=5, boxes=6), "boxes must not exceed"),
        (lambda: ps.top_box([1, 2], scale_max=1), "scale_max must exceed scale_min"),
        (lambda: ps.top_box([1, 7], scale_max=5), "scores must lie between 1 and 5"),
    ],
)
def test_invalid_input(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()
