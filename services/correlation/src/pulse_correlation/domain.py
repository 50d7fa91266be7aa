"""Measurement model (DESIGN §5), pure: scales, periods, construct names and how one response
becomes additions to the sufficient statistics.

Populations: employee pulse answers belong to the ``employee`` population, customer
post-interaction answers to ``customer``. Internal-service surveys (one unit rating the service
it receives from another) are their own outcome family: their constructs are stored with the
prefix ``internal.`` (``internal.csat``, ``internal.nps``...) in the ``internal`` population,
so they never mix with external customers' answers and can be chosen as a report outcome.

Scoring: an item value is reverse-scored when flagged (``min + max - value``); a respondent's
construct score is the mean of that construct's item values each mapped to 0-100 by
``(value - min) / (max - min) * 100`` (identical to mapping the item mean when the items share
a scale). NPS items (0-10) also count promoters (9-10), passives (7-8) and detractors (0-6);
every other scale counts its top two boxes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pulse.types.v1 import types_pb2

EMPLOYEE = "employee"
CUSTOMER = "customer"
INTERNAL = "internal"
POPULATIONS = (EMPLOYEE, CUSTOMER, INTERNAL)
INTERNAL_PREFIX = "internal."

SCALE_RANGES: dict[int, tuple[int, int]] = {
    types_pb2.SCALE_LIKERT_5: (1, 5),
    types_pb2.SCALE_LIKERT_7: (1, 7),
    types_pb2.SCALE_NPS_0_10: (0, 10),
    types_pb2.SCALE_CSAT_1_5: (1, 5),
    types_pb2.SCALE_CES_1_7: (1, 7),
}

CUSTOMER_OUTCOMES = ("csat", "nps", "ces", "staff_treatment")
OUTCOMES = CUSTOMER_OUTCOMES + tuple(INTERNAL_PREFIX + o for o in CUSTOMER_OUTCOMES)
TREATMENT_PREFIX = "treatment."
NPS_CONSTRUCTS = ("nps", "enps", INTERNAL_PREFIX + "nps")


class ContractViolation(ValueError):
    """A response that can never be counted (unknown item, score off its scale...)."""


def population_of(kind: int) -> str:
    if kind == types_pb2.SURVEY_KIND_EMPLOYEE_PULSE:
        return EMPLOYEE
    if kind == types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION:
        return CUSTOMER
    if kind == types_pb2.SURVEY_KIND_INTERNAL_SERVICE:
        return INTERNAL
    raise ContractViolation(f"unknown survey kind {kind}")


def stored_construct(population: str, construct: str) -> str:
    return INTERNAL_PREFIX + construct if population == INTERNAL else construct


def outcome_population(outcome: str) -> str:
    return INTERNAL if outcome.startswith(INTERNAL_PREFIX) else CUSTOMER


def is_nps_construct(construct: str) -> bool:
    return construct in NPS_CONSTRUCTS


# ---------------------------------------------------------------- periods

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


def valid_period(period: str) -> bool:
    if _MONTH.match(period):
        return True
    match = _WEEK.match(period)
    if not match:
        return False
    try:
        dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return False
    return True


def period_index(period: str) -> int:
    """Consecutive integers for consecutive periods (months, or ISO weeks)."""
    match = _MONTH.match(period)
    if match:
        return int(match.group(1)) * 12 + int(match.group(2)) - 1
    match = _WEEK.match(period)
    if not match:
        raise ValueError(f"not a period: {period!r}")
    monday = dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    return monday.toordinal() // 7


def period_end(period: str) -> dt.date:
    """Last day of the period (the date the org is read as of for a range ending here)."""
    match = _MONTH.match(period)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        first_next = dt.date(year + month // 12, month % 12 + 1, 1)
        return first_next - dt.timedelta(days=1)
    match = _WEEK.match(period)
    if not match:
        raise ValueError(f"not a period: {period!r}")
    return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 7)


def same_granularity(a: str, b: str) -> bool:
    return bool(_MONTH.match(a)) == bool(_MONTH.match(b))


# ---------------------------------------------------------------- survey definitions


@dataclass(frozen=True)
class ItemSpec:
    item_id: str
    construct: str  # as stored (internal.* for internal-service surveys)
    scale_min: int
    scale_max: int
    reverse: bool

    @property
    def is_nps(self) -> bool:
        return (self.scale_min, self.scale_max) == (0, 10)

    def scored(self, raw: int) -> int:
        if not self.scale_min <= raw <= self.scale_max:
            raise ContractViolation(
                f"item {self.item_id}: score {raw} outside {self.scale_min}..{self.scale_max}"
            )
        return self.scale_min + self.scale_max - raw if self.reverse else raw

    def to_100(self, value: float) -> float:
        return (value - self.scale_min) / (self.scale_max - self.scale_min) * 100.0


def item_specs(definition: types_pb2.SurveyDefinition) -> dict[str, ItemSpec]:
    """Scored items of a survey version (free text and comment items are not measured)."""
    population = population_of(definition.kind)
    specs: dict[str, ItemSpec] = {}
    for item in definition.items:
        bounds = SCALE_RANGES.get(item.scale)
        if bounds is None or item.construct in ("", "comment"):
            continue
        specs[item.item_id] = ItemSpec(
            item.item_id,
            stored_construct(population, item.construct),
            bounds[0],
            bounds[1],
            item.reverse_scored,
        )
    return specs


# ---------------------------------------------------------------- one response -> deltas


@dataclass(frozen=True)
class ItemDelta:
    item: ItemSpec
    value: int  # after reverse scoring

    @property
    def promoter(self) -> int:
        return int(self.item.is_nps and self.value >= 9)

    @property
    def passive(self) -> int:
        return int(self.item.is_nps and 7 <= self.value <= 8)

    @property
    def detractor(self) -> int:
        return int(self.item.is_nps and self.value <= 6)

    @property
    def top2(self) -> int:
        return int(not self.item.is_nps and self.value >= self.item.scale_max - 1)


@dataclass(frozen=True)
class ConstructDelta:
    construct: str
    score: float  # 0-100


@dataclass(frozen=True)
class ResponseDeltas:
    population: str
    unit_id: str
    period: str
    channel: str
    items: tuple[ItemDelta, ...]
    constructs: tuple[ConstructDelta, ...]


def score_response(
    population: str,
    unit_id: str,
    period: str,
    channel: str,
    answers: Iterable[tuple[str, int | None]],
    specs: dict[str, ItemSpec],
) -> ResponseDeltas:
    """Turn scored answers into aggregate additions; text answers (None) are skipped.
    Raises ContractViolation for answers the survey version cannot explain."""
    if not unit_id:
        raise ContractViolation("response has no unit_id")
    if not valid_period(period):
        raise ContractViolation(f"response period {period!r} is not YYYY-MM or YYYY-Www")
    items: list[ItemDelta] = []
    seen: set[str] = set()
    for item_id, score in answers:
        if score is None:
            continue
        spec = specs.get(item_id)
        if spec is None:
            raise ContractViolation(f"item {item_id!r} is not a scored item of this survey")
        if item_id in seen:
            raise ContractViolation(f"item {item_id!r} answered twice")
        seen.add(item_id)
        items.append(ItemDelta(spec, spec.scored(score)))
    by_construct: dict[str, list[float]] = {}
    for delta in items:
        by_construct.setdefault(delta.item.construct, []).append(delta.item.to_100(delta.value))
    constructs = tuple(ConstructDelta(c, sum(v) / len(v)) for c, v in sorted(by_construct.items()))
    items.sort(key=lambda d: d.item.item_id)  # stable lock order across instances
    return ResponseDeltas(population, unit_id, period, channel, tuple(items), constructs)


def answers_of(answers: Sequence[types_pb2.Answer]) -> list[tuple[str, int | None]]:
    return [(a.item_id, a.score if a.WhichOneof("value") == "score" else None) for a in answers]
