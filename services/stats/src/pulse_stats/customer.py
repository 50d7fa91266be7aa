"""Customer metrics: Net Promoter Score and top-box proportions."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pulse_stats._validation import (
    FloatArray,
    as_float_vector,
    check_confidence_level,
    check_int,
    check_min_n,
    check_positive_int,
)
from pulse_stats.results import NpsResult, ProportionResult

__all__ = ["nps", "nps_from_counts", "top_box", "wilson_interval"]

#: Pseudo-respondents of the adjusted Wald NPS interval (Rocks 2016).
ADJUSTED_WALD_PSEUDO_COUNT = 3.0


def _integer_scores(name: str, values: ArrayLike, low: int, high: int) -> FloatArray:
    scores = as_float_vector(name, values)
    scores = scores[~np.isnan(scores)]
    check_min_n(scores.shape[0], 1, f"non-missing {name}")
    if (scores != np.round(scores)).any():
        raise ValueError(f"{name} must be whole numbers")
    if scores.min() < low or scores.max() > high:
        raise ValueError(
            f"{name} must lie between {low} and {high} (got {scores.min():g} to {scores.max():g})"
        )
    return scores


def _count(name: str, value: int) -> int:
    return check_positive_int(name, value, minimum=0)


def nps_from_counts(
    promoters: int,
    passives: int,
    detractors: int,
    *,
    confidence_level: float = 0.95,
) -> NpsResult:
    """Net Promoter Score from the three counts, with the adjusted Wald interval.

    Parameters
    ----------
    promoters, passives, detractors : int
        Numbers of answers 9-10, 7-8 and 0-6 (non-negative, not all zero).
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    NpsResult
        ``nps`` on -100..100, its standard error ``se``, ``ci_low``/``ci_high`` (adjusted
        Wald), ``n`` and the three counts.

    Raises
    ------
    ValueError
        A negative or non-integer count, no respondents, or a bad confidence_level.

    See Also
    --------
    nps : the same from raw 0-10 answers.

    Notes
    -----
    NPS = 100 (p_P - p_D) (Reichheld 2003 [1]_). Its standard error follows from the
    multinomial variances p(1-p)/n and covariance -p_P p_D / n of (p_P, p_D) (e.g.
    Agresti 2013 [2]_): se = 100 sqrt((p_P + p_D - (p_P - p_D)^2) / n).

    The interval is the adjusted Wald interval that Rocks (2016) [3]_ found to perform
    best among the intervals he compared on real NPS data (the plain Wald interval
    NPS +/- z se undercovers with few respondents or a score near +/-100 and is
    zero-width when every answer falls in one group): add 3 pseudo-respondents, 3/4 of
    them promoters and 3/4 detractors (so 3/2 passives), i.e. n~ = n + 3,
    p~_P = (P + 3/4) / n~, p~_D = (D + 3/4) / n~, and take
    100 [(p~_P - p~_D) +/- z sqrt((p~_P + p~_D - (p~_P - p~_D)^2) / n~)], clipped to
    [-100, 100]. This is the analogue for a difference of two multinomial proportions of
    Agresti & Caffo's (2000) [4]_ adjustment; the same pseudo-counts are used at every
    confidence level. The interval is centred on the adjusted score, which lies between
    the NPS and 0, so at low confidence levels it may exclude an NPS of exactly +/-100.

    References
    ----------
    .. [1] Reichheld, F. F. (2003). The one number you need to grow. Harv. Bus. Rev.
       81(12):46-54.
    .. [2] Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed. Wiley.
    .. [3] Rocks, B. (2016). Interval estimation for the "Net Promoter Score". Am. Stat.
       70:365-372.
    .. [4] Agresti, A. & Caffo, B. (2000). Simple and effective confidence intervals for
       proportions and differences of proportions result from adding two successes and
       two failures. Am. Stat. 54:280-288.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> res = ps.nps_from_counts(60, 20, 20)
    >>> res.nps, round(res.se, 2), round(res.ci_low, 1), round(res.ci_high, 1)
    (40.0, 8.0, 23.4, 54.3)
    """
    level = check_confidence_level(confidence_level)
    n_p, n_0, n_d = (
        _count("promoters", promoters),
        _count("passives", passives),
        _count("detractors", detractors),
    )
    n = n_p + n_0 + n_d
    check_min_n(n, 1, "respondents (promoters + passives + detractors)")
    p_p, p_d = n_p / n, n_d / n
    score = 100.0 * (p_p - p_d)
    se = 100.0 * math.sqrt(max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n)
    n_adj = n + ADJUSTED_WALD_PSEUDO_COUNT
    q_p = (n_p + ADJUSTED_WALD_PSEUDO_COUNT / 4.0) / n_adj
    q_d = (n_d + ADJUSTED_WALD_PSEUDO_COUNT / 4.0) / n_adj
    centre = 100.0 * (q_p - q_d)
    half = (
        float(stats.norm.ppf(0.5 + level / 2.0))
        * 100.0
        * math.sqrt((q_p + q_d - (q_p - q_d) ** 2) / n_adj)
    )
    return NpsResult(
        nps=score,
        se=se,
        ci_low=max(-100.0, centre - half),
        ci_high=min(100.0, centre + half),
        n=n,
        promoters=n_p,
        passives=n_0,
        detractors=n_d,
    )


def nps(scores: ArrayLike, *, confidence_level: float = 0.95) -> NpsResult:
    """Net Promoter Score of 0-10 "likelihood to recommend" answers.

    Parameters
    ----------
    scores : array_like
        1-D whole-number answers between 0 and 10; missing answers (NaN) are dropped.
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    NpsResult
        As :func:`nps_from_counts`; ``n`` reports the answers used.

    Raises
    ------
    ValueError
        Answers outside 0-10 or not whole numbers, no answers, or a bad confidence_level.

    Notes
    -----
    Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld 2003 [1]_). See
    :func:`nps_from_counts` for the standard error and interval.

    References
    ----------
    .. [1] Reichheld, F. F. (2003). The one number you need to grow. Harv. Bus. Rev.
       81(12):46-54.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> res = ps.nps([10, 9, 9, 8, 7, 6, 3, 10, 10, 5])
    >>> res.nps, res.promoters, res.passives, res.detractors
    (20.0, 5, 2, 3)
    >>> round(res.ci_low, 1), round(res.ci_high, 1)
    (-30.3, 61.1)
    """
    s = _integer_scores("scores", scores, 0, 10)
    return nps_from_counts(
        int(np.count_nonzero(s >= 9)),
        int(np.count_nonzero((s >= 7) & (s <= 8))),
        int(np.count_nonzero(s <= 6)),
        confidence_level=confidence_level,
    )


def wilson_interval(successes: int, n: int, *, confidence_level: float = 0.95) -> ProportionResult:
    """Proportion successes/n with the Wilson (1927) score interval.

    Parameters
    ----------
    successes : int
        Number of successes, 0 <= successes <= n.
    n : int
        Number of trials (at least 1).
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    ProportionResult
        Proportion ``p``, ``ci_low``/``ci_high`` and ``n``.

    Raises
    ------
    ValueError
        Negative or non-integer counts, successes > n, or a bad confidence_level.

    Notes
    -----
    (p + z^2/(2n) -/+ z sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n) (Wilson 1927 [1]_;
    recommended by Newcombe 1998 [2]_ and Agresti & Coull 1998 [3]_). Equals
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA 22:209-212.
    .. [2] Newcombe, R. G. (1998). Two-sided confidence intervals for the single
       proportion: comparison of seven methods. Stat. Med. 17:857-872.
    .. [3] Agresti, A. & Coull, B. A. (1998). Approximate is better than "exact" for
       interval estimation of binomial proportions. Am. Stat. 52:119-126.

    Examples
    --------
    Newcombe's (1998) first worked example, 81 of 263:

    >>> import pulse_stats as ps
    >>> res = ps.wilson_interval(81, 263)
    >>> round(res.p, 4), round(res.ci_low, 4), round(res.ci_high, 4)
    (0.308, 0.2553, 0.3662)
    """
    level = check_confidence_level(confidence_level)
    total = check_positive_int("n", n, minimum=1)
    k = _count("successes", successes)
    if k > total:
        raise ValueError(f"successes must not exceed n (got {k} > {total})")
    p = k / total
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2.0 * total)) / denom
    half = z * math.sqrt(p * (1.0 - p) / total + z * z / (4.0 * total * total)) / denom
    # The limits are exactly 0 at k = 0 and 1 at k = n; pin them against rounding error.
    low = 0.0 if k == 0 else min(max(0.0, centre - half), p)
    high = 1.0 if k == total else max(min(1.0, centre + half), p)
    return ProportionResult(p=p, ci_low=low, ci_high=high, n=total)


def top_box(
    scores: ArrayLike,
    *,
    scale_max: int,
    scale_min: int = 1,
    boxes: int = 2,
    confidence_level: float = 0.95,
) -> ProportionResult:
    """Share of answers in the top ``boxes`` categories of a scale_min..scale_max scale.

    Parameters
    ----------
    scores : array_like
        1-D whole-number answers between ``scale_min`` and ``scale_max``; missing answers
        (NaN) are dropped.
    scale_max : int
        Highest scale point (e.g. 5 on a 1-5 scale).
    scale_min : int, default 1
        Lowest scale point.
    boxes : int, default 2
        Number of top categories counted (2: top-2-box).
    confidence_level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.

    Returns
    -------
    ProportionResult
        Proportion ``p`` with the Wilson interval of :func:`wilson_interval` and ``n``,
        the answers used.

    Raises
    ------
    ValueError
        scale_max <= scale_min, more boxes than scale points, answers off the scale or
        not whole numbers, or a bad confidence_level.

    Notes
    -----
    E.g. top-2-box on a 1-5 scale counts 4s and 5s (Sauro & Lewis 2016 [1]_); the
    interval is Wilson's (1927) [2]_.

    References
    ----------
    .. [1] Sauro, J. & Lewis, J. R. (2016). *Quantifying the User Experience*, 2nd ed.
       Morgan Kaufmann.
    .. [2] Wilson, E. B. (1927). JASA 22:209-212.

    Examples
    --------
    >>> import pulse_stats as ps
    >>> res = ps.top_box([5, 4, 4, 3, 2, 5, 1, 4], scale_max=5)
    >>> res.p, round(res.ci_low, 3), round(res.ci_high, 3)
    (0.625, 0.306, 0.863)
    """
    top = check_int("scale_max", scale_max)
    bottom = check_int("scale_min", scale_min)
    if top <= bottom:
        raise ValueError(f"scale_max must exceed scale_min (got {top} <= {bottom})")
    width = check_positive_int("boxes", boxes, minimum=1)
    if width > top - bottom + 1:
        raise ValueError(f"boxes must not exceed the {top - bottom + 1} scale points (got {width})")
    s = _integer_scores("scores", scores, bottom, top)
    hits = int(np.count_nonzero(s > top - width))
    return wilson_interval(hits, int(s.shape[0]), confidence_level=confidence_level)
