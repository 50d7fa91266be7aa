"""Two corrections shown beside the correlation of unit means, pure:

* the n-weighted multilevel estimate: a random-intercept model of the outcome's
  respondents on the unit's predictor value (REML from the unit sums,
  ``pulse_stats.random_intercept_regression``), so units weigh by the precision of their
  mean, expressed on the correlation scale, with a note when it disagrees with the
  unweighted correlation of means;
* the disattenuated correlation, with its interval, flagged when it is not a finding."""

from __future__ import annotations

import math
from statistics import stdev

import pulse_stats
from pulse_common.measures import human_name

from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import (
    Diagnostic,
    Disattenuation,
    Estimate,
    Options,
    PredictorLinkage,
    UnitTable,
)
from pulse_correlation.values import reported

DISAGREEMENT = 0.10  # |multilevel r - correlation of means| that earns a note


def _excludes_zero(e: Estimate) -> bool:
    return e.ci_low > 0 or e.ci_high < 0


def multilevel(
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """The slope b of the outcome's answers on the unit's predictor value, with units as
    random intercepts, on the correlation scale: r_w = b s_x / s_y with s_x, s_y the
    standard deviations of the unit values. With equal units r_w is the correlation of
    means exactly; with unequal units it weighs each by 1 / (tau^2 + sigma^2 / n_j)
    (Raudenbush & Bryk 2002, ch. 4). Interval and test are the slope's (t, units - 2 df)."""
    if len(table.outcome_sums.n) != len(table.units):
        return  # no per-unit respondent sums (nothing to weight by)
    rows = [
        (n, s, q, x)
        for n, s, q, x in zip(
            table.outcome_sums.n,
            table.outcome_sums.sums,
            table.outcome_sums.squares,
            table.x[link.predictor],
            strict=True,
        )
        if n > 0 and math.isfinite(x)
    ]
    if len(rows) < 3:
        return
    n, sums, squares, x = (list(column) for column in zip(*rows, strict=True))
    fit = attempts.attempt(
        f"{link.predictor}: n-weighted multilevel estimate",
        lambda: pulse_stats.random_intercept_regression(
            n, sums, squares, x, confidence_level=options.confidence_level
        ),
    )
    values = [y for y, count in zip(table.y, table.outcome_sums.n, strict=True) if count > 0]
    if fit is None or len(values) < 2 or stdev(values) == 0:
        return
    scale = stdev(x) / stdev(values)
    link.multilevel = Estimate(
        "multilevel (n-weighted)",
        reported(fit.slope * scale),
        reported(fit.p_value),
        reported(fit.ci_low * scale),
        reported(fit.ci_high * scale),
        fit.n_units,
    )
    main = link.pearson
    if main is None or not math.isfinite(main.r) or not math.isfinite(link.multilevel.r):
        return
    weighted = link.multilevel
    if abs(weighted.r - main.r) >= DISAGREEMENT or _excludes_zero(weighted) != _excludes_zero(main):
        link.multilevel_note = (
            f"{human_name(link.predictor)}: the n-weighted multilevel estimate "
            f"(r = {weighted.r:.2f}, {weighted.ci_low:.2f} to {weighted.ci_high:.2f}) differs "
            f"from the correlation of unit means (r = {main.r:.2f}, {main.ci_low:.2f} to "
            f"{main.ci_high:.2f}): units of very different sizes pull the two apart, and the "
            "weighted one trusts units with more respondents more."
        )


def disattenuate(
    link: PredictorLinkage,
    predictor: Diagnostic | None,
    outcome: Diagnostic | None,
    options: Options,
) -> None:
    """r / sqrt(rel_x rel_y) with the same correction applied to the interval's ends
    (Spearman 1904; Schmidt & Hunter 2015, ch. 3, reliabilities treated as known). The
    reliabilities are those of the unit means (``diagnostics``). A value above 1 or an
    interval crossing +/-1 is flagged: the reliabilities are then underestimated or r is
    inflated by sampling error, and the number is not a finding."""
    main = link.pearson if options.method == "pearson" else link.spearman
    rel_x = predictor.reliability if predictor is not None else math.nan
    rel_y = outcome.reliability if outcome is not None else math.nan
    nan = math.nan
    usable = all(math.isfinite(v) and 0 < v <= 1 for v in (rel_x, rel_y))
    if main is None or not math.isfinite(main.r) or not usable:
        why = (
            "the correlation of unit means is not computable"
            if main is None or not math.isfinite(main.r)
            else "the reliability of a unit mean is not computable (ICC(1) not above 0)"
        )
        link.disattenuation = Disattenuation(nan, nan, nan, rel_x, rel_y, False, why)
        return
    factor = math.sqrt(rel_x * rel_y)
    r, low, high = main.r / factor, main.ci_low / factor, main.ci_high / factor
    flagged = abs(r) > 1 or high > 1 or low < -1
    note = (
        f"flagged: the corrected value {'exceeds' if abs(r) > 1 else 'has an interval crossing'}"
        " 1, so the reliabilities are underestimated or r is inflated by chance; not a finding"
        if flagged
        else ""
    )
    link.disattenuation = Disattenuation(r, low, high, rel_x, rel_y, flagged, note)
