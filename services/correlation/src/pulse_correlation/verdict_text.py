"""The words of a verdict, pure: what a leader reads. Every sentence states a number with
its interval and units, never a cause; a direction is stated only when the lead-lag test
says so, and the three direction wordings are fixed (``TREATMENT_FIRST``,
``CUSTOMERS_FIRST``, ``TOGETHER``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pulse_common.measures import INTERNAL, human_name, outcome_population

from pulse_correlation.diagnostics import RELIABILITY_GATE, gated
from pulse_correlation.evidence import CANNOT_TELL, NOT_ASSESSED, OUTCOME, TREATMENT
from pulse_correlation.report_model import Diagnostic, Estimate, LinkTest, PredictorLinkage

if TYPE_CHECKING:
    from pulse_correlation.verdict import VerdictInput

TREATMENT_FIRST = "treatment moves first"
CUSTOMERS_FIRST = "customers move first"
TOGETHER = "move together; which comes first cannot be told from these data"
GATE = "Team averages are too unreliable to compare teams"
MIN_UNITS = 10
MATERIAL_CHANGE = 0.10  # |adjusted r - r| that the verdict reports (Greenland 1989's idea)
CLOSING = (
    "This is an association between units observed over time, not proof that treatment "
    "causes customer outcomes."
)
LEADS = {
    "supported": "The data support a link between how employees are treated and",
    "weak": "There is weak evidence of a link between how employees are treated and",
    "no_evidence": "There is no evidence of a link between how employees are treated and",
    "opposite": "There is no evidence that better treatment of employees goes with better",
}
_COVARIATE_NAMES = {
    "unit_size": "unit size",
    "unit_type": "unit type",
    "channel_mix": "channel mix",
}


def name(code: str) -> str:
    return _COVARIATE_NAMES.get(code) or human_name(code)


def names(codes: Sequence[str]) -> str:
    named = [name(c) for c in codes]
    return ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else "".join(named)


def _r(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "not computable"


def material(main: Estimate, adjusted: Estimate) -> bool:
    """Adjustment changes the unit-level r by MATERIAL_CHANGE or more (an absolute version
    of the change-in-estimate criterion: Greenland 1989; Maldonado & Greenland 1993)."""
    return (
        math.isfinite(main.r)
        and math.isfinite(adjusted.r)
        and (abs(adjusted.r - main.r) >= MATERIAL_CHANGE)
    )


def single_item(diag: Diagnostic) -> str:
    return (
        f"{name(diag.construct)} is measured by a single item: its unit averages rest on "
        "ICC-based reliability alone, and within-unit agreement (rwg) is not interpreted."
    )


def flagged(linkages: Sequence[PredictorLinkage]) -> str:
    """One caveat naming every disattenuated estimate that is not a finding."""
    found = [
        name(link.predictor)
        for link in linkages
        if link.disattenuation is not None and link.disattenuation.flagged
    ]
    if not found:
        return ""
    return (
        f"Disattenuated estimates of {names(found)} are flagged: above 1, or with an "
        "interval reaching past 1, so the reliabilities are underestimated or r is inflated "
        "by chance; they are not findings."
    )


def _pct(given: VerdictInput) -> str:
    return f"{given.options.confidence_level * 100:g}%"


def _estimate(e: Estimate, given: VerdictInput, what: str = "units") -> str:
    return f"r = {_r(e.r)} ({_pct(given)} CI {_r(e.ci_low)} to {_r(e.ci_high)}, {e.n} {what})"


def _customers(given: VerdictInput) -> str:
    return "internal customers" if outcome_population(given.outcome) == INTERNAL else "customers"


def _within(test: LinkTest, link: PredictorLinkage, given: VerdictInput) -> str:
    p, o = name(link.predictor).lower(), name(given.outcome)
    more = "higher" if test.r > 0 else "lower"
    if test.lag == 0:
        what = f"periods with better {p} are periods with {more} {o}"
    elif test.lag > 0:
        what = f"better {p} is followed by {more} {o} {test.lag} period(s) later"
    else:
        what = f"{more} {o} is followed by better {p} {-test.lag} period(s) later"
    return (
        f"within units, {what} (within-unit r = {_r(test.r)}, {_lag(test.lag)}, "
        f"adjusted p = {test.adjusted_p_value:.3f})"
    )


def _lag(lag: int) -> str:
    return f"lag {lag:+d}" if lag else "same period"


def _direction(link: PredictorLinkage, given: VerdictInput) -> str:
    d, p, o = link.direction, name(link.predictor), name(given.outcome)
    numbers = (
        f"forward r = {_r(d.forward)}, backward r = {_r(d.backward)}, "
        f"adjusted p = {d.adjusted_p_value:.3f}"
    )
    if d.leader == TREATMENT:
        return (
            f"{p}: {TREATMENT_FIRST}. Within units, changes in {p.lower()} are followed by "
            f"changes in {o} more than the other way round ({numbers})."
        )
    if d.leader == OUTCOME:
        return (
            f"{p}: {_customers(given)} move first. Within units, changes in {o} are followed "
            f"by changes in {p.lower()} more than the other way round ({numbers}); this "
            f"pattern does not suggest that treatment drives {o}."
        )
    why = "" if d.leader == CANNOT_TELL else " (no lags to compare)"
    return f"{p} and {o} {TOGETHER}{why}."


def _between(link: PredictorLinkage, given: VerdictInput, claimed: bool) -> str:
    main = link.pearson if given.options.method == "pearson" else link.spearman
    if main is None:
        return ""
    more = "higher" if main.r > 0 else "lower"
    weighted = link.multilevel
    extra = (
        f"; n-weighted multilevel r = {_r(weighted.r)}"
        if weighted is not None and math.isfinite(weighted.r)
        else ""
    )
    text = (
        f"units where employees report better {name(link.predictor).lower()} have {more} "
        f"{name(given.outcome)}: {_estimate(main, given)}{extra}"
    )
    return text if claimed else f"between units, {_estimate(main, given)}{extra}"


def _linked(link: PredictorLinkage, given: VerdictInput) -> str:
    tests = given.evidence.significant(link)
    between = any(t.source == "between" for t in tests)
    parts = [_between(link, given, claimed=True)] if between else []
    parts += [_within(t, link, given) for t in tests if t.source == "within"]
    if not between:
        parts.append(_between(link, given, claimed=False))
    said = "; ".join(p for p in parts if p)
    return f"{name(link.predictor)}: {said}. {_direction(link, given)}"


def _adjustments(given: VerdictInput) -> str:
    changed = []
    covariates: list[str] = []
    for link in given.linkages:
        adjusted, main = link.adjusted, link.pearson
        if not link.reliable or adjusted is None or main is None:
            continue
        if material(main, adjusted.estimate):
            covariates = adjusted.covariates
            e = adjusted.estimate
            changed.append(
                f"{name(link.predictor)} from r = {_r(main.r)} to r = {_r(e.r)} "
                f"({_pct(given)} CI {_r(e.ci_low)} to {_r(e.ci_high)})"
            )
    if not changed:
        return ""
    return (
        f"Adjusting for {names(covariates)} changes the unit-level estimates materially: "
        f"{'; '.join(changed)}. Part of the association between units may be due to "
        f"{names(covariates)}."
    )


def _gated(given: VerdictInput) -> str:
    left_out = [link.predictor for link in given.linkages if not link.reliable]
    if not left_out:
        return ""
    return (
        f"{GATE} on {names(left_out)} (reliability of their unit averages below "
        f"{RELIABILITY_GATE}); they are left out of this verdict."
    )


def _power(given: VerdictInput) -> str:
    plan = given.power
    chance = f"{plan.power:.0%}" if math.isfinite(plan.power) else "not computable"
    return (
        f"With {plan.units} units, a true unit-level correlation of {plan.smallest_effect:.2f} "
        f"(the smallest effect of interest, set before the data) is detected with {chance} "
        f"power for one pre-declared measure; about {plan.units_needed} units give 80%."
    )


def _join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def not_enough_data(given: VerdictInput) -> str:
    measures = names(list(given.predictors)) or "treatment"
    return _join(
        f"Not enough data: only {given.units} unit(s) in scope had enough employee and "
        f"customer responses to be released, and at least {MIN_UNITS} are needed before "
        f"Pulse states whether {measures} and {name(given.outcome)} move together. "
        "No statement about the direction or strength of the link is made.",
        f"To detect a unit-level correlation of {given.power.smallest_effect:.2f} (the "
        f"smallest effect of interest) with 80% power, about {given.power.units_needed} "
        "units are needed.",
    )


def unreliable(given: VerdictInput) -> str:
    by_construct = {d.construct: d for d in given.diagnostics}
    reasons = []
    for construct in [given.outcome, *given.predictors]:
        diag = by_construct.get(construct)
        if gated(diag):
            rel = diag.reliability if diag is not None else math.nan
            basis = (
                f" ({diag.reliability_basis})"
                if diag is not None and diag.reliability_basis
                else ""
            )
            reasons.append(f"{name(construct)} {_r(rel)}{basis}")
    return _join(
        f"{GATE}: the reliability of unit averages is " + "; ".join(reasons) + ".",
        f"Pulse makes no statement about a link between how employees are treated and "
        f"{name(given.outcome)} from these data: differences between unit averages are "
        "mostly sampling noise. More respondents per unit (larger units, higher response "
        "rates, or more periods pooled) raise the reliability of unit averages.",
    )


def no_evidence(given: VerdictInput) -> str:
    evidence = given.evidence
    tests = [(t, link) for link in given.linkages for t in link.tests]
    strongest = ""
    if tests:
        test, link = min(tests, key=lambda item: item[0].p_value)
        where = "between units" if test.source == "between" else f"within units ({_lag(test.lag)})"
        strongest = (
            f"The strongest association, {name(link.predictor)} {where} (r = {_r(test.r)}, "
            f"p = {test.p_value:.3f}), is within what chance produces across "
            f"{evidence.family_size} tests (adjusted p = {test.adjusted_p_value:.3f})."
        )
    return _join(
        f"{LEADS['no_evidence']} {name(given.outcome)} across {given.units} units once "
        f"{evidence.family_size} tests (measures, and lags within units) are accounted for.",
        strongest,
        _adjustments(given),
        _gated(given),
        _power(given),
        CLOSING,
    )


def claimed(given: VerdictInput, level: str, reasons: list[str]) -> str:
    evidence = given.evidence
    others = [
        link.predictor for link in given.linkages if link.reliable and link not in evidence.linked
    ]
    weak = f"The evidence is weak because {' and '.join(reasons)}." if reasons else ""
    rest = (
        f"No link for {names(others)} after accounting for {evidence.family_size} tests."
        if others
        else ""
    )
    opposite = ": the data show the opposite, an inverse association" if level == "opposite" else ""
    return _join(
        f"{LEADS[level]} {name(given.outcome)} across {given.units} units{opposite} "
        f"(family-wise error rate {evidence.alpha:.0%} over {evidence.family_size} tests).",
        *[_linked(link, given) for link in evidence.linked],
        weak,
        rest,
        _adjustments(given),
        _gated(given),
        CLOSING,
    )


__all__ = [
    "CLOSING",
    "CUSTOMERS_FIRST",
    "GATE",
    "MIN_UNITS",
    "NOT_ASSESSED",
    "TOGETHER",
    "TREATMENT_FIRST",
    "claimed",
    "flagged",
    "material",
    "names",
    "no_evidence",
    "not_enough_data",
    "unreliable",
]
