"""What the verdict may claim, pure: one family-wise test over every predictor, source and
lag it picks from, then which series moves first for the predictors it links.

The family: for each predictor that passes the reliability gate, the correlation of unit
means ("between", its t-test) and the within-unit correlation at every lag -L..L
("within", the one-sample t-test of the units' cross-products, units as clusters). Holm's
step-down adjustment (Holm 1979) over the whole family keeps the probability of any false
link claim at most alpha = 1 - confidence level, whatever the number of predictors and lags
and however they correlate; the verdict's tiers ("supported", "weak") both require a claim,
so the tiers add no further chances.

Direction: for the linked predictors only, the lead-lag test (``pulse_stats.lead_lag_test``:
forward minus backward within-unit correlation, units as clusters), Holm-adjusted across
them. A direction is stated only when its adjusted p-value is below alpha; otherwise the
series "move together; which comes first cannot be told from these data". Choosing the
predictors by their link statistics does not bias the direction test: those statistics do
not change when a unit's time runs backwards, while the direction statistic changes sign
(``pulse_stats.lead_lag_test``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pulse_stats

from pulse_correlation.report_model import LinkTest, Options, PredictorLinkage

TREATMENT, OUTCOME, CANNOT_TELL, NOT_ASSESSED = (
    "treatment",
    "outcome",
    "cannot_tell",
    "not_assessed",
)


@dataclass(frozen=True)
class Evidence:
    alpha: float
    family_size: int
    linked: list[PredictorLinkage]  # strongest first (smallest adjusted p-value)

    def significant(self, link: PredictorLinkage) -> list[LinkTest]:
        return [t for t in link.tests if t.adjusted_p_value < self.alpha]


def _main(link: PredictorLinkage, options: Options) -> tuple[float, float]:
    main = link.pearson if options.method == "pearson" else link.spearman
    if main is None:
        return math.nan, math.nan
    return main.r, main.p_value


def _candidates(link: PredictorLinkage, options: Options) -> list[LinkTest]:
    r, p = _main(link, options)
    found = [LinkTest("between", 0, r, p, math.nan)] if math.isfinite(p) else []
    found += [
        LinkTest("within", lag.lag, lag.estimate.r, lag.estimate.p_value, math.nan)
        for lag in link.lags
        if math.isfinite(lag.estimate.p_value)
    ]
    return found


def weigh(linkages: list[PredictorLinkage], options: Options) -> Evidence:
    """Fills every eligible linkage's ``tests`` (with Holm-adjusted p-values) and the
    direction of the linked ones; returns the claim."""
    alpha = round(1.0 - options.confidence_level, 12)
    family = [(link, _candidates(link, options)) for link in linkages if link.reliable]
    p_values = [t.p_value for _, tests in family for t in tests]
    adjusted = iter([float(p) for p in pulse_stats.holm(p_values)] if p_values else [])
    for link, tests in family:
        link.tests = [replace(t, adjusted_p_value=next(adjusted)) for t in tests]
    linked = [link for link, _ in family if any(t.adjusted_p_value < alpha for t in link.tests)]
    linked.sort(key=lambda link: min(t.adjusted_p_value for t in link.tests))
    _directions(linked, alpha)
    return Evidence(alpha, len(p_values), linked)


def _directions(linked: list[PredictorLinkage], alpha: float) -> None:
    tested = [link for link in linked if math.isfinite(link.direction.p_value)]
    if not tested:
        return
    adjusted = pulse_stats.holm([link.direction.p_value for link in tested])
    for link, p in zip(tested, adjusted, strict=True):
        d = link.direction
        leader = CANNOT_TELL
        if p < alpha:
            leader = TREATMENT if d.difference > 0 else OUTCOME
        link.direction = replace(d, leader=leader, adjusted_p_value=float(p))
