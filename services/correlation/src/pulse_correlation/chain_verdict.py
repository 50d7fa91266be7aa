"""The verdict of a chain report, pure policy with the linkage report's honesty rules: never
causal, no statement under ``MIN_UNITS`` units, an interval that includes no effect is said so.

* ``not_enough_data``: fewer than ``MIN_UNITS`` served units with all three measures
  released, or no interval could be computed for the indirect path;
* ``supported``: both links' intervals (service->mediator, mediator->outcome given service)
  lie above 0 and the indirect path's bootstrap interval lies above 0;
* ``weak``: the indirect interval lies above 0 but a link's interval does not, or both links
  are positive with p < 0.10;
* ``no_evidence``: otherwise (a negative indirect path is stated as such).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_correlation.chain_model import NO_ESTIMATE, ChainEstimate, ChainVerdict

MIN_UNITS = 10  # as the linkage report
WEAK_P_MAX = 0.10

CAVEATS = [
    "Observational data: a chain of associations between units is not evidence that better "
    "service causes better treatment or happier customers; unmeasured differences between "
    "units can drive every link.",
    "The indirect path assumes no unmeasured confounding of either link (Imai, Keele & "
    "Tingley 2010); it is a description of the data, not a measured effect.",
    "Unit-level (ecological) inference: nothing here describes any individual employee or "
    "customer.",
    "A serving unit's service counts the same for every unit it serves (its rating pools all "
    "the units it serves).",
]


@dataclass(frozen=True)
class ChainVerdictInput:
    units: int
    links: Mapping[str, ChainEstimate]
    indirect: ChainEstimate
    interval_defined: bool
    confidence_level: float


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _link_text(name: str, estimate: ChainEstimate, pct: str) -> str:
    return (
        f"{name}: r = {_fmt(estimate.r)} ({pct} CI {_fmt(estimate.ci_low)} to "
        f"{_fmt(estimate.ci_high)})"
    )


def chain_verdict(given: ChainVerdictInput) -> ChainVerdict:
    pct = f"{given.confidence_level * 100:g}%"
    if given.units < MIN_UNITS or not given.interval_defined:
        return ChainVerdict(
            "not_enough_data",
            f"Not enough data: {given.units} served unit(s) had the serving units' service, "
            f"their own employees' and their customers' answers released, and at least "
            f"{MIN_UNITS} are needed before Pulse states anything about the chain. No statement "
            "about its direction or strength is made.",
            list(CAVEATS),
        )
    a = given.links.get("service->mediator", NO_ESTIMATE)
    b = given.links.get("mediator->outcome", NO_ESTIMATE)
    ind = given.indirect
    summary = (
        f"{_link_text('service -> treatment', a, pct)}; "
        f"{_link_text('treatment -> customers, given service', b, pct)}; indirect path "
        f"{_fmt(ind.r)} ({pct} bootstrap CI {_fmt(ind.ci_low)} to {_fmt(ind.ci_high)}), "
        f"{given.units} served units."
    )
    firm_links = a.ci_low > 0 and b.ci_low > 0
    if firm_links and ind.ci_low > 0:
        level = "supported"
        lead = (
            "The data support the chain: units that rate the service they receive higher "
            "also treat their own people better, and those units' customers are more satisfied."
        )
    elif ind.ci_low > 0 or (
        a.r > 0 and b.r > 0 and a.p_value < WEAK_P_MAX and b.p_value < WEAK_P_MAX
    ):
        level = "weak"
        lead = "There is weak evidence of the chain: the pattern is positive but not firm."
    elif ind.ci_high < 0:
        level = "no_evidence"
        lead = "There is no evidence of the chain: the indirect path is negative."
    else:
        level = "no_evidence"
        lead = (
            "There is no evidence of the chain: the interval of the indirect path includes "
            "no effect."
        )
    return ChainVerdict(
        level,
        f"{lead} {summary} This is an association between units, not proof of cause.",
        list(CAVEATS),
    )
