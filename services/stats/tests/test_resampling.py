"""BCa bootstrap and permutation tests for correlations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pulse_stats as ps
import pytest
from pulse_stats import resampling
from scipy import stats


def _data(n: int, seed: int = 3, slope: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, slope * x + rng.normal(size=n)


def _scipy_stat(method: str):  # type: ignore[no-untyped-def]
    def stat(u, v, axis=-1):  # type: ignore[no-untyped-def]
        if method == "pearson":
            return stats.pearsonr(u, v, axis=axis).statistic
        if method == "spearman":
            return stats.spearmanr(u, v).statistic
        return stats.kendalltau(u, v).statistic

    return stat


@pytest.mark.parametrize(
    ("method", "n", "resamples"),
    [("pearson", 40, 2000), ("spearman", 25, 1000), ("kendall", 25, 1000), ("kendall", 130, 60)],
)
def test_bca_equals_scipy_bootstrap_with_same_seed(
    method: ps.Method, n: int, resamples: int
) -> None:
    # Source: scipy.stats.bootstrap(paired=True, method="BCa") with the same Generator seed
    # draws the same resample indices; the interval must agree to rounding. The n=130
    # Kendall case exercises the non-vectorised (scipy kendalltau) path.
    x, y = _data(n)
    ref = stats.bootstrap(
        (x, y),
        _scipy_stat(method),
        paired=True,
        vectorized=method == "pearson",
        n_resamples=resamples,
        method="BCa",
        rng=np.random.default_rng(11),
    )
    res = ps.bootstrap_correlation(x, y, method=method, n_resamples=resamples, random_state=11)
    assert res.ci_low == pytest.approx(ref.confidence_interval.low, rel=1e-9, abs=1e-12)
    assert res.ci_high == pytest.approx(ref.confidence_interval.high, rel=1e-9, abs=1e-12)
    plain = ps.correlation(x, y, method=method)
    assert (res.r, res.p_value, res.n) == (plain.r, plain.p_value, plain.n)


def test_kendall_vectorised_path_equals_scipy_per_resample() -> None:
    x, y = _data(30)
    x = np.round(x, 1)  # ties, so tau-b's tie correction matters
    idx = np.random.default_rng(0).integers(0, 30, (50, 30)).astype(np.intp)
    fast = resampling._batch_statistic("kendall", x, y, idx, idx)
    slow = [stats.kendalltau(x[i], y[i]).statistic for i in idx]
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_bootstrap_is_reproducible_and_seed_sensitive() -> None:
    x, y = _data(30)
    a = ps.bootstrap_correlation(x, y, n_resamples=500, random_state=5)
    b = ps.bootstrap_correlation(x, y, n_resamples=500, random_state=5)
    c = ps.bootstrap_correlation(x, y, n_resamples=500, random_state=6)
    assert a == b
    assert a != c
    assert a.ci_low < a.r < a.ci_high


def _exact_permutation_p(x: np.ndarray, y: np.ndarray) -> float:
    observed = abs(ps.correlation(x, y).r)
    values = [
        abs(float(np.corrcoef(x, y[list(p)])[0, 1])) for p in itertools.permutations(range(len(y)))
    ]
    return float(np.mean(np.asarray(values) >= observed - 1e-12))


def test_permutation_p_value_converges_to_full_enumeration() -> None:
    # Independent check: exact p-value from all 7! permutations (Fisher 1935 randomisation).
    x = np.array([1.0, 2.5, 3.1, 4.8, 5.0, 6.7, 7.2])
    y = np.array([2.0, 1.1, 3.9, 3.0, 6.2, 4.4, 7.9])
    exact = _exact_permutation_p(x, y)
    res = ps.permutation_correlation(x, y, n_resamples=40_000, random_state=1)
    assert res.p_value == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 40_000))


def test_permutation_p_value_uses_phipson_smyth_convention() -> None:
    x = np.arange(30, dtype=float)
    res = ps.permutation_correlation(x, x**1.1, n_resamples=999, random_state=0)
    assert res.p_value == pytest.approx(1 / 1000)  # (0 + 1) / (999 + 1), never 0


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_permutation_close_to_analytic_p(method: ps.Method) -> None:
    x, y = _data(60, seed=8, slope=0.25)
    analytic = ps.correlation(x, y, method=method)
    res = ps.permutation_correlation(x, y, method=method, n_resamples=20_000, random_state=2)
    assert res.r == analytic.r
    assert (res.ci_low, res.ci_high) == (analytic.ci_low, analytic.ci_high)
    assert res.p_value == pytest.approx(analytic.p_value, abs=0.015)


def test_resampling_validates_arguments() -> None:
    x, y = _data(20)
    with pytest.raises(ValueError, match="n_resamples"):
        ps.bootstrap_correlation(x, y, n_resamples=1)
    with pytest.raises(ValueError, match="n_resamples"):
        ps.permutation_correlation(x, y, n_resamples=0)
    with pytest.raises(ValueError, match="random_state"):
        ps.permutation_correlation(x, y, random_state="seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x and y must have the same length"):
        ps.bootstrap_correlation(x, y[:-1])
    with pytest.raises(ValueError, match="method"):
        ps.permutation_correlation(x, y, method="tau")  # type: ignore[arg-type]
