"""Repeated-measures correlation (Bland & Altman 1995; Bakdash & Marusich 2017)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from pulse_stats._core import fisher_interval, t_test_p_value
from pulse_stats._validation import (
    as_float_vector,
    as_labels,
    check_confidence_level,
    check_min_n,
    check_same_length,
    complete_rows,
    encode_labels,
)
from pulse_stats.results import RmCorrResult

__all__ = ["repeated_measures_correlation"]


def repeated_measures_correlation(
    subject: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> RmCorrResult:
    """Common within-subject correlation of x and y measured repeatedly on each subject.

    Parameters
    ----------
    subject : array_like
        1-D labels of the subject (e.g. the unit) of each observation.
    x, y : array_like
        1-D paired measurements, same length as ``subject``. Rows with a missing value (or
        a missing subject label) are dropped.
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    RmCorrResult
        ``r``, two-sided ``p_value``, ``ci_low``/``ci_high``, ``n`` (observations used)
        and ``dof`` = observations - subjects - 1.

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than 2 residual degrees of freedom, x or y constant
        within every subject, or a bad confidence_level.

    Notes
    -----
    Equivalent to the ANCOVA y ~ subject + x: r = sign(b) sqrt(SS_x / (SS_x + SS_error)),
    i.e. the Pearson correlation of x and y after centring both within each subject
    (Bland & Altman 1995 [1]_; Bakdash & Marusich 2017 [2]_). dof = N - S - 1
    (N observations, S subjects); the test uses t on dof df. The interval is Fisher's z
    with n = dof + 2, i.e. standard error 1/sqrt(dof - 1), as R ``rmcorr`` >= 0.5.0
    (``psych::r.con(r, df + 2)``) and ``pingouin.rm_corr``.

    References
    ----------
    .. [1] Bland, J. M. & Altman, D. G. (1995). Calculating correlation coefficients with
       repeated observations: Part 1 - correlation within subjects. BMJ 310:446.
    .. [2] Bakdash, J. Z. & Marusich, L. R. (2017). Repeated measures correlation.
       Front. Psychol. 8:456.

    Examples
    --------
    Three units observed in four months each:

    >>> import pulse_stats as ps
    >>> unit = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    >>> x = [60, 62, 65, 63, 70, 71, 74, 73, 50, 55, 53, 57]
    >>> y = [3.8, 3.9, 4.1, 4.0, 4.1, 4.0, 4.4, 4.3, 3.5, 3.8, 3.7, 3.8]
    >>> res = ps.repeated_measures_correlation(unit, x, y)
    >>> round(res.r, 3), res.dof, round(res.p_value, 4)
    (0.897, 8, 0.0004)
    """
    level = check_confidence_level(confidence_level)
    labels, missing_label = as_labels("subject", subject)
    xa = as_float_vector("x", x)
    ya = as_float_vector("y", y)
    check_same_length(subject=labels, x=xa, y=ya)
    keep = complete_rows(xa, ya) & ~missing_label
    labels, xa, ya = labels[keep], xa[keep], ya[keep]
    _, codes = encode_labels("subject", labels)
    n_subjects = int(codes.max()) + 1 if codes.size else 0
    n_obs = xa.shape[0]
    dof = n_obs - n_subjects - 1
    check_min_n(dof, 2, "residual degrees of freedom (observations - subjects - 1)")

    counts = np.bincount(codes, minlength=n_subjects).astype(np.float64)
    xc = xa - (np.bincount(codes, weights=xa, minlength=n_subjects) / counts)[codes]
    yc = ya - (np.bincount(codes, weights=ya, minlength=n_subjects) / counts)[codes]
    sxx, syy, sxy = float(xc @ xc), float(yc @ yc), float(xc @ yc)
    scale_x = float(np.sum((xa - xa.mean()) ** 2))
    scale_y = float(np.sum((ya - ya.mean()) ** 2))
    if sxx <= 1e-24 * max(scale_x, 1.0):
        raise ValueError("x is constant within every subject; rmcorr is undefined")
    if syy <= 1e-24 * max(scale_y, 1.0):
        raise ValueError("y is constant within every subject; rmcorr is undefined")
    r = float(np.clip(sxy / math.sqrt(sxx * syy), -1.0, 1.0))
    low, high = fisher_interval(r, 1.0 / math.sqrt(dof - 1), level)
    return RmCorrResult(
        r=r,
        p_value=t_test_p_value(r, dof),
        ci_low=low,
        ci_high=high,
        n=n_obs,
        method="rmcorr",
        dof=dof,
    )
