"""The verdict of a linkage report, pure policy: a level and plain words, never causal.

* ``not_enough_data``: fewer than ``MIN_UNITS`` released units; no statement on a link.
* ``unreliable``: the outcome's unit averages, or every predictor's, are too unreliable to
  compare teams (``diagnostics.gated``); no statement on a link.
* ``supported``: the family-wise test (``evidence``) links a predictor to the outcome the
  expected way (better treatment, better outcome) and no check weakens it.
* ``weak``: such a link, but resting on the correlation of unit means alone while adjusting
  for the chosen covariates changes it materially, or while the n-weighted multilevel
  estimate does not confirm it.
* ``opposite``: the only family-wise links go the other way (better treatment, worse
  outcome): no evidence for the expected link, and the inverse association is stated.
* ``no_evidence``: no test of the family survives the adjustment.

The tests are two-sided and every tier needs the family-wise test, so under no link at all
the probability of any of ``supported``, ``weak`` or ``opposite`` is at most alpha, and of
a claim of the expected link (``supported`` or ``weak``) about alpha / 2. Directions,
adjusted estimates and the power for the smallest effect of interest are stated in the
words (``verdict_text``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pulse_stats

from pulse_correlation import verdict_text as words
from pulse_correlation.diagnostics import gated
from pulse_correlation.evidence import OUTCOME, TREATMENT, Evidence
from pulse_correlation.report_model import (
    Diagnostic,
    Options,
    PowerPlan,
    PredictorLinkage,
    Verdict,
)

MIN_UNITS = words.MIN_UNITS
LEADERS = {TREATMENT: "treatment", OUTCOME: "outcome"}


@dataclass(frozen=True)
class VerdictInput:
    outcome: str
    predictors: Sequence[str]
    units: int  # released analysis units
    units_suppressed: int
    diagnostics: Sequence[Diagnostic]
    linkages: Sequence[PredictorLinkage]
    evidence: Evidence
    power: PowerPlan
    notes: Sequence[str]  # what could not be done, in order
    options: Options
    covariates: Sequence[str] = ()


def power_plan(units: int, options: Options) -> PowerPlan:
    """Power for the smallest effect of interest with the current units (Fisher z,
    ``pulse_stats.correlation_power``) and the units it needs for 80 %; never from the
    observed r (Hoenig & Heisey 2001)."""
    alpha = round(1.0 - options.confidence_level, 12)
    effect = options.smallest_effect
    power = pulse_stats.correlation_power(effect, units, alpha=alpha) if units >= 4 else math.nan
    return PowerPlan(effect, units, power, pulse_stats.units_needed(effect, alpha=alpha), alpha)


def mark_reliability(
    linkages: Sequence[PredictorLinkage], diagnostics: Sequence[Diagnostic], outcome: str
) -> bool:
    """Marks each linkage reliable or not (the gate); False when the outcome is gated."""
    by_construct = {d.construct: d for d in diagnostics}
    outcome_ok = not gated(by_construct.get(outcome))
    for link in linkages:
        link.reliable = outcome_ok and not gated(by_construct.get(link.predictor))
    return outcome_ok


def caveats(given: VerdictInput) -> list[str]:
    """Only caveats that carry information about this report."""
    found = [words.single_item(d) for d in given.diagnostics if d.single_item]
    reliable = [link for link in given.linkages if link.reliable]
    found += [link.multilevel_note for link in reliable if link.multilevel_note]
    flagged = words.flagged(reliable)
    found += [flagged] if flagged else []
    if given.units_suppressed:
        found.append(
            f"{given.units_suppressed} unit(s) were rolled up or suppressed to protect "
            "confidentiality (see suppressions)."
        )
    found.extend(given.notes)
    return found


def _rests_on_means(link: PredictorLinkage, evidence: Evidence) -> bool:
    return all(t.source == "between" for t in evidence.significant(link))


def positive(link: PredictorLinkage, evidence: Evidence) -> bool:
    """The link's strongest family-wise finding goes the expected way (better treatment,
    better outcome)."""
    return min(evidence.significant(link), key=lambda t: t.adjusted_p_value).r > 0


def weakened(link: PredictorLinkage, evidence: Evidence) -> list[str]:
    """Why a claimed link is weak ([] when it is not)."""
    reasons: list[str] = []
    if not _rests_on_means(link, evidence):
        return reasons
    adjusted = link.adjusted
    main = link.pearson
    if adjusted is not None and main is not None and words.material(main, adjusted.estimate):
        reasons.append(
            f"it changes materially once {words.names(adjusted.covariates)} are adjusted for"
        )
    weighted = link.multilevel
    if link.multilevel_note and weighted is not None and weighted.ci_low <= 0 <= weighted.ci_high:
        reasons.append("the n-weighted multilevel estimate does not confirm it")
    return reasons


def verdict(given: VerdictInput) -> Verdict:
    found_caveats = caveats(given)
    if given.units < MIN_UNITS:
        return Verdict("not_enough_data", words.not_enough_data(given), found_caveats)
    reliable = [link for link in given.linkages if link.reliable]
    if not reliable:
        return Verdict("unreliable", words.unreliable(given), found_caveats)
    evidence = given.evidence
    if not evidence.linked:
        return Verdict("no_evidence", words.no_evidence(given), found_caveats)
    expected = [link for link in evidence.linked if positive(link, evidence)]
    lead = expected[0] if expected else evidence.linked[0]
    reasons = weakened(lead, evidence) if expected else []
    level = ("weak" if reasons else "supported") if expected else "opposite"
    return Verdict(
        level,
        words.claimed(given, level, reasons),
        found_caveats,
        leader=LEADERS.get(lead.direction.leader, "together"),
        linked=[link.predictor for link in evidence.linked],
    )
