"""rwg_j_from_summaries: r_wg(j) (James, Demaree & Wolf 1984) from per-group item sums and
sums of squares, checked against rwg_j on the raw rows (itself checked line by line against
R multilevel::rwg.j in test_multilevel.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pulse_stats as ps
import pytest
from numpy.typing import NDArray


def summaries(
    codes: NDArray[np.intp], items: NDArray[np.float64], n_groups: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    n = np.bincount(codes, minlength=n_groups).astype(np.float64)
    sums: NDArray[np.float64] = np.stack(
        [
            np.bincount(codes, weights=items[:, i], minlength=n_groups)
            for i in range(items.shape[1])
        ],
        axis=1,
    )
    squares: NDArray[np.float64] = np.stack(
        [
            np.bincount(codes, weights=items[:, i] ** 2, minlength=n_groups)
            for i in range(items.shape[1])
        ],
        axis=1,
    )
    return n, sums, squares


def assert_same(got: float, want: float) -> None:
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_equals_rwg_j_on_raw_complete_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(2, 30))
    n_options = int(rng.choice([5, 7, 11]))
    j_items = int(rng.integers(1, 7))
    sizes = rng.integers(1, 25, size=n_groups)
    codes = np.repeat(np.arange(n_groups), sizes)
    # Group centres and spreads vary so values span agreement, truncation (spread > uniform)
    # and single-respondent groups.
    centre = rng.uniform(1, n_options, size=n_groups)[codes][:, None]
    spread = rng.uniform(0.1, 4.0, size=n_groups)[codes][:, None]
    raw = centre + spread * rng.normal(size=(codes.size, j_items))
    items = np.clip(np.round(raw), 1, n_options)
    expected = ps.rwg_j(codes, items, n_options=n_options)
    got = ps.rwg_j_from_summaries(*summaries(codes, items, n_groups), n_options=n_options)
    assert set(got.by_group) == set(expected.by_group)
    for group, value in expected.by_group.items():
        assert_same(got.by_group[group], value)
    assert_same(got.mean, expected.mean)
    assert_same(got.median, expected.median)
    # Per-item counts that are all equal to the group size give the same answer.
    n, sums, squares = summaries(codes, items, n_groups)
    per_item = ps.rwg_j_from_summaries(
        np.repeat(n[:, None], j_items, axis=1), sums, squares, n_options=n_options
    )
    for group, value in got.by_group.items():
        assert_same(per_item.by_group[group], value)


def test_continuous_values_and_single_item() -> None:
    rng = np.random.default_rng(42)
    codes = np.repeat(np.arange(6), [2, 5, 9, 3, 12, 7])
    items = 3 + rng.normal(scale=0.7, size=(codes.size, 3))
    expected = ps.rwg_j(codes, items, n_options=5)
    got = ps.rwg_j_from_summaries(*summaries(codes, items, 6), n_options=5)
    for group, value in expected.by_group.items():
        assert_same(got.by_group[group], value)
    # 1-D sums are one item: r_wg = 1 - s2/sigma2 (James et al. 1984), hand-checked 2/3.
    single = ps.rwg_j_from_summaries([4], [12.0], [38.0], n_options=5)  # values 2, 3, 3, 4
    assert single.by_group[0] == pytest.approx(1 - (2 / 3) / 2)


def test_per_item_counts_use_available_cases() -> None:
    # Two items; group 0 lacks some answers to item 1, group 1 has one answer to item 1.
    frame = pd.DataFrame(
        {
            "g": [0, 0, 0, 0, 1, 1, 1],
            "a": [4, 5, 3, 4, 2, 2, 3],
            "b": [5, np.nan, 4, np.nan, np.nan, 1, np.nan],
        }
    )
    grouped = frame.groupby("g")[["a", "b"]]
    n = grouped.count().to_numpy()
    sums = grouped.sum().to_numpy()
    squares = (frame[["a", "b"]] ** 2).assign(g=frame.g).groupby("g").sum().to_numpy()
    got = ps.rwg_j_from_summaries(n, sums, squares, n_options=5)
    sigma2 = 2.0
    # Group 0: both items, each with pandas' available-case variance (ddof=1).
    s2 = frame[frame.g == 0][["a", "b"]].var(ddof=1).mean()
    assert got.by_group[0] == pytest.approx(
        2 * (1 - s2 / sigma2) / (2 * (1 - s2 / sigma2) + s2 / sigma2)
    )
    # Group 1: item b has one answer, so J = 1 and r_wg = 1 - var(a)/sigma2.
    assert got.by_group[1] == pytest.approx(1 - frame[frame.g == 1].a.var(ddof=1) / sigma2)


def test_truncation_and_edge_cases() -> None:
    # Bimodal 1,5,1,5 on two items: variance above the uniform null -> 0.
    split = ps.rwg_j_from_summaries([4], [[12.0, 12.0]], [[52.0, 52.0]], n_options=5)
    assert split.by_group[0] == 0.0
    perfect = ps.rwg_j_from_summaries(
        [3, 1], [[9.0, 9.0], [2.0, 2.0]], [[27.0, 27.0], [4.0, 4.0]], n_options=5
    )
    assert perfect.by_group[0] == 1.0
    assert math.isnan(perfect.by_group[1])
    assert perfect.mean == 1.0


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="n_options"):
        ps.rwg_j_from_summaries([2], [3.0], [5.0], n_options=1)
    with pytest.raises(ValueError, match="same shape"):
        ps.rwg_j_from_summaries([2], [[3.0, 1.0]], [[5.0]], n_options=5)
    with pytest.raises(ValueError, match="one entry per group"):
        ps.rwg_j_from_summaries([2, 3], [3.0], [5.0], n_options=5)
    with pytest.raises(ValueError, match="non-negative integer"):
        ps.rwg_j_from_summaries([2.5], [3.0], [5.0], n_options=5)
    with pytest.raises(ValueError, match="missing"):
        ps.rwg_j_from_summaries([2], [math.nan], [5.0], n_options=5)
    with pytest.raises(ValueError, match="smaller than"):
        ps.rwg_j_from_summaries([2], [6.0], [10.0], n_options=5)
    with pytest.raises(ValueError, match="two or more respondents"):
        ps.rwg_j_from_summaries([1, 0], [3.0, 0.0], [9.0, 0.0], n_options=5)
