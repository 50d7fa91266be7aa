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
    promoters: int, passives: int, detractors: int, confidence_level: float = 0.95
) -> NpsResult:
    """Net Promoter Score from the three counts, with a Wald interval.

    NPS = 100 (p_P - p_D) (Reichheld 2003, Harv. Bus. Rev. 81(12):46-54). Its standard error
    follows from the multinomial variances p(1-p)/n and covariance -p_P p_D / n of
    (p_P, p_D) (e.g. Agresti 2013, *Categorical Data Analysis*, 3rd ed.):
    Var = (p_P + p_D - (p_P - p_D)^2) / n, as in Rocks (2016), "Confidence intervals for
    the Net Promoter Score".
    Interval NPS +/- z SE, clipped to [-100, 100]; with few respondents or an NPS near
    +/-100 the Wald interval is optimistic (it is zero-width when every answer is in one
    group).
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
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return NpsResult(
        nps=score,
        se=se,
        ci_low=max(-100.0, score - z * se),
        ci_high=min(100.0, score + z * se),
        n=n,
        promoters=n_p,
        passives=n_0,
        detractors=n_d,
    )


def nps(scores: ArrayLike, confidence_level: float = 0.95) -> NpsResult:
    """Net Promoter Score of 0-10 "likelihood to recommend" answers.

    Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld 2003). Missing answers
    (NaN) are dropped; ``n`` reports the answers used. See :func:`nps_from_counts` for the
    standard error and interval.
    """
    s = _integer_scores("scores", scores, 0, 10)
    return nps_from_counts(
        int(np.count_nonzero(s >= 9)),
        int(np.count_nonzero((s >= 7) & (s <= 8))),
        int(np.count_nonzero(s <= 6)),
        confidence_level,
    )


def wilson_interval(successes: int, n: int, confidence_level: float = 0.95) -> ProportionResult:
    """Proportion successes/n with the Wilson (1927) score interval.

    (p + z^2/(2n) -/+ z sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n) (Wilson 1927, JASA
    22:209-212; recommended by Newcombe 1998, Stat. Med. 17:857-872, and Agresti & Coull
    1998). Equals ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
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
    scale_max: int,
    boxes: int = 2,
    scale_min: int = 1,
    confidence_level: float = 0.95,
) -> ProportionResult:
    """Share of answers in the top ``boxes`` categories of a scale_min..scale_max scale.

    E.g. top-2-box on a 1-5 scale counts 4s and 5s (Sauro & Lewis 2016, *Quantifying the
    User Experience*, 2nd ed.). Missing answers (NaN) are dropped; the interval is Wilson's
    (see :func:`wilson_interval`).
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
    return wilson_interval(hits, int(s.shape[0]), confidence_level)
