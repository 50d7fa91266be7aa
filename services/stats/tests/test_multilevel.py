"""ICC(1)/ICC(2) and r_wg(j): golden values and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pulse_stats as ps
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

# pingouin 0.7 triggers pandas deprecation warnings that are not ours.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


def _unbalanced(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 25, size=23)
    groups = np.repeat(np.arange(23), sizes)
    effects = rng.normal(scale=0.5, size=23)
    values = np.round(3 + effects[groups] + rng.normal(size=groups.size))
    return groups, values


def test_balanced_matches_pingouin_intraclass_corr() -> None:
    # Source: pingouin.intraclass_corr on its 'icc' data set (8 wines x 4 judges):
    # ICC(1,1) = 0.727521, ICC(1,k) = 0.914384, F = 11.680026 on (7, 24) df.
    # For balanced data Bliese's ICC(1) = ICC(1,1) and ICC(2) = ICC(1,k) (Shrout & Fleiss).
    df = pg.read_dataset("icc")
    ref = pg.intraclass_corr(data=df, targets="Wine", raters="Judge", ratings="Scores")
    ref = ref.set_index("Type")
    group_sizes: tuple[ps.GroupSize, ...] = ("adjusted", "mean")
    for group_size in group_sizes:
        res = ps.icc(df["Wine"], df["Scores"], group_size=group_size)
        assert res.icc1 == pytest.approx(ref.loc["ICC(1,1)", "ICC"], rel=1e-10)
        assert res.icc2 == pytest.approx(ref.loc["ICC(1,k)", "ICC"], rel=1e-10)
        assert res.f_statistic == pytest.approx(ref.loc["ICC(1,1)", "F"], rel=1e-10)
        assert res.p_value == pytest.approx(ref.loc["ICC(1,1)", "pval"], rel=1e-8)
        assert (res.n_groups, res.mean_group_size) == (8, 4.0)
    assert round(res.icc1, 3) == 0.728  # pingouin docstring table


def test_unbalanced_anova_matches_scipy_and_statsmodels() -> None:
    # Sources: scipy.stats.f_oneway (F, p) and statsmodels anova_lm (mean squares); ICC
    # formulas transcribed from R multilevel::ICC1 / ICC2 (Bliese) and the k0 adjustment.
    groups, values = _unbalanced()
    f_ref = stats.f_oneway(*[values[groups == g] for g in np.unique(groups)])
    table = sm.stats.anova_lm(smf.ols("v ~ C(g)", pd.DataFrame({"v": values, "g": groups})).fit())
    msb, msw = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
    df_b, df_w = table["df"].iloc[0], table["df"].iloc[1]

    res = ps.icc(groups, values)
    assert res.f_statistic == pytest.approx(f_ref.statistic, rel=1e-10)
    assert res.p_value == pytest.approx(f_ref.pvalue, rel=1e-8)
    assert res.icc2 == pytest.approx((msb - msw) / msb, rel=1e-10)  # multilevel::ICC2
    n_j = np.bincount(groups)
    total = n_j.sum()
    k0 = (total - (n_j**2).sum() / total) / (len(n_j) - 1)
    assert res.icc1 == pytest.approx((msb - msw) / (msb + (k0 - 1) * msw), rel=1e-10)

    # multilevel::ICC1: GSIZE <- (dfW + (dfB + 1)) / (dfB + 1), i.e. N / J.
    gsize = (df_w + (df_b + 1)) / (df_b + 1)
    mean_variant = ps.icc(groups, values, group_size="mean")
    assert mean_variant.icc1 == pytest.approx((msb - msw) / (msb + (gsize - 1) * msw), rel=1e-10)
    assert mean_variant.mean_group_size == pytest.approx(gsize)
    assert mean_variant.icc2 == res.icc2


def test_summaries_agree_with_raw_data() -> None:
    groups, values = _unbalanced(seed=9)
    values = values + 1000.0  # a large offset stresses the sum-of-squares path
    n = np.bincount(groups)
    sums = np.bincount(groups, weights=values)
    squares = np.bincount(groups, weights=values**2)
    group_sizes: tuple[ps.GroupSize, ...] = ("adjusted", "mean")
    for group_size in group_sizes:
        raw = ps.icc(groups, values, group_size=group_size)
        agg = ps.icc_from_summaries(n, sums, squares, group_size=group_size)
        assert agg.icc1 == pytest.approx(raw.icc1, rel=1e-6)
        assert agg.icc2 == pytest.approx(raw.icc2, rel=1e-6)
        assert agg.f_statistic == pytest.approx(raw.f_statistic, rel=1e-6)
        assert agg.p_value == pytest.approx(raw.p_value, rel=1e-5)
        assert (agg.n_groups, agg.mean_group_size) == (raw.n_groups, raw.mean_group_size)


def test_missing_values_and_labels_dropped() -> None:
    groups = np.array(["a", "a", "a", "b", "b", "b", "c", "c", None], dtype=object)
    values = np.array([1.0, 2.0, 2.0, 4.0, np.nan, 5.0, 3.0, 2.0, 9.0])
    res = ps.icc(groups, values)
    ref = ps.icc(["a", "a", "a", "b", "b", "c", "c"], [1, 2, 2, 4, 5, 3, 2])
    assert res == ref
    assert res.n_groups == 3


def test_icc_invalid_input() -> None:
    with pytest.raises(ValueError, match="groups and values must have the same length"):
        ps.icc([1, 1, 2], [1, 2])
    with pytest.raises(ValueError, match="need at least 2 groups"):
        ps.icc([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="values are constant"):
        ps.icc([1, 1, 2, 2], [3, 3, 3, 3])
    with pytest.raises(ValueError, match="within-group degrees of freedom"):
        ps.icc([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="group_size"):
        ps.icc([1, 1, 2, 2], [1, 2, 3, 5], group_size="harmonic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sums_of_squares is smaller"):
        ps.icc_from_summaries([2, 2], [4.0, 6.0], [1.0, 20.0])
    with pytest.raises(ValueError, match="n must contain positive integer"):
        ps.icc_from_summaries([2.5, 2], [4.0, 6.0], [9.0, 20.0])


def _rwg_j_reference(groups: np.ndarray, items: np.ndarray, a: int) -> dict[object, float]:
    """Line-by-line transcription of R multilevel::rwg.j (Bliese), using pandas."""
    frame = pd.DataFrame(items).assign(grp=groups).dropna()
    out: dict[object, float] = {}
    ranvar = (a**2 - 1) / 12
    for key, q in frame.groupby("grp"):
        q = q.drop(columns="grp")
        j = q.shape[1]
        if len(q) > 1:
            s = q.var(ddof=1).mean()
            s = min(s, ranvar)
            out[key] = (j * (1 - s / ranvar)) / (j * (1 - s / ranvar) + s / ranvar)
        else:
            out[key] = math.nan
    return out


def test_rwg_j_matches_multilevel_transcription() -> None:
    rng = np.random.default_rng(2)
    groups = np.repeat(["n1", "n2", "n3", "n4", "n5", "solo"], [6, 9, 4, 12, 7, 1])
    centre = rng.integers(2, 5, size=6)[np.unique(groups, return_inverse=True)[1]]
    spread = np.where(groups == "n3", 3.0, 0.8)[:, None]
    items = np.clip(np.round(centre[:, None] + spread * rng.normal(size=(39, 4))), 1, 5)
    items[3, 2] = np.nan
    res = ps.rwg_j(groups, items, n_options=5)
    ref = _rwg_j_reference(groups, items, 5)
    assert set(res.by_group) == set(ref)
    for key, value in ref.items():
        if math.isnan(value):
            assert math.isnan(res.by_group[key])
        else:
            assert res.by_group[key] == pytest.approx(value, rel=1e-12)
    defined = [v for v in ref.values() if not math.isnan(v)]
    assert res.mean == pytest.approx(np.mean(defined))
    assert res.median == pytest.approx(np.median(defined))


def test_rwg_j_hand_computed_and_edge_cases() -> None:
    # Hand computation (James, Demaree & Wolf 1984 formula): item variances 1 and 1/3,
    # s2 = 2/3, sigma2 = (25 - 1)/12 = 2, J = 2 -> 2(2/3) / (2(2/3) + 1/3) = 0.8.
    res = ps.rwg_j(["g"] * 3, [[4, 5], [5, 5], [3, 4]], n_options=5)
    assert res.by_group["g"] == pytest.approx(0.8)
    perfect = ps.rwg_j([1, 1, 1], [[3, 3], [3, 3], [3, 3]], n_options=5)
    assert perfect.by_group[1] == 1.0
    # Bimodal disagreement: variance above the uniform null -> truncated to 0.
    split = ps.rwg_j([7] * 4, [[1, 1], [5, 5], [1, 1], [5, 5]], n_options=5)
    assert split.by_group[7] == 0.0
    single_item = ps.rwg_j([1, 1, 1, 1], [2, 3, 3, 4], n_options=5)  # r_wg = 1 - s2/sigma2
    assert single_item.by_group[1] == pytest.approx(1 - (2 / 3) / 2)


def test_rwg_j_invalid_input() -> None:
    with pytest.raises(ValueError, match="n_options"):
        ps.rwg_j([1, 1], [[1], [2]], n_options=1)
    with pytest.raises(ValueError, match="items span 6 scale points"):
        ps.rwg_j([1, 1], [[1], [7]], n_options=5)
    with pytest.raises(ValueError, match="groups and items must have the same length"):
        ps.rwg_j([1, 1, 1], [[1], [2]], n_options=5)
    with pytest.raises(ValueError, match="two or more respondents"):
        ps.rwg_j([1, 2], [[1], [2]], n_options=5)
