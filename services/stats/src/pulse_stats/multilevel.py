"""Group-level reliability and agreement: ICC(1), ICC(2) and r_wg(j), from raw values or
from per-group sufficient statistics."""

from __future__ import annotations

from collections.abc import Hashable
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pulse_stats._validation import (
    FloatArray,
    as_float_matrix,
    as_float_vector,
    as_labels,
    check_method,
    check_min_n,
    check_positive_int,
    check_same_length,
    complete_rows,
    encode_labels,
)
from pulse_stats.results import IccResult, RwgResult

GroupSize = Literal["adjusted", "mean"]


def _icc_core(
    n: FloatArray, sums: FloatArray, sums_of_squares: FloatArray, group_size: str
) -> IccResult:
    check_method(group_size, ("adjusted", "mean"), name="group_size")
    n_groups = n.shape[0]
    check_min_n(n_groups, 2, "groups for an ICC")
    total = float(n.sum())
    check_min_n(int(total) - n_groups, 1, "within-group degrees of freedom (N - groups)")
    between_terms = sums * sums / n
    grand = float(sums.sum())
    ss_between = max(float(between_terms.sum()) - grand * grand / total, 0.0)
    ss_within = max(float(sums_of_squares.sum()) - float(between_terms.sum()), 0.0)
    if ss_between == 0.0 and ss_within == 0.0:
        raise ValueError("values are constant; the ICC is undefined")
    ms_between = ss_between / (n_groups - 1)
    ms_within = ss_within / (total - n_groups)
    if group_size == "adjusted":
        k = (total - float(np.sum(n * n)) / total) / (n_groups - 1)
    else:
        k = total / n_groups
    if ms_within == 0.0:
        f_stat, p_value, icc1, icc2 = float("inf"), 0.0, 1.0, 1.0
    else:
        f_stat = ms_between / ms_within
        p_value = float(stats.f.sf(f_stat, n_groups - 1, total - n_groups))
        icc1 = (ms_between - ms_within) / (ms_between + (k - 1.0) * ms_within)
        icc2 = (ms_between - ms_within) / ms_between if ms_between > 0 else float("-inf")
    return IccResult(
        icc1=float(icc1),
        icc2=float(icc2),
        f_statistic=float(f_stat),
        p_value=p_value,
        n_groups=n_groups,
        mean_group_size=total / n_groups,
    )


def icc_from_summaries(
    n: ArrayLike,
    sums: ArrayLike,
    sums_of_squares: ArrayLike,
    group_size: GroupSize = "adjusted",
) -> IccResult:
    """ICC(1) and ICC(2) from per-group sufficient statistics (n_j, sum_j, sum of squares_j).

    Same estimator as :func:`icc` (one-way random-effects ANOVA; Bliese 2000; Donner 1986)
    from n_j, S_j = sum of values and Q_j = sum of squared values per group:
    SS_between = sum(S_j^2/n_j) - S^2/N and SS_within = sum(Q_j) - sum(S_j^2/n_j). Precision: the
    subtraction loses about log10((mean/sd)^2) digits, which is negligible for survey
    scales (means near their SD); for data with a huge mean, centre values before summing.
    """
    na = as_float_vector("n", n)
    sa = as_float_vector("sums", sums)
    qa = as_float_vector("sums_of_squares", sums_of_squares)
    check_same_length(n=na, sums=sa, sums_of_squares=qa)
    if np.isnan(na).any() or np.isnan(sa).any() or np.isnan(qa).any():
        raise ValueError("n, sums and sums_of_squares must not contain missing values")
    if (na < 1).any() or (na != np.round(na)).any():
        raise ValueError("n must contain positive integer group sizes")
    within = qa - sa * sa / na
    tolerance = 1e-9 * np.maximum(np.abs(qa), 1.0)
    if (within < -tolerance).any():
        raise ValueError("sums_of_squares is smaller than sums**2 / n for some group")
    return _icc_core(na, sa, qa, group_size)


def icc(groups: ArrayLike, values: ArrayLike, group_size: GroupSize = "adjusted") -> IccResult:
    """ICC(1) and ICC(2) of ``values`` nested in ``groups`` (one-way random-effects ANOVA).

    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) and ICC(2) = (MSB - MSW) / MSB
    (Bliese 2000, in Klein & Kozlowski (eds.), *Multilevel Theory, Research, and Methods in
    Organizations*, 349-381; Shrout & Fleiss 1979 ICC(1,1) and ICC(1,k) for balanced data).
    F = MSB/MSW on (J-1, N-J) df with its upper-tail p-value.

    ``group_size`` chooses k for unequal group sizes:

    * ``"adjusted"`` (default): k0 = (N - sum(n_j^2)/N) / (J - 1), the coefficient of the
      between-group variance in E[MSB] for unbalanced one-way designs (Snedecor & Cochran
      1989, *Statistical Methods*, 8th ed.; Donner 1986, Int. Stat. Rev. 54:67-82), so
      (MSB - MSW)/k0 estimates the between-group variance without bias when sizes differ.
    * ``"mean"``: k = N/J, exactly what R ``multilevel::ICC1`` uses.

    Both coincide for equal group sizes. ``mean_group_size`` reports N/J. Rows with a
    missing value or group label are dropped. Values are centred before the sums of squares
    are formed, so :func:`icc_from_summaries` gives the same result up to rounding.
    """
    labels, missing_label = as_labels("groups", groups)
    va = as_float_vector("values", values)
    check_same_length(groups=labels, values=va)
    keep = complete_rows(va) & ~missing_label
    labels, va = labels[keep], va[keep]
    check_min_n(va.shape[0], 3, "non-missing values for an ICC")
    _, codes = encode_labels("groups", labels)
    centred = va - va.mean()
    n_groups = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    sums = np.asarray(np.bincount(codes, weights=centred, minlength=n_groups), dtype=np.float64)
    squares = np.asarray(
        np.bincount(codes, weights=centred * centred, minlength=n_groups), dtype=np.float64
    )
    return _icc_core(counts, sums, squares, group_size)


def rwg_j(groups: ArrayLike, items: ArrayLike, n_options: int) -> RwgResult:
    """Within-group agreement r_wg(j) for a J-item scale (James, Demaree & Wolf 1984).

    r_wg(j) = J(1 - s2/sigma2) / (J(1 - s2/sigma2) + s2/sigma2), where s2 is the mean of
    the J within-group item variances (n - 1 denominator) and sigma2 = (A^2 - 1)/12 is the
    variance of a uniform ("no agreement") null on A response options (J. Appl. Psychol.
    69:85-98). As in R ``multilevel::rwg.j``: when s2 > sigma2 the group's value is
    truncated to 0 (s2 is set to sigma2); a group with a single respondent gets NaN;
    respondents (rows) with any missing item are dropped. ``mean`` and ``median`` are over
    groups with a defined value. ``items`` is respondents x items (a 1-D array is a single
    item, giving r_wg of James et al. 1984).
    """
    a = check_positive_int("n_options", n_options, minimum=2)
    labels, missing_label = as_labels("groups", groups)
    mat = as_float_matrix("items", items)
    check_same_length(groups=labels, items=mat)
    keep = complete_rows(mat) & ~missing_label
    labels, mat = labels[keep], mat[keep]
    if mat.shape[0] and float(mat.max() - mat.min()) > a - 1:
        raise ValueError(
            f"items span {float(mat.max() - mat.min()):g} scale points, more than "
            f"n_options - 1 = {a - 1}"
        )
    uniques, codes = encode_labels("groups", labels)
    n_groups = uniques.shape[0]
    j_items = mat.shape[1]
    sigma2 = (a * a - 1.0) / 12.0
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    values = np.full(n_groups, np.nan)
    if n_groups:
        sums = np.stack(
            [np.bincount(codes, weights=mat[:, i], minlength=n_groups) for i in range(j_items)],
            axis=1,
        )
        means = sums / counts[:, np.newaxis]
        dev = mat - means[codes]
        ss = np.stack(
            [
                np.bincount(codes, weights=dev[:, i] ** 2, minlength=n_groups)
                for i in range(j_items)
            ],
            axis=1,
        )
        multi = counts > 1
        s2 = np.minimum(ss[multi].mean(axis=1) / (counts[multi] - 1.0), sigma2)
        ratio = s2 / sigma2
        values[multi] = j_items * (1.0 - ratio) / (j_items * (1.0 - ratio) + ratio)
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        raise ValueError("groups: r_wg(j) needs at least one group with two or more respondents")
    keys: list[Hashable] = [u.item() if isinstance(u, np.generic) else u for u in uniques]
    by_group = MappingProxyType(dict(zip(keys, (float(v) for v in values), strict=True)))
    return RwgResult(
        by_group=by_group, mean=float(defined.mean()), median=float(np.median(defined))
    )


def rwg_j_from_summaries(
    n: ArrayLike, item_sums: ArrayLike, item_sumsq: ArrayLike, n_options: int
) -> RwgResult:
    """r_wg(j) per group from sufficient statistics (James, Demaree & Wolf 1984).

    Same estimator and truncation as :func:`rwg_j` and R ``multilevel::rwg.j``:
    r_wg(j) = J(1 - s2/sigma2) / (J(1 - s2/sigma2) + s2/sigma2) with sigma2 = (A^2 - 1)/12
    (uniform null on A = ``n_options`` response options; J. Appl. Psychol. 69:85-98), s2 the
    mean over the J items of the within-group item variance, here
    s2_i = (Q_i - S_i^2 / n) / (n - 1) from the group's item sums S_i and sums of squares Q_i;
    s2 > sigma2 is truncated to sigma2 (r_wg(j) = 0).

    ``item_sums`` and ``item_sumsq`` are groups x items (1-D: one item). ``n`` is either the
    respondents per group (1-D; every respondent answered every item, as rwg.j's complete
    cases: then the result equals :func:`rwg_j` on the raw rows) or answers per group and item
    (2-D, for stores that aggregate items separately): each item's variance then uses its own
    n (available cases, unlike rwg.j's listwise deletion) and items with fewer than two
    answers in a group are left out of that group's mean, with J counting the items kept.
    A group without any item answered twice gets NaN. ``by_group`` is keyed by the group's
    position (0, 1, ...). The subtraction loses about log10((mean/sd)^2) digits, negligible
    for rating scales. Cost O(groups x items), independent of the number of respondents.
    """
    a = check_positive_int("n_options", n_options, minimum=2)
    sums = as_float_matrix("item_sums", item_sums)
    squares = as_float_matrix("item_sumsq", item_sumsq)
    try:
        counts = np.asarray(n, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("n must be numeric") from exc
    if sums.shape != squares.shape:
        raise ValueError(
            f"item_sums and item_sumsq must have the same shape (got {sums.shape} and "
            f"{squares.shape})"
        )
    if counts.ndim == 1:
        counts = np.repeat(counts[:, np.newaxis], sums.shape[1], axis=1)
    if counts.ndim != 2 or counts.shape != sums.shape:
        raise ValueError(
            f"n must have one entry per group or per group and item (got shape {counts.shape} "
            f"for item_sums of shape {sums.shape})"
        )
    for name, array in (("n", counts), ("item_sums", sums), ("item_sumsq", squares)):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} must not contain missing or infinite values")
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("n must contain non-negative integer counts")
    n_groups = sums.shape[0]
    sigma2 = (a * a - 1.0) / 12.0
    usable = counts >= 2
    safe_n = np.where(usable, counts, 2.0)
    within = squares - sums * sums / safe_n
    tolerance = 1e-9 * np.maximum(np.abs(squares), 1.0)
    if (usable & (within < -tolerance)).any():
        raise ValueError("item_sumsq is smaller than item_sums**2 / n for some group and item")
    variances = np.where(usable, np.maximum(within, 0.0) / (safe_n - 1.0), 0.0)
    j_items = usable.sum(axis=1).astype(np.float64)
    values = np.full(n_groups, np.nan)
    multi = j_items > 0
    if multi.any():
        s2 = np.minimum(variances[multi].sum(axis=1) / j_items[multi], sigma2)
        ratio = s2 / sigma2
        j = j_items[multi]
        values[multi] = j * (1.0 - ratio) / (j * (1.0 - ratio) + ratio)
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        raise ValueError("n: r_wg(j) needs at least one group with two or more respondents")
    positions: dict[Hashable, float] = {i: float(v) for i, v in enumerate(values)}
    by_group = MappingProxyType(positions)
    return RwgResult(
        by_group=by_group, mean=float(defined.mean()), median=float(np.median(defined))
    )
