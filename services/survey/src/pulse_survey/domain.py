"""Pure rules and records of the survey service: item/kind fit, cadences,
small-group suppression of response rates, the dated org tree and the interaction fields.
No I/O here. Kinds, scales and constructs come from ``pulse_common.measures``, cadence values
from the survey proto."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common import fields, measures
from pulse_common.errors import InvalidArgument

LIKERT_SCALES = frozenset({types_pb2.SCALE_LIKERT_5, types_pb2.SCALE_LIKERT_7})
MAX_ITEM_TEXT = 1000
MAX_INTERACTION_ID = 200
MAX_CUSTOMER_KEY = 200


# -- items and surveys ------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    item_id: str
    construct: str
    text: str
    language: str
    scale: int
    reverse_scored: bool
    required: bool
    # The wording in further languages, (language, text) sorted by language.
    translations: tuple[tuple[str, str], ...] = ()
    # Survey kinds the item is asked in; () = every kind its construct fits.
    kinds: tuple[int, ...] = ()

    def wording(self) -> dict[str, str]:
        """Every language's text, the item's own language included."""
        return {self.language: self.text, **dict(self.translations)}


@dataclass(frozen=True)
class BankItem:
    spec: ItemSpec
    item_version: int


DRAFT, PUBLISHED = "draft", "published"


@dataclass(frozen=True)
class SurveyDraft:
    """What CreateSurvey asks for: a new survey, or the next draft of ``survey_id``."""

    name: str
    kind: int
    item_ids: list[str]
    min_group_size: int
    min_comment_group_size: int
    language: str
    rated_unit_id: str  # the unit an internal service survey rates, else ""
    survey_id: str  # "" = a new survey
    # The name in further languages, (language, name) sorted by language.
    name_translations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Summary:
    """A survey with its latest version and that version's status (``DRAFT``/``PUBLISHED``)."""

    survey_id: str
    name: str
    kind: int
    status: str
    latest_version: int


def fits_kind(construct: str, kind: int) -> bool:
    """Whether an item of ``construct`` may appear in a survey of ``kind``: employee
    constructs only in employee pulses, customer outcomes in customer and internal service
    surveys, anything else (comments, extra constructs) everywhere."""
    population = measures.population_of(kind)
    if population is None:
        return False
    if construct in measures.EMPLOYEE_CONSTRUCTS:
        return population == measures.EMPLOYEE
    if construct in measures.CUSTOMER_OUTCOMES:
        return population in (measures.CUSTOMER, measures.INTERNAL)
    return True


def item_fits(spec: ItemSpec, kind: int) -> bool:
    """``fits_kind`` for the item's construct, narrowed by the item's own ``kinds``."""
    return fits_kind(spec.construct, kind) and (not spec.kinds or kind in spec.kinds)


def validate_item(item: ItemSpec, prefix: str = "item") -> None:
    fields.require_id(f"{prefix}.item_id", item.item_id)
    fields.require_construct(f"{prefix}.construct", item.construct)
    if not item.text.strip():
        raise InvalidArgument(f"{prefix}.text", "is required")
    fields.require_text(f"{prefix}.text", item.text, max_length=MAX_ITEM_TEXT)
    fields.require_language(f"{prefix}.language", item.language)
    if item.scale not in measures.SCALE_NAMES.values():
        raise InvalidArgument(f"{prefix}.scale", "is required")
    fixed = measures.FIXED_SCALE.get(item.construct)
    if fixed is not None and item.scale != fixed:
        raise InvalidArgument(
            f"{prefix}.scale",
            f"construct {item.construct} needs its own scale ({measures.scale_name(fixed)})",
        )
    if fixed is None and item.scale not in LIKERT_SCALES:
        raise InvalidArgument(f"{prefix}.scale", "scored constructs use a Likert scale")
    if item.reverse_scored and item.scale not in LIKERT_SCALES:
        raise InvalidArgument(f"{prefix}.reverse_scored", "only Likert items can be reversed")
    for language, text in item.translations:
        where = f"{prefix}.translations[{language}]"
        fields.require_language(where, language)
        if language == item.language:
            raise InvalidArgument(where, f"repeats the item's own language ({item.language})")
        if not text.strip():
            raise InvalidArgument(where, "is empty")
        fields.require_text(where, text, max_length=MAX_ITEM_TEXT)
    for kind in item.kinds:
        if measures.population_of(kind) is None or not fits_kind(item.construct, kind):
            raise InvalidArgument(
                f"{prefix}.kinds", f"construct {item.construct} cannot be asked there"
            )


# -- waves ------------------------------------------------------------------------------

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"
# Days between waves; monthly waves keep their day of the month instead (``add_months``).
CADENCE_DAYS: dict[int, int] = {
    survey_pb.CADENCE_ONCE: 0,
    survey_pb.CADENCE_WEEKLY: 7,
    survey_pb.CADENCE_FORTNIGHTLY: 14,
}


@dataclass(frozen=True)
class Wave:
    wave_id: str
    survey_id: str
    survey_version: int
    audience_unit_id: str
    period: str
    opens_on: date
    closes_on: date
    status: str
    invited: int
    cadence: int
    rotation: int
    min_group_size: int | None
    reminder_rounds: int = 0


def start_of(day: date) -> datetime:
    """Midnight UTC of ``day``: when a wave opens, and when it closes (exclusive)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan -> 29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def wave_dates(cadence: int, first: date, count: int, open_days: int) -> list[tuple[date, date]]:
    """(opens_on, closes_on) for each scheduled wave; closes_on is exclusive."""
    if cadence == survey_pb.CADENCE_ONCE and count != 1:
        raise InvalidArgument("count", "must be 1 for a one-off wave")
    result = []
    for index in range(count):
        if cadence == survey_pb.CADENCE_MONTHLY:
            opens = add_months(first, index)
        else:
            opens = first + timedelta(days=CADENCE_DAYS[cadence] * index)
        result.append((opens, opens + timedelta(days=open_days)))
    gaps = [(b[0] - a[0]).days for a, b in itertools.pairwise(result)]
    spacing = min(gaps) if gaps else None
    if spacing is not None and open_days > spacing:
        # Overlapping waves of one survey would ask people twice in the same window.
        raise InvalidArgument("open_days", f"must not exceed the cadence spacing ({spacing} days)")
    return result


@dataclass(frozen=True)
class Rate:
    """One unit's participation; the field names are those of ``pb.ResponseRate``."""

    unit_id: str
    invited: int
    responded: int
    rate: float
    suppressed: bool
    suppression_reason: str


def response_rates(counts: Mapping[str, tuple[int, int]], k: int) -> list[Rate]:
    """Per-unit (invited, responded) -> released rates. The rule:

    - ``responded`` counts redeemed invitations: a token is redeemed only when the response
      service records an answer, and says *that* someone answered, never what or who.
    - A unit is released only when at least ``k`` people were invited in it (``k`` locked
      when the wave opened). Below that, both counts are zeroed and the unit is marked
      suppressed; no responded total of the wave is released anywhere, so a small group's
      participation cannot be derived by subtraction either.
    - A released unit shows its responded count even when it is below ``k``: a head count
      of a group of at least ``k`` invitees does not tell who answered, and scores are
      released by the correlation service under its own ``k`` rule.
    """
    rates = []
    for unit_id in sorted(counts):
        invited, responded = counts[unit_id]
        if invited < k:
            rates.append(Rate(unit_id, 0, 0, 0.0, True, f"fewer than {k} people invited"))
        else:
            rates.append(Rate(unit_id, invited, responded, responded / invited, False, ""))
    return rates


@dataclass(frozen=True)
class NewInvitation:
    survey_id: str
    survey_version: int
    kind: int
    wave_id: str  # "" for customer invitations
    person_pseudonym: str  # "" for customers
    interaction_id: str  # "" for employees
    unit_id: str
    period: str
    channel: str
    expires_at: datetime
    contact: str
    language: str = ""  # the respondent's language ("" = the survey's own)
    # Not stored and not read: the items a person is asked derive from their token when it
    # is inspected (``rotation``). Kept only so that older callers passing it still work.
    item_ids: Sequence[str] = ()


# -- the dated org tree -----------------------------------------------------------------


@dataclass(frozen=True)
class UnitVersion:
    """One dated version of a unit; ``valid_to`` is exclusive (None = still current)."""

    unit_id: str
    name: str
    parent_id: str  # "" = root
    unit_type: int
    valid_from: date
    valid_to: date | None
    depth: int = 0


def with_depths(units: dict[str, UnitVersion]) -> dict[str, UnitVersion]:
    """The same units with their depth in the tree (roots 0); cycle-safe."""

    def depth(unit_id: str) -> int:
        level, seen, current = 0, {unit_id}, units[unit_id].parent_id
        while current and current in units and current not in seen:
            seen.add(current)
            level += 1
            current = units[current].parent_id
        return level

    return {unit_id: replace(unit, depth=depth(unit_id)) for unit_id, unit in units.items()}


def subtree(units: dict[str, UnitVersion], root: str) -> set[str]:
    """``root`` and all its descendants among ``units``."""
    children: dict[str, list[str]] = {}
    for unit in units.values():
        children.setdefault(unit.parent_id, []).append(unit.unit_id)
    found, stack = set(), [root]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


def children_of(units: Iterable[UnitVersion], parent_id: str) -> list[UnitVersion]:
    return sorted((u for u in units if u.parent_id == parent_id), key=lambda u: u.unit_id)


# -- customer interactions --------------------------------------------------------------


@dataclass(frozen=True)
class InteractionInput:
    interaction_id: str
    unit_id: str
    occurred_at: datetime
    channel: str
    customer_key: str
    customer_contact: str
    language: str = ""  # the customer's language ("" = the survey's own)


def parse_interaction(
    prefix: str,
    interaction_id: str,
    unit_id: str,
    occurred_at: str,
    channel: str,
    customer_key: str,
    customer_contact: str,
    language: str = "",
) -> InteractionInput:
    """Field checks shared by the gRPC edge and the event consumer (``prefix`` names the
    message the fields sit in, e.g. ``interaction.``)."""
    if not interaction_id:
        raise InvalidArgument(f"{prefix}interaction_id", "is required")
    fields.require_text(f"{prefix}interaction_id", interaction_id, max_length=MAX_INTERACTION_ID)
    fields.require_unit_id(f"{prefix}unit_id", unit_id)
    occurred = fields.parse_timestamp(f"{prefix}occurred_at", occurred_at)
    channel = fields.require_channel(f"{prefix}channel", channel.strip().lower())
    key = fields.require_text(
        f"{prefix}customer_key", customer_key.strip(), max_length=MAX_CUSTOMER_KEY
    )
    contact = fields.require_text(
        f"{prefix}customer_contact", customer_contact.strip(), max_length=fields.MAX_EMAIL
    )
    language = language.strip()
    if language:
        fields.require_language(f"{prefix}language", language)
    return InteractionInput(interaction_id, unit_id, occurred, channel, key, contact, language)
