"""Group-level reliability: ICC(1) and ICC(2), from raw values or from per-group
sufficient statistics (r_wg(j) agreement is in :mod:`pulse_stats.agreement`)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pulse_stats._validation import (
    FloatArray,
    as_float_vector,
    as_labels,
    check_method,
    check_min_n,
    check_same_length,
    complete_rows,
    encode_labels,
)
from pulse_stats.results import IccResult

__all__ = ["GroupSize", "icc", "icc_from_summaries"]

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
    *,
    group_size: GroupSize = "adjusted",
) -> IccResult:
    """ICC(1) and ICC(2) from per-group sufficient statistics (n_j, sum_j, sum of squares_j).

    Parameters
    ----------
    n : array_like
        1-D group sizes n_j (positive integers).
    sums : array_like
        1-D sum of the values S_j in each group.
    sums_of_squares : array_like
        1-D sum of the squared values Q_j in each group.
    group_size : {"adjusted", "mean"}, default "adjusted"
        Choice of k for unequal group sizes, as in :func:`icc`.

    Returns
    -------
    IccResult
        ``icc1``, ``icc2``, ``f_statistic`` and its ``p_value``, ``n_groups`` and
        ``mean_group_size`` (N/J).

    Raises
    ------
    ValueError
        Mismatched lengths, missing values, non-integer or non-positive sizes,
        ``sums_of_squares`` below ``sums**2 / n``, fewer than 2 groups or N - J < 1, or
        constant values.

    See Also
    --------
    icc : the same estimator on raw values.

    Notes
    -----
    Same estimator as :func:`icc` (one-way random-effects ANOVA; Bliese 2000 [1]_;
    Donner 1986 [2]_) from n_j, S_j and Q_j:
    SS_between = sum(S_j^2/n_j) - S^2/N and SS_within = sum(Q_j) - sum(S_j^2/n_j).
    Precision: the subtraction loses about log10((mean/sd)^2) digits, which is negligible
    for survey scales (means near their SD); for data with a huge mean, centre values
    before summing.

    References
    ----------
    .. [1] Bliese, P. D. (2000). Within-group agreement, non-independence, and
       reliability. In Klein & Kozlowski (eds.), *Multilevel Theory, Research, and Methods
       in Organizations*, 349-381. Jossey-Bass.
    .. [2] Donner, A. (1986). Int. Stat. Rev. 54:67-82.

    Examples
    --------
    The groups of the :func:`icc` example, summarised as (n_j, S_j, Q_j):

    >>> import pulse_stats as ps
    >>> res = ps.icc_from_summaries([3, 3, 4], [12, 6, 18], [50, 14, 82])
    >>> round(res.icc1, 3), round(res.icc2, 3)
    (0.679, 0.875)
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


def icc(
    groups: ArrayLike,
    values: ArrayLike,
    *,
    group_size: GroupSize = "adjusted",
) -> IccResult:
    """ICC(1) and ICC(2) of ``values`` nested in ``groups`` (one-way random-effects ANOVA).

    Parameters
    ----------
    groups : array_like
        1-D group label of each value (e.g. the unit of each respondent).
    values : array_like
        1-D values, same length as ``groups``. Rows with a missing value or group label
        are dropped.
    group_size : {"adjusted", "mean"}, default "adjusted"
        Choice of k for unequal group sizes (see Notes).

    Returns
    -------
    IccResult
        ``icc1``, ``icc2``, ``f_statistic`` and its ``p_value``, ``n_groups`` and
        ``mean_group_size`` (N/J).

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than 3 values or 2 groups, no within-group degrees of
        freedom, constant values or an unknown group_size.

    See Also
    --------
    icc_from_summaries : the same estimator from per-group sums.

    Notes
    -----
    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) and ICC(2) = (MSB - MSW) / MSB
    (Bliese 2000 [1]_; Shrout & Fleiss 1979 [2]_ ICC(1,1) and ICC(1,k) for balanced data).
    F = MSB/MSW on (J-1, N-J) df with its upper-tail p-value.

    ``group_size`` chooses k for unequal group sizes:

    * ``"adjusted"`` (default): k0 = (N - sum(n_j^2)/N) / (J - 1), the coefficient of the
      between-group variance in E[MSB] for unbalanced one-way designs (Snedecor & Cochran
      1989 [3]_; Donner 1986 [4]_), so (MSB - MSW)/k0 estimates the between-group variance
      without bias when sizes differ.
    * ``"mean"``: k = N/J, exactly what R ``multilevel::ICC1`` uses.

    Both coincide for equal group sizes. Values are centred before the sums of squares
    are formed, so :func:`icc_from_summaries` gives the same result up to rounding.

    References
    ----------
    .. [1] Bliese, P. D. (2000). Within-group agreement, non-independence, and
       reliability. In Klein & Kozlowski (eds.), *Multilevel Theory, Research, and Methods
       in Organizations*, 349-381. Jossey-Bass.
    .. [2] Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in
       assessing rater reliability. Psychol. Bull. 86:420-428.
    .. [3] Snedecor, G. W. & Cochran, W. G. (1989). *Statistical Methods*, 8th ed. Iowa
       State University Press.
    .. [4] Donner, A. (1986). A review of inference procedures for the intraclass
       correlation coefficient in the one-way random effects model. Int. Stat. Rev.
       54:67-82.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> groups = ["a", "a", "a", "b", "b", "b", "c", "c", "c", "c"]
    >>> values = [4, 5, 3, 2, 1, 3, 5, 4, 5, 4]
    >>> res = ps.icc(groups, values)
    >>> round(res.icc1, 3), round(res.icc2, 3), res.n_groups
    (0.679, 0.875, 3)
    >>> round(ps.icc(groups, values, group_size="mean").icc1, 3)
    0.677
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
