"""Which survey items the generator answers, and how latent values become scores on each scale.

The generator is not coupled to literal item ids: the driver builds an ``ItemBank`` from
``SurveyService.ListItems`` at run time. ``DEFAULT_BANK`` mirrors version 1 of the survey
service's bank (``pulse_survey/item_bank.yaml``) for offline use (benchmarks, tests, Monte
Carlo), where only constructs, scales and reverse flags matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pulse_common.measures import (
    COMMENT,
    CUSTOMER,
    CUSTOMER_OUTCOMES,
    EMPLOYEE,
    EMPLOYEE_CONSTRUCTS,
    SCALE_NAMES,
    Population,
    scale_range,
)


@dataclass(frozen=True)
class ScaleSpec:
    """A latent standard normal becomes clip(floor(location + spread * z + 0.5), low, high)."""

    low: int
    high: int
    location: float
    spread: float


def _spec(scale: str, location: float, spread: float) -> ScaleSpec:
    low, high = scale_range(SCALE_NAMES[scale])
    return ScaleSpec(low, high, location, spread)


# Keys are scale names of pulse_common.measures; ranges are the scales' own, the location
# and spread how the demo's people tend to answer on them.
SCALES: dict[str, ScaleSpec] = {
    "likert_5": _spec("likert_5", 3.4, 0.9),
    "likert_7": _spec("likert_7", 4.8, 1.3),
    "csat_1_5": _spec("csat_1_5", 3.9, 0.9),
    "nps_0_10": _spec("nps_0_10", 7.4, 2.0),
    "ces_1_7": _spec("ces_1_7", 5.1, 1.2),
}

# Constructs differ in level (workload is rated lowest, respect by customers highest); the
# shift is added to the scale's location and moves means, not correlations.
CONSTRUCT_SHIFT: dict[str, float] = {
    "treatment.workload": -0.4,
    "treatment.fairness": -0.15,
    "treatment.growth": -0.1,
    "treatment.recognition": 0.1,
    "staff_treatment": 0.6,
}


@dataclass(frozen=True)
class ItemSlot:
    item_id: str
    construct: str
    scale: str
    reverse: bool = False

    @property
    def spec(self) -> ScaleSpec:
        return SCALES[self.scale]


@dataclass(frozen=True)
class ItemBank:
    """Scored items of the employee and the customer survey, in survey order, and the free
    text items (empty when the bank has none)."""

    employee: tuple[ItemSlot, ...]
    customer: tuple[ItemSlot, ...]
    employee_comment: str = ""
    customer_comment: str = ""

    def __post_init__(self) -> None:
        for construct in EMPLOYEE_CONSTRUCTS:
            if not any(s.construct == construct for s in self.employee):
                raise ValueError(f"item bank has no employee item for {construct}")
        for construct in CUSTOMER_OUTCOMES:
            if not any(s.construct == construct for s in self.customer):
                raise ValueError(f"item bank has no customer item for {construct}")
        for slot in (*self.employee, *self.customer):
            if slot.scale not in SCALES:
                raise ValueError(f"item {slot.item_id}: unsupported scale {slot.scale!r}")

    def employee_columns(self, construct: str) -> list[int]:
        return [i for i, s in enumerate(self.employee) if s.construct == construct]

    def customer_columns(self, construct: str) -> list[int]:
        return [i for i, s in enumerate(self.customer) if s.construct == construct]

    @property
    def employee_item_ids(self) -> list[str]:
        ids = [s.item_id for s in self.employee]
        return [*ids, self.employee_comment] if self.employee_comment else ids

    @property
    def customer_item_ids(self) -> list[str]:
        ids = [s.item_id for s in self.customer]
        return [*ids, self.customer_comment] if self.customer_comment else ids


@dataclass(frozen=True)
class BankEntry:
    """One item as ``ListItems`` describes it (scale as its name in pulse_common.measures),
    with the population whose survey asks it."""

    item_id: str
    construct: str
    scale: str
    reverse: bool
    population: Population


def bank_from_entries(entries: Iterable[BankEntry]) -> ItemBank:
    """Pick the items of the demo's two surveys: every scored item of each construct (in
    construct order, then by id) and the first free-text item of each kind."""
    employee: list[ItemSlot] = []
    customer: list[ItemSlot] = []
    comments: dict[str, str] = {}
    listed = sorted(entries, key=lambda e: e.item_id)
    for population, constructs, target in (
        (EMPLOYEE, EMPLOYEE_CONSTRUCTS, employee),
        (CUSTOMER, CUSTOMER_OUTCOMES, customer),
    ):
        for construct in constructs:
            target.extend(
                ItemSlot(e.item_id, e.construct, e.scale, e.reverse)
                for e in listed
                if e.population == population and e.construct == construct and e.scale in SCALES
            )
        for e in listed:
            if e.population == population and e.construct == COMMENT:
                comments.setdefault(population, e.item_id)
    return ItemBank(
        tuple(employee),
        tuple(customer),
        comments.get(EMPLOYEE, ""),
        comments.get(CUSTOMER, ""),
    )


def _slots(*rows: tuple[str, str, str, bool]) -> tuple[ItemSlot, ...]:
    return tuple(ItemSlot(*row) for row in rows)


DEFAULT_BANK = ItemBank(
    employee=_slots(
        ("rec.1", "treatment.recognition", "likert_5", False),
        ("rec.2", "treatment.recognition", "likert_5", False),
        ("fair.1", "treatment.fairness", "likert_5", False),
        ("fair.2", "treatment.fairness", "likert_5", True),
        ("sup.1", "treatment.support", "likert_5", False),
        ("sup.2", "treatment.support", "likert_5", False),
        ("load.1", "treatment.workload", "likert_5", False),
        ("load.2", "treatment.workload", "likert_5", True),
        ("voice.1", "treatment.voice", "likert_5", False),
        ("voice.2", "treatment.voice", "likert_5", False),
        ("grow.1", "treatment.growth", "likert_5", False),
        ("grow.2", "treatment.growth", "likert_5", False),
        ("eng.1", "engagement", "likert_5", False),
        ("eng.2", "engagement", "likert_5", False),
        ("enps.1", "enps", "nps_0_10", False),
        ("empw.1", "empowerment", "likert_5", False),
        ("empw.2", "empowerment", "likert_5", False),
        ("empw.3", "empowerment", "likert_5", True),
        ("collab.1", "collaboration", "likert_5", False),
        ("collab.2", "collaboration", "likert_5", False),
        ("collab.3", "collaboration", "likert_5", True),
        ("align.1", "strategic_alignment", "likert_5", False),
        ("align.2", "strategic_alignment", "likert_5", False),
        ("align.3", "strategic_alignment", "likert_5", True),
        ("lead.1", "leader_partnership", "likert_5", False),
        ("lead.2", "leader_partnership", "likert_5", False),
        ("lead.3", "leader_partnership", "likert_5", False),
        ("lead.4", "leader_partnership", "likert_5", True),
        ("train.1", "training", "likert_5", False),
        ("train.2", "training", "likert_5", False),
        ("train.3", "training", "likert_5", True),
    ),
    customer=_slots(
        ("csat.1", "csat", "csat_1_5", False),
        ("nps.1", "nps", "nps_0_10", False),
        ("ces.1", "ces", "ces_1_7", False),
        ("staff.1", "staff_treatment", "likert_5", False),
        ("staff.2", "staff_treatment", "likert_5", False),
    ),
    employee_comment="ecomment.1",
    customer_comment="ccomment.1",
)
