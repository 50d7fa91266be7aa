"""The verdict of a linkage report, pure policy: a level and plain words, never causal.

* ``not_enough_data``: fewer than ``MIN_UNITS`` released units; no statement on direction.
* ``supported``: for some predictor the interval excludes 0 on the positive side, its
  driver q-value (BH) is below ``Q_MAX`` and the lag pattern does not contradict it (lag +1
  correlation not <= 0, forward cross-lagged interval not wholly below 0).
* ``weak``: a positive association that misses one of those (or p < 0.10).
* ``no_evidence``: otherwise (including a clearly negative association, which is stated).

The verdict reads the estimates as the report carries them (``values.as_sent``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pulse_correlation.report_model import (
    NO_ESTIMATE,
    Diagnostic,
    Driver,
    Options,
    PredictorLinkage,
    Verdict,
)

MIN_UNITS = 10
Q_MAX = 0.05
WEAK_P_MAX = 0.10
LAG_MIN_N = 4  # a lag +1 correlation on fewer cells contradicts nothing

CAVEATS = (
    "Observational data: an association between units is not evidence that one causes the "
    "other; unmeasured differences between units (location, workload, customers) can drive both.",
    "Unit-level (ecological) inference: a correlation between unit means says nothing about "
    "how any individual employee or customer feels.",
    "A lag pattern in which treatment moves first is consistent with, but does not prove, "
    "treatment leading customer outcomes.",
)

LEADS = {
    "supported": "The data support a link between how employees are treated and",
    "weak": "There is weak evidence of a link between how employees are treated and",
    "no_evidence": "There is no evidence of a link between how employees are treated and",
}


@dataclass(frozen=True)
class VerdictInput:
    outcome: str
    predictors: Sequence[str]
    units: int  # released analysis units
    units_suppressed: int
    diagnostics: Sequence[Diagnostic]
    drivers: Sequence[Driver]
    linkages: Sequence[PredictorLinkage]
    notes: Sequence[str]  # what could not be done, in order
    options: Options


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def caveats(given: VerdictInput) -> list[str]:
    found = list(CAVEATS)
    for diag in given.diagnostics:
        found.extend(f"{diag.construct}: {w}" for w in diag.warnings)
    if given.units_suppressed:
        found.append(
            f"{given.units_suppressed} unit(s) were rolled up or suppressed to protect "
            "confidentiality (see suppressions)."
        )
    found.extend(given.notes)
    return found


def _not_enough_data(given: VerdictInput) -> str:
    needed = [lk.units_needed for lk in given.linkages if lk.units_needed > 0]
    text = (
        f"Not enough data: only {given.units} unit(s) in scope had enough employee and "
        f"customer responses to be released, and at least {MIN_UNITS} are needed before Pulse "
        f"states whether {', '.join(given.predictors) or 'treatment'} and {given.outcome} "
        "move together. No statement about the direction or strength of the link is made."
    )
    if needed:
        text += (
            f" To detect a correlation of the size seen so far with 80% power, about "
            f"{max(needed)} units would be needed."
        )
    return text


def _judge(
    link: PredictorLinkage, q: float, outcome: str, options: Options
) -> tuple[int, str, str]:
    """(rank, level, sentence) for one predictor."""
    main = (link.pearson if options.method == "pearson" else link.spearman) or NO_ESTIMATE
    lag1 = next((lg.estimate for lg in link.lags if lg.lag == 1), None)
    forward = next((c for c in link.cross_lagged if c.path == "predictor->outcome"), None)
    contradicted = (lag1 is not None and lag1.n >= LAG_MIN_N and lag1.r <= 0) or (
        forward is not None and forward.ci_high < 0
    )
    lag_word = (
        "not assessed"
        if lag1 is None and forward is None
        else ("contradicts" if contradicted else "is consistent with")
    )
    pct = f"{options.confidence_level * 100:g}%"
    q_text = f", q = {_fmt(q)}" if math.isfinite(q) else ""
    summary = (
        f"{link.predictor}: r = {_fmt(main.r)} ({pct} CI {_fmt(main.ci_low)} to "
        f"{_fmt(main.ci_high)}, n = {main.n} units{q_text})"
    )
    if main.ci_low > 0 and math.isfinite(q) and q < Q_MAX and not contradicted:
        return (
            3,
            "supported",
            (
                f"{summary}. Units where employees report better {link.predictor} also have "
                f"higher {outcome}; the lag pattern {lag_word} treatment moving first."
            ),
        )
    if main.ci_low > 0 or (main.r > 0 and main.p_value < WEAK_P_MAX):
        return (
            2,
            "weak",
            (
                f"{summary}. A positive association, but not a firm one (interval, "
                f"multiple-testing q-value or lag pattern fall short); the lag pattern {lag_word}"
                " treatment moving first."
            ),
        )
    if main.ci_high < 0:
        return (
            1,
            "no_evidence",
            (f"{summary}. The association is negative, opposite to the expected link."),
        )
    return 1, "no_evidence", f"{summary}. The interval includes no association."


def verdict(given: VerdictInput) -> Verdict:
    found_caveats = caveats(given)
    n = given.units
    if n < MIN_UNITS:
        return Verdict("not_enough_data", _not_enough_data(given), found_caveats)
    q_values = {d.name: d.raw_q_value for d in given.drivers}
    ranked = [
        _judge(link, q_values.get(link.predictor, math.nan), given.outcome, given.options)
        for link in given.linkages
        if link.pearson is not None or link.spearman is not None
    ]
    if not ranked:
        return Verdict(
            "no_evidence",
            f"No correlation could be computed across the {n} released units.",
            found_caveats,
        )
    ranked.sort(key=lambda item: -item[0])
    level = ranked[0][1]
    text = (
        f"{LEADS[level]} {given.outcome} across {n} units. "
        + " ".join(sentence for _, _, sentence in ranked)
        + " This is an association between units observed over time, not proof that "
        "treatment causes customer outcomes."
    )
    return Verdict(level, text, found_caveats)
