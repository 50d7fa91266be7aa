"""Within-group agreement r_wg(j) (James, Demaree & Wolf 1984), from raw answers or from
per-group item sums and sums of squares."""

from __future__ import annotations

from collections.abc import Hashable
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from pulse_stats._validation import (
    as_float_matrix,
    as_labels,
    check_positive_int,
    check_same_length,
    complete_rows,
    encode_labels,
)
from pulse_stats.results import RwgResult

__all__ = ["rwg_j", "rwg_j_from_summaries"]


def rwg_j(groups: ArrayLike, items: ArrayLike, *, n_options: int) -> RwgResult:
    """Within-group agreement r_wg(j) for a J-item scale (James, Demaree & Wolf 1984).

    Parameters
    ----------
    groups : array_like
        1-D group label of each respondent.
    items : array_like
        Respondents x items answers (a 1-D array is a single item, giving r_wg).
        Respondents (rows) with any missing item, or a missing group label, are dropped.
    n_options : int
        Number of response options A of the scale (at least 2), e.g. 5 for a 1-5 scale.

    Returns
    -------
    RwgResult
        ``by_group`` (group label -> r_wg(j), NaN for a single respondent), and the
        ``mean`` and ``median`` over groups with a defined value.

    Raises
    ------
    ValueError
        Mismatched lengths, answers spanning more than ``n_options - 1`` points,
        ``n_options`` < 2, or no group with two or more respondents.

    See Also
    --------
    rwg_j_from_summaries : the same estimator from per-group item sums.

    Notes
    -----
    r_wg(j) = J(1 - s2/sigma2) / (J(1 - s2/sigma2) + s2/sigma2), where s2 is the mean of
    the J within-group item variances (n - 1 denominator) and sigma2 = (A^2 - 1)/12 is the
    variance of a uniform ("no agreement") null on A response options (James, Demaree &
    Wolf 1984 [1]_). As in R ``multilevel::rwg.j``: when s2 > sigma2 the group's value is
    truncated to 0 (s2 is set to sigma2); a group with a single respondent gets NaN.

    References
    ----------
    .. [1] James, L. R., Demaree, R. G. & Wolf, G. (1984). Estimating within-group
       interrater reliability with and without response bias. J. Appl. Psychol. 69:85-98.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> groups = ["a", "a", "a", "b", "b", "b"]
    >>> items = [[4, 5], [5, 5], [4, 4], [1, 5], [5, 1], [3, 3]]
    >>> res = ps.rwg_j(groups, items, n_options=5)
    >>> {g: round(v, 3) for g, v in res.by_group.items()}
    {'a': 0.909, 'b': 0.0}
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
    n: ArrayLike,
    item_sums: ArrayLike,
    item_sums_of_squares: ArrayLike,
    *,
    n_options: int,
) -> RwgResult:
    """r_wg(j) per group from sufficient statistics (James, Demaree & Wolf 1984).

    Parameters
    ----------
    n : array_like
        Either the respondents per group (1-D; every respondent answered every item, as
        rwg.j's complete cases: then the result equals :func:`rwg_j` on the raw rows) or
        the answers per group and item (groups x items, for stores that aggregate items
        separately).
    item_sums : array_like
        Groups x items sums S_i of the answers (1-D: one item).
    item_sums_of_squares : array_like
        Groups x items sums of squared answers Q_i, same shape as ``item_sums``.
    n_options : int
        Number of response options A of the scale (at least 2).

    Returns
    -------
    RwgResult
        ``by_group`` keyed by the group's position (0, 1, ...), NaN for a group without
        any item answered twice, and the ``mean`` and ``median`` over defined groups.

    Raises
    ------
    ValueError
        Shape mismatches, missing or infinite values, non-integer or negative counts,
        ``item_sums_of_squares`` below ``item_sums**2 / n``, ``n_options`` < 2, or no
        group with two or more respondents.

    See Also
    --------
    rwg_j : the same estimator on raw answers.

    Notes
    -----
    Same estimator and truncation as :func:`rwg_j` and R ``multilevel::rwg.j``:
    r_wg(j) = J(1 - s2/sigma2) / (J(1 - s2/sigma2) + s2/sigma2) with sigma2 = (A^2 - 1)/12
    (uniform null on A = ``n_options`` response options; James, Demaree & Wolf 1984 [1]_),
    s2 the mean over the J items of the within-group item variance, here
    s2_i = (Q_i - S_i^2 / n) / (n - 1); s2 > sigma2 is truncated to sigma2
    (r_wg(j) = 0). With 2-D ``n`` each item's variance uses its own n (available cases,
    unlike rwg.j's listwise deletion) and items with fewer than two answers in a group are
    left out of that group's mean, with J counting the items kept. The subtraction loses
    about log10((mean/sd)^2) digits, negligible for rating scales. Cost
    O(groups x items), independent of the number of respondents.

    References
    ----------
    .. [1] James, L. R., Demaree, R. G. & Wolf, G. (1984). Estimating within-group
       interrater reliability with and without response bias. J. Appl. Psychol. 69:85-98.

    Examples
    --------
    The groups of the :func:`rwg_j` example as per-item sums and sums of squares:

    >>> import pulse_stats as ps
    >>> res = ps.rwg_j_from_summaries(
    ...     [3, 3], [[13, 14], [9, 9]], [[57, 66], [35, 35]], n_options=5
    ... )
    >>> {g: round(v, 3) for g, v in res.by_group.items()}
    {0: 0.909, 1: 0.0}
    """
    a = check_positive_int("n_options", n_options, minimum=2)
    sums = as_float_matrix("item_sums", item_sums)
    squares = as_float_matrix("item_sums_of_squares", item_sums_of_squares)
    try:
        counts = np.asarray(n, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("n must be numeric") from exc
    if sums.shape != squares.shape:
        raise ValueError(
            f"item_sums and item_sums_of_squares must have the same shape (got {sums.shape} and "
            f"{squares.shape})"
        )
    if counts.ndim == 1:
        counts = np.repeat(counts[:, np.newaxis], sums.shape[1], axis=1)
    if counts.ndim != 2 or counts.shape != sums.shape:
        raise ValueError(
            f"n must have one entry per group or per group and item (got shape {counts.shape} "
            f"for item_sums of shape {sums.shape})"
        )
    for name, array in (("n", counts), ("item_sums", sums), ("item_sums_of_squares", squares)):
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
        raise ValueError(
            "item_sums_of_squares is smaller than item_sums**2 / n for some group and item"
        )
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
