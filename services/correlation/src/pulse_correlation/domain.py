"""How one response becomes additions to the sufficient statistics (DESIGN §5), pure.

The measurement model itself (populations, scales, constructs, outcomes) is
``pulse_common.measures``; periods are ``pulse_common.periods``.

Scoring: an item value is reverse-scored when flagged (``min + max - value``); a respondent's
construct score is the mean of that construct's item values each mapped to 0-100 by
``(value - min) / (max - min) * 100`` (identical to mapping the item mean when the items share
a scale). NPS items (0-10) also count promoters (9-10), passives (7-8) and detractors (0-6);
every other scale counts its top two boxes. Internal-service constructs are stored with the
``internal.`` prefix (``measures.stored_construct``) so they never mix with external
customers' answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pulse.types.v1 import types_pb2
from pulse_common import measures
from pulse_common.measures import COMMENT, SCALE_RANGES, Population, stored_construct
from pulse_common.periods import Granularity, period_problem

from pulse_correlation.aggregates import is_nps_scale


class ContractViolation(ValueError):
    """A response that can never be counted (unknown item, score off its scale...)."""


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
        return is_nps_scale(self.scale_min, self.scale_max)

    def scored(self, raw: int) -> int:
        if not self.scale_min <= raw <= self.scale_max:
            raise ContractViolation(
                f"item {self.item_id}: score {raw} outside {self.scale_min}..{self.scale_max}"
            )
        return self.scale_min + self.scale_max - raw if self.reverse else raw

    def to_100(self, value: float) -> float:
        return (value - self.scale_min) / (self.scale_max - self.scale_min) * 100.0


def population_of(kind: int) -> Population:
    """The population of a survey kind; a kind Pulse does not know is a contract violation."""
    found = measures.population_of(kind)
    if found is not None:
        return found
    raise ContractViolation(f"unknown survey kind {kind}")


def item_specs(definition: types_pb2.SurveyDefinition) -> dict[str, ItemSpec]:
    """Scored items of a survey version (free text and comment items are not measured)."""
    population = population_of(definition.kind)
    specs: dict[str, ItemSpec] = {}
    for item in definition.items:
        bounds = SCALE_RANGES.get(item.scale)
        if bounds is None or item.construct in ("", COMMENT):
            continue
        specs[item.item_id] = ItemSpec(
            item.item_id,
            stored_construct(population, item.construct),
            bounds[0],
            bounds[1],
            item.reverse_scored,
        )
    return specs


def attributed_unit(population: Population, rater_unit_id: str, rated_unit_id: str) -> str:
    """The unit a response counts under: an internal service rating counts under the rated
    (serving) unit its survey version names, fixed when the version was published; every other
    response (and an internal rating of a version that names no unit) under its own unit."""
    if population == measures.INTERNAL and rated_unit_id:
        return rated_unit_id
    return rater_unit_id


# ---------------------------------------------------------------- one response -> deltas


@dataclass(frozen=True)
class ItemDelta:
    item: ItemSpec
    value: int  # after reverse scoring
    # The respondent's score (0-100) of the item's construct: value x this, summed per cell,
    # gives the item-total covariances of the reliability diagnostics.
    construct_score: float = 0.0

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
    population: Population
    unit_id: str
    period: str
    channel: str
    items: tuple[ItemDelta, ...]
    constructs: tuple[ConstructDelta, ...]


def score_response(
    population: Population,
    unit_id: str,
    period: str,
    channel: str,
    answers: Iterable[tuple[str, int | None]],
    specs: dict[str, ItemSpec],
    granularity: Granularity,
) -> ResponseDeltas:
    """Turn scored answers into aggregate additions; text answers (None) are skipped.
    Raises ContractViolation for answers the survey version cannot explain, or a period
    that is not of the deployment's ``granularity``."""
    if not unit_id:
        raise ContractViolation("response has no unit_id")
    problem = period_problem(period, granularity)
    if problem is not None:
        raise ContractViolation(f"response period {problem}")
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
    score_of = {c.construct: c.score for c in constructs}
    items = [replace(d, construct_score=score_of[d.item.construct]) for d in items]
    items.sort(key=lambda d: d.item.item_id)  # stable lock order across instances
    return ResponseDeltas(population, unit_id, period, channel, tuple(items), constructs)


def answers_of(answers: Sequence[types_pb2.Answer]) -> list[tuple[str, int | None]]:
    return [(a.item_id, a.score if a.WhichOneof("value") == "score" else None) for a in answers]
