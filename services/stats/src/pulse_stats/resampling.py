"""Resampling inference for correlations: BCa bootstrap intervals and permutation tests.

All resamples are evaluated in vectorised batches; the random stream is a numpy
Generator so results are reproducible from ``random_state``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from pulse_stats._core import (
    estimate,
    fisher_interval,
    ranks,
    validated_pairs,
    z_standard_error,
)
from pulse_stats._validation import (
    FloatArray,
    as_rng,
    check_confidence_level,
    check_positive_int,
)
from pulse_stats.correlation import Method
from pulse_stats.results import CorrelationResult

__all__ = ["bootstrap_correlation", "permutation_correlation"]

IndexArray = NDArray[np.integer[Any]]

#: Up to this many pairs Kendall's tau is vectorised with sign matrices (O(n^2) memory per
#: resample); beyond it scipy's O(n log n) kendalltau is called once per resample.
KENDALL_VECTOR_MAX = 120
#: Upper bound on array elements of one draw of resample indices (the random stream is
#: drawn in these batches, so it must not change: it fixes which resamples a seed gives).
_BATCH_ELEMENTS = 2_000_000
#: Upper bound on array elements a statistic materialises at a time: each drawn batch is
#: evaluated in slices of rows (every row's statistic is computed on its own, so slicing
#: changes no number), which keeps the temporaries cache-sized and the peak memory of a
#: 500-unit x 9,999-resample bootstrap near 25 MB instead of about 100 MB (issue 20).
_SLICE_ELEMENTS = 250_000


def _pearson_rows(xb: FloatArray, yb: FloatArray) -> FloatArray:
    """Row-wise Pearson r of two (B, m) arrays; NaN where a row is constant."""
    xc = xb - xb.mean(axis=1, keepdims=True)
    yc = yb - yb.mean(axis=1, keepdims=True)
    num = np.einsum("ij,ij->i", xc, yc)
    den = np.sqrt(np.einsum("ij,ij->i", xc, xc) * np.einsum("ij,ij->i", yc, yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)


def _sign_matrix(v: FloatArray) -> FloatArray:
    return np.sign(v[:, np.newaxis] - v[np.newaxis, :])


def _batch_statistic(
    method: str, x: FloatArray, y: FloatArray, ix: IndexArray, iy: IndexArray
) -> FloatArray:
    """Statistic for each row of index arrays ``ix`` (into x) and ``iy`` (into y).

    ``ix`` and ``iy`` are (B, m) or broadcastable (1, m) integer arrays.
    """
    rows = max(ix.shape[0], iy.shape[0])
    m = ix.shape[1]
    if method == "pearson":
        return _pearson_rows(np.broadcast_to(x[ix], (rows, m)), np.broadcast_to(y[iy], (rows, m)))
    if method == "spearman":
        xr = stats.rankdata(np.broadcast_to(x[ix], (rows, m)), axis=1)
        yr = stats.rankdata(np.broadcast_to(y[iy], (rows, m)), axis=1)
        return _pearson_rows(np.asarray(xr, dtype=np.float64), np.asarray(yr, dtype=np.float64))
    if m > KENDALL_VECTOR_MAX:
        out = np.empty(rows, dtype=np.float64)
        for b in range(rows):
            xs = x[ix[b if ix.shape[0] > 1 else 0]]
            ys = y[iy[b if iy.shape[0] > 1 else 0]]
            out[b] = stats.kendalltau(xs, ys).statistic
        return out
    # tau-b = sum s_x s_y / sqrt(sum s_x^2 sum s_y^2) over all ordered pairs (Kendall 1945).
    sx = _sign_matrix(x)[ix[:, :, np.newaxis], ix[:, np.newaxis, :]]
    sy = _sign_matrix(y)[iy[:, :, np.newaxis], iy[:, np.newaxis, :]]
    num = np.einsum("bij,bij->b", np.broadcast_to(sx, (rows, m, m)), sy)
    den = np.sqrt(np.einsum("bij,bij->b", sx, sx) * np.einsum("bij,bij->b", sy, sy))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.broadcast_to(num, (rows,)) / np.broadcast_to(den, (rows,))
    return np.asarray(tau, dtype=np.float64)


def _batch_rows(method: str, m: int, elements: int = _BATCH_ELEMENTS) -> int:
    per_row = m * m if (method == "kendall" and m <= KENDALL_VECTOR_MAX) else m
    return max(1, elements // per_row)


def _sliced_statistic(
    method: str, x: FloatArray, y: FloatArray, ix: IndexArray, iy: IndexArray
) -> FloatArray:
    """``_batch_statistic`` of (B, m) index rows, evaluated ``_SLICE_ELEMENTS`` at a time;
    a (1, m) side is broadcast to every slice."""
    rows = max(ix.shape[0], iy.shape[0])
    step = _batch_rows(method, ix.shape[1], _SLICE_ELEMENTS)
    if rows <= step:
        return _batch_statistic(method, x, y, ix, iy)
    pieces = []
    for start in range(0, rows, step):
        sx = ix if ix.shape[0] == 1 else ix[start : start + step]
        sy = iy if iy.shape[0] == 1 else iy[start : start + step]
        pieces.append(_batch_statistic(method, x, y, sx, sy))
    return np.concatenate(pieces)


def _jackknife_indices(n: int, batch: int) -> Iterator[IndexArray]:
    """Leave-one-out index rows, ``batch`` rows at a time."""
    base = np.arange(n, dtype=np.intp)
    for start in range(0, n, batch):
        leave_out = np.arange(start, min(start + batch, n), dtype=np.intp)
        keep = base[np.newaxis, :] != leave_out[:, np.newaxis]
        yield np.broadcast_to(base, keep.shape)[keep].reshape(leave_out.size, n - 1)


def _bca_limits(
    theta_hat: float, theta_b: FloatArray, theta_jack: FloatArray, confidence_level: float
) -> tuple[float, float]:
    """Bias-corrected and accelerated percentile limits (Efron 1987; Efron & Tibshirani
    1993, ch. 14), computed exactly as scipy.stats.bootstrap(method='BCa')."""
    b = theta_b.size
    below = np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)
    z0 = float(special.ndtri(below / (2.0 * b)))
    d = theta_jack.mean() - theta_jack
    den = 6.0 * float(d @ d) ** 1.5
    a_hat = float(np.sum(d**3)) / den if den > 0 else 0.0
    z_alpha = float(special.ndtri((1.0 - confidence_level) / 2.0))
    limits = []
    for z in (z_alpha, -z_alpha):
        limits.append(float(special.ndtr(z0 + (z0 + z) / (1.0 - a_hat * (z0 + z)))))
    low, high = np.quantile(theta_b, limits)
    return float(low), float(high)


def bootstrap_correlation(
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: Method = "pearson",
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> CorrelationResult:
    """Correlation with a BCa bootstrap interval from resampling (x, y) pairs.

    Parameters
    ----------
    x, y : array_like
        Paired 1-D samples of equal length (one pair per unit). Pairs with a missing value
        (NaN) are dropped.
    method : {"pearson", "spearman", "kendall"}, default "pearson"
        Coefficient, as in :func:`pulse_stats.correlation`.
    n_resamples : int, default 9999
        Number of bootstrap resamples (at least 2).
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator of the resamples; None draws fresh entropy.

    Returns
    -------
    CorrelationResult
        ``r`` is the sample coefficient, ``ci_low``/``ci_high`` the BCa interval and
        ``p_value`` the analytic test of :func:`pulse_stats.correlation` (a bootstrap gives
        an interval, not a test); ``n`` is the number of complete pairs used.

    Raises
    ------
    ValueError
        As :func:`pulse_stats.correlation`; also for ``n_resamples`` < 2, a bad
        ``random_state``, or when fewer than two resamples have a defined coefficient.

    See Also
    --------
    correlation : analytic test and interval.
    permutation_correlation : permutation test of independence.

    Notes
    -----
    The bias-corrected and accelerated interval (Efron 1987 [1]_; Efron & Tibshirani 1993
    [2]_, ch. 14) resamples units, i.e. whole (x, y) pairs, with replacement; the
    acceleration comes from the leave-one-pair-out jackknife. With the same
    ``numpy.random.default_rng`` seed the interval equals
    ``scipy.stats.bootstrap((x, y), ..., paired=True, method='BCa')``. Resamples in which
    the coefficient is undefined (a constant resample) are discarded.

    References
    ----------
    .. [1] Efron, B. (1987). Better bootstrap confidence intervals. JASA 82:171-185.
    .. [2] Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
       Chapman & Hall.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> res = ps.bootstrap_correlation(x, y, n_resamples=999, random_state=1)
    >>> round(res.r, 3), round(res.ci_low, 3), round(res.ci_high, 3)
    (0.571, -0.192, 0.921)
    """
    level = check_confidence_level(confidence_level)
    b_total = check_positive_int("n_resamples", n_resamples, minimum=2)
    rng = as_rng(random_state)
    xa, ya = validated_pairs(x, y, method)
    n = xa.shape[0]
    r, p = estimate(method, xa, ya)

    batch = _batch_rows(method, n)
    draw = np.int32 if n <= np.iinfo(np.int32).max else np.int64
    pieces = []
    for start in range(0, b_total, batch):
        # int32 draws the very numbers int64 draws (numpy fills both from the same bounded
        # 32-bit stream), in half the memory.
        idx = rng.integers(0, n, (min(batch, b_total - start), n), dtype=draw)
        pieces.append(_sliced_statistic(method, xa, ya, idx, idx))
    theta_b = np.concatenate(pieces)
    theta_b = theta_b[np.isfinite(theta_b)]
    if theta_b.size < 2:
        raise ValueError("x and y: too few bootstrap resamples had a defined correlation")

    jack = np.concatenate(
        [
            _batch_statistic(method, xa, ya, idx, idx)
            for idx in _jackknife_indices(n, _batch_rows(method, n - 1))
        ]
    )
    jack = jack[np.isfinite(jack)]
    low, high = _bca_limits(r, theta_b, jack, level)
    return CorrelationResult(r=r, p_value=p, ci_low=low, ci_high=high, n=n, method=method)


def permutation_correlation(
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: Method = "pearson",
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> CorrelationResult:
    """Correlation with a two-sided Monte-Carlo permutation test of independence.

    Parameters
    ----------
    x, y : array_like
        Paired 1-D samples of equal length. Pairs with a missing value (NaN) are dropped.
    method : {"pearson", "spearman", "kendall"}, default "pearson"
        Coefficient, as in :func:`pulse_stats.correlation`.
    n_resamples : int, default 9999
        Number of random permutations (at least 1).
    confidence_level : float, default 0.95
        Confidence level of the (analytic) interval, strictly between 0 and 1.
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator of the permutations; None draws fresh entropy.

    Returns
    -------
    CorrelationResult
        ``r`` is the sample coefficient, ``p_value`` the permutation p-value and
        ``ci_low``/``ci_high`` the analytic interval of :func:`pulse_stats.correlation`
        (a permutation test gives a test, not an interval); ``n`` is the number of
        complete pairs used.

    Raises
    ------
    ValueError
        As :func:`pulse_stats.correlation`; also for ``n_resamples`` < 1 or a bad
        ``random_state``.

    See Also
    --------
    correlation : analytic test and interval.
    bootstrap_correlation : BCa bootstrap interval.

    Notes
    -----
    y is randomly permuted against x m = ``n_resamples`` times; with b permutations whose
    absolute statistic is at least the observed absolute statistic the p-value is
    (b + 1)/(m + 1), which never reaches zero and is exact-valid for random permutations
    (Phipson & Smyth 2010 [1]_).

    References
    ----------
    .. [1] Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero.
       Stat. Appl. Genet. Mol. Biol. 9:39.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> res = ps.permutation_correlation(x, y, n_resamples=999, random_state=1)
    >>> round(res.r, 3), round(res.p_value, 3)
    (0.571, 0.122)
    """
    level = check_confidence_level(confidence_level)
    m_total = check_positive_int("n_resamples", n_resamples, minimum=1)
    rng = as_rng(random_state)
    xa, ya = validated_pairs(x, y, method)
    n = xa.shape[0]
    r, _ = estimate(method, xa, ya)

    # Spearman: ranks are invariant under permutation, so permute ranks and use Pearson.
    stat_method = "pearson" if method == "spearman" else method
    xs, ys = (ranks(xa), ranks(ya)) if method == "spearman" else (xa, ya)
    observed = abs(float(_batch_statistic(stat_method, xs, ys, *_identity(n))[0]))
    tolerance = 1e-12 * max(1.0, observed)

    identity = np.arange(n, dtype=np.intp)[np.newaxis, :]
    batch = _batch_rows(stat_method, n)
    exceed = 0
    for start in range(0, m_total, batch):
        rows = min(batch, m_total - start)
        perm = rng.permuted(np.tile(np.arange(n, dtype=np.intp), (rows, 1)), axis=1)
        stat = _sliced_statistic(stat_method, xs, ys, identity, perm)
        exceed += int(np.count_nonzero(np.abs(stat) >= observed - tolerance))
    p_value = (exceed + 1.0) / (m_total + 1.0)
    low, high = fisher_interval(r, z_standard_error(method, r, n), level)
    return CorrelationResult(r=r, p_value=p_value, ci_low=low, ci_high=high, n=n, method=method)


def _identity(n: int) -> tuple[IndexArray, IndexArray]:
    idx = np.arange(n, dtype=np.intp)[np.newaxis, :]
    return idx, idx
