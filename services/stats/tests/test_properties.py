"""Property-based tests (hypothesis): invariances and bounds that must always hold."""

from __future__ import annotations

import math

import numpy as np
import pulse_stats as ps
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FAST = settings(max_examples=60, deadline=None)
METHODS: st.SearchStrategy[ps.Method] = st.sampled_from(["pearson", "spearman", "kendall"])
FDR_METHODS: st.SearchStrategy[ps.FdrMethod] = st.sampled_from(["bh", "by"])


@st.composite
def paired(draw: st.DrawFn, min_size: int = 6, max_size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_size, max_size))
    # integers on a moderate range: plenty of ties, no floating-point pathologies
    elems = st.integers(-50, 50).map(float)
    x = draw(hnp.arrays(np.float64, n, elements=elems))
    y = draw(hnp.arrays(np.float64, n, elements=elems))
    assume(np.ptp(x) > 0 and np.ptp(y) > 0)
    return x, y


@FAST
@given(data=paired(), method=METHODS)
def test_symmetry_bounds_and_interval_contains_estimate(
    data: tuple[np.ndarray, np.ndarray], method: ps.Method
) -> None:
    x, y = data
    a = ps.correlation(x, y, method=method)
    b = ps.correlation(y, x, method=method)
    assert a.r == pytest.approx(b.r, abs=1e-12)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-15)
    assert -1.0 <= a.r <= 1.0
    assert 0.0 <= a.p_value <= 1.0
    assert -1.0 <= a.ci_low <= a.r + 1e-12
    assert a.r - 1e-12 <= a.ci_high <= 1.0


@FAST
@given(
    data=paired(),
    method=METHODS,
    shift=st.floats(-1e3, 1e3),
    scale=st.floats(0.01, 100.0),
)
def test_invariant_to_shift_and_positive_scaling(
    data: tuple[np.ndarray, np.ndarray], method: ps.Method, shift: float, scale: float
) -> None:
    x, y = data
    a = ps.correlation(x, y, method=method)
    b = ps.correlation(x * scale + shift, y, method=method)
    assert b.r == pytest.approx(a.r, abs=1e-9)
    negated = ps.correlation(-x, y, method=method)
    assert negated.r == pytest.approx(-a.r, abs=1e-12)


@FAST
@given(data=paired(), method=METHODS, seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(
    data: tuple[np.ndarray, np.ndarray], method: ps.Method, seed: int
) -> None:
    x, y = data
    order = np.random.default_rng(seed).permutation(x.size)
    a = ps.correlation(x, y, method=method)
    b = ps.correlation(x[order], y[order], method=method)
    assert b.r == pytest.approx(a.r, abs=1e-12)
    assert b.ci_low == pytest.approx(a.ci_low, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(data=paired(min_size=8, max_size=25), seed=st.integers(0, 2**32 - 1))
def test_resampling_results_are_consistent(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    x, y = data
    boot = ps.bootstrap_correlation(x, y, n_resamples=200, random_state=seed)
    assert -1.0 <= boot.ci_low <= boot.ci_high <= 1.0
    perm = ps.permutation_correlation(x, y, n_resamples=200, random_state=seed)
    assert 1 / 201 <= perm.p_value <= 1.0


@st.composite
def grouped(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    sizes = draw(st.lists(st.integers(1, 8), min_size=2, max_size=10))
    groups = np.repeat(np.arange(len(sizes)), sizes)
    values = draw(hnp.arrays(np.float64, groups.size, elements=st.integers(1, 5).map(float)))
    assume(sum(sizes) > len(sizes) and np.ptp(values) > 0)
    return groups, values


@FAST
@given(data=grouped(), seed=st.integers(0, 2**32 - 1))
def test_icc_row_order_and_summary_equivalence(
    data: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    groups, values = data
    a = ps.icc(groups, values)
    order = np.random.default_rng(seed).permutation(groups.size)
    b = ps.icc(groups[order], values[order])
    assert b.icc1 == pytest.approx(a.icc1, rel=1e-9, abs=1e-12)
    assert b.f_statistic == pytest.approx(a.f_statistic, rel=1e-9, abs=1e-12)
    s = ps.icc_from_summaries(
        np.bincount(groups),
        np.bincount(groups, weights=values),
        np.bincount(groups, weights=values**2),
    )
    assert s.icc1 == pytest.approx(a.icc1, rel=1e-7, abs=1e-9)
    assert a.icc1 <= 1.0
    assert a.icc2 <= 1.0


@FAST
@given(
    p=hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(0.0, 1.0)),
    method=FDR_METHODS,
)
def test_q_values_monotone_bounded_and_at_least_p(p: np.ndarray, method: ps.FdrMethod) -> None:
    q = ps.fdr(p, method=method)
    assert np.all(q >= p - 1e-15)
    assert np.all(q <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-15)
    if method == "by":
        assert np.all(q >= ps.fdr(p, method="bh") - 1e-15)


@FAST
@given(
    counts=st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500)),
    level=st.floats(0.5, 0.999),
)
def test_nps_and_wilson_bounds(counts: tuple[int, int, int], level: float) -> None:
    assume(sum(counts) > 0)
    res = ps.nps_from_counts(*counts, confidence_level=level)
    assert -100.0 <= res.ci_low <= res.ci_high <= 100.0
    # The adjusted Wald interval (Rocks 2016) is centred on the score with 3 pseudo-answers;
    # at 95 % or more it also holds the NPS itself once there are 2 answers.
    n = sum(counts)
    centre = 100 * (counts[0] - counts[2]) / (n + 3)
    assert res.ci_low <= centre <= res.ci_high
    if level >= 0.95 and n >= 2:
        assert res.ci_low <= res.nps <= res.ci_high
    w = ps.wilson_interval(counts[0], sum(counts), confidence_level=level)
    assert 0.0 <= w.ci_low <= w.p <= w.ci_high <= 1.0


@FAST
@given(r=st.floats(0.05, 0.95), alpha=st.floats(0.001, 0.2), power=st.floats(0.5, 0.99))
def test_units_needed_reaches_requested_fisher_power(r: float, alpha: float, power: float) -> None:
    from scipy import stats

    n = ps.units_needed(r, alpha=alpha, power=power)
    achieved = stats.norm.cdf(math.atanh(r) * math.sqrt(n - 3) - stats.norm.ppf(1 - alpha / 2))
    assert achieved >= power - 1e-9
    if n > 4:
        fewer = stats.norm.cdf(math.atanh(r) * math.sqrt(n - 4) - stats.norm.ppf(1 - alpha / 2))
        assert fewer < power + 1e-9
