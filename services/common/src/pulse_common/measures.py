"""The measurement model, the one home for it: survey kinds, scales, populations, the
constructs Pulse measures and the outcomes it relates them to, with the human names leaders
read. Enum values come from the proto (``pulse.types.v1``); construct codes match the item
bank (``pulse_survey/item_bank.yaml``). Pure: no I/O.

Populations: employee pulse answers belong to ``employee``, customer post-interaction answers
to ``customer``, internal-service ratings (one unit rating the service it receives from
another) to ``internal``; internal constructs are stored with the prefix ``internal.`` so they
never mix with external customers' answers."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pulse.types.v1 import types_pb2

Population = Literal["employee", "customer", "internal"]
EMPLOYEE: Population = "employee"
CUSTOMER: Population = "customer"
INTERNAL: Population = "internal"
POPULATIONS: tuple[Population, ...] = (EMPLOYEE, CUSTOMER, INTERNAL)
INTERNAL_PREFIX = "internal."
TREATMENT_PREFIX = "treatment."
COMMENT = "comment"

# ---------------------------------------------------------------- kinds and scales

KIND_NAMES: dict[str, int] = {
    "employee_pulse": types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    "customer_post_interaction": types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    "internal_service": types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
}
_POPULATION_OF_KIND: dict[int, Population] = {
    types_pb2.SURVEY_KIND_EMPLOYEE_PULSE: EMPLOYEE,
    types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION: CUSTOMER,
    types_pb2.SURVEY_KIND_INTERNAL_SERVICE: INTERNAL,
}

SCALE_NAMES: dict[str, int] = {
    "likert_5": types_pb2.SCALE_LIKERT_5,
    "likert_7": types_pb2.SCALE_LIKERT_7,
    "nps_0_10": types_pb2.SCALE_NPS_0_10,
    "csat_1_5": types_pb2.SCALE_CSAT_1_5,
    "ces_1_7": types_pb2.SCALE_CES_1_7,
    "free_text": types_pb2.SCALE_FREE_TEXT,
}
# (lowest, highest) answer of every rated scale; free text has no range.
SCALE_RANGES: dict[int, tuple[int, int]] = {
    types_pb2.SCALE_LIKERT_5: (1, 5),
    types_pb2.SCALE_LIKERT_7: (1, 7),
    types_pb2.SCALE_NPS_0_10: (0, 10),
    types_pb2.SCALE_CSAT_1_5: (1, 5),
    types_pb2.SCALE_CES_1_7: (1, 7),
}


def kind_name(kind: int) -> str:
    """``employee_pulse``, ``customer_post_interaction``, ``internal_service`` or
    ``unspecified``."""
    for name, value in KIND_NAMES.items():
        if value == kind:
            return name
    return "unspecified"


def parse_kind(text: str) -> int | None:
    """A kind from its name (``employee_pulse``) or enum spelling; None when unknown."""
    cleaned = text.strip().lower().removeprefix("survey_kind_")
    return KIND_NAMES.get(cleaned)


def scale_name(scale: int) -> str:
    for name, value in SCALE_NAMES.items():
        if value == scale:
            return name
    return "unspecified"


def parse_scale(text: str) -> int | None:
    return SCALE_NAMES.get(text.strip().lower().removeprefix("scale_"))


def scale_range(scale: int) -> tuple[int, int]:
    """(lowest, highest) answer; ``KeyError`` for free text and unknown scales."""
    return SCALE_RANGES[scale]


def population_of(kind: int) -> Population | None:
    """The population a survey kind's answers belong to; None for an unknown kind."""
    return _POPULATION_OF_KIND.get(kind)


def is_customer(kind: int) -> bool:
    """Customers are not employees: their responses may keep channel and consent flags."""
    return kind == types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION


# ---------------------------------------------------------------- constructs


@dataclass(frozen=True)
class Measure:
    """A construct or outcome with the words a leader reads."""

    code: str
    name: str
    description: str


TREATMENT_CONSTRUCTS = (
    "treatment.recognition",
    "treatment.fairness",
    "treatment.support",
    "treatment.workload",
    "treatment.voice",
    "treatment.growth",
)
# What leaders do and how work flows around the front line (issue 16: the whole chain).
CHAIN_CONSTRUCTS = (
    "empowerment",
    "collaboration",
    "strategic_alignment",
    "leader_partnership",
    "training",
)
EMPLOYEE_CONSTRUCTS = (*TREATMENT_CONSTRUCTS, "engagement", "enps", *CHAIN_CONSTRUCTS)
CUSTOMER_OUTCOMES = ("csat", "nps", "ces", "staff_treatment")
INTERNAL_OUTCOMES = tuple(INTERNAL_PREFIX + code for code in CUSTOMER_OUTCOMES)
OUTCOMES = CUSTOMER_OUTCOMES + INTERNAL_OUTCOMES
NPS_CONSTRUCTS = ("nps", "enps", INTERNAL_PREFIX + "nps")
# Constructs whose scale is fixed by definition (DESIGN §5).
FIXED_SCALE: dict[str, int] = {
    "csat": types_pb2.SCALE_CSAT_1_5,
    "nps": types_pb2.SCALE_NPS_0_10,
    "enps": types_pb2.SCALE_NPS_0_10,
    "ces": types_pb2.SCALE_CES_1_7,
    COMMENT: types_pb2.SCALE_FREE_TEXT,
}
# Constructs whose top-2-box rating marks a customer comment as praise.
RECOGNITION_CONSTRUCTS = ("staff_treatment", "csat")
# What a survey created from the bank asks, per kind, when no items are named.
BANK_CONSTRUCTS: dict[str, tuple[str, ...]] = {
    "employee_pulse": (*EMPLOYEE_CONSTRUCTS, COMMENT),
    "customer_post_interaction": (*CUSTOMER_OUTCOMES, COMMENT),
    "internal_service": (*CUSTOMER_OUTCOMES, COMMENT),
}

_MEASURES = (
    Measure("treatment.recognition", "Recognition", "Good work is noticed and valued."),
    Measure("treatment.fairness", "Fairness", "Decisions and treatment are fair."),
    Measure("treatment.support", "Manager support", "Help, tools and information when needed."),
    Measure("treatment.workload", "Workload", "The workload lets people do the job properly."),
    Measure("treatment.voice", "Voice", "Concerns and ideas can be raised and are heard."),
    Measure("treatment.growth", "Growth", "People learn and see a future here."),
    Measure("engagement", "Engagement", "People look forward to their work and go the extra mile."),
    Measure("enps", "Employee NPS (eNPS)", "Would recommend the organisation as a workplace."),
    Measure("empowerment", "Empowerment", "Staff may use their judgement to solve problems."),
    Measure("collaboration", "Collaboration", "Work flows within and between teams."),
    Measure(
        "strategic_alignment", "Strategic alignment", "People see how their work fits the goals."
    ),
    Measure(
        "leader_partnership",
        "Leader partnership",
        "Leaders are visible, listen and help where the work happens.",
    ),
    Measure("training", "Training", "The skills to handle the people served, kept up to date."),
    Measure("csat", "Customer satisfaction (CSAT)", "Customers' overall satisfaction."),
    Measure("nps", "Net Promoter Score (NPS)", "Customers would recommend the organisation."),
    Measure(
        "ces", "Customer effort (CES)", "How easy it was for customers to get what they needed."
    ),
    Measure("staff_treatment", "Staff treatment", "How the staff treated the customer."),
    Measure(COMMENT, "Comment", "Free-text comment."),
)
MEASURES: dict[str, Measure] = {measure.code: measure for measure in _MEASURES}
for _code in CUSTOMER_OUTCOMES:
    _base = MEASURES[_code]
    MEASURES[INTERNAL_PREFIX + _code] = Measure(
        INTERNAL_PREFIX + _code,
        f"{_base.name}, internal service",
        f"{_base.description} (rated by the teams a unit serves)",
    )
PREDICTORS = (*EMPLOYEE_CONSTRUCTS,)


def measure_of(code: str) -> Measure:
    """The measure of a code; an unknown code gets its code as name (never fails)."""
    return MEASURES.get(code) or Measure(code, code, "")


def human_name(code: str) -> str:
    return measure_of(code).name


def is_outcome(code: str) -> bool:
    return code in OUTCOMES


def is_predictor(code: str) -> bool:
    return code in PREDICTORS


def is_nps(code: str) -> bool:
    return code in NPS_CONSTRUCTS


def stored_construct(population: Population, construct: str) -> str:
    """The construct as aggregated: internal-service constructs get the ``internal.`` prefix."""
    return INTERNAL_PREFIX + construct if population == INTERNAL else construct


def outcome_population(outcome: str) -> Population:
    return INTERNAL if outcome.startswith(INTERNAL_PREFIX) else CUSTOMER


def close_matches(code: str, choices: tuple[str, ...]) -> str:
    """ "did you mean ..." text for an unknown code, listing the valid choices."""
    near = difflib.get_close_matches(code, choices, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    return f"{hint}choose one of {', '.join(choices)}"


# ---------------------------------------------------------------- report defaults


@dataclass(frozen=True)
class ReportDefaults:
    """The one "default report": the CLI, the web form and the demo all start from it."""

    outcome: str = "csat"
    predictors: tuple[str, ...] = TREATMENT_CONSTRUCTS
    max_lag: int = 1
    periods: int = 12


REPORT_DEFAULTS = ReportDefaults()
