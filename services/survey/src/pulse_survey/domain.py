"""Pure rules and records of the survey service: field formats, periods, cadences, the
dated org tree, item/kind fit, rotation and small-group suppression. No I/O here."""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from pulse_common.config import PeriodGranularity
from pulse_common.errors import InvalidArgument

UNIT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONSTRUCT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
ITEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_NAME = 200

# Scale enum values of pulse.types.v1.Scale (kept numeric so this module needs no protobuf).
LIKERT_5, LIKERT_7, NPS_0_10, CSAT_1_5, CES_1_7, FREE_TEXT = 1, 2, 3, 4, 5, 6
# SurveyKind values of pulse.types.v1.SurveyKind.
EMPLOYEE, CUSTOMER, INTERNAL = 1, 2, 3

EMPLOYEE_CONSTRUCTS = frozenset(
    {
        "treatment.recognition",
        "treatment.fairness",
        "treatment.support",
        "treatment.workload",
        "treatment.voice",
        "treatment.growth",
        "engagement",
        "enps",
    }
)
CUSTOMER_CONSTRUCTS = frozenset({"csat", "nps", "ces", "staff_treatment"})
COMMENT = "comment"
# Constructs whose scale is fixed by definition (DESIGN §5).
FIXED_SCALE = {
    "csat": CSAT_1_5,
    "nps": NPS_0_10,
    "enps": NPS_0_10,
    "ces": CES_1_7,
    COMMENT: FREE_TEXT,
}


def require_unit_id(field: str, value: str) -> str:
    if not UNIT_ID.match(value):
        raise InvalidArgument(field, "must match [A-Za-z0-9_.-]{1,64}")
    return value


def require_name(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > MAX_NAME:
        raise InvalidArgument(field, f"must be at most {MAX_NAME} characters")
    return value


def parse_date(field: str, value: str, default: date | None = None) -> date:
    """Strict ISO date (YYYY-MM-DD); ``default`` when empty and one is given."""
    if value == "" and default is not None:
        return default
    if not ISO_DATE.match(value):
        raise InvalidArgument(field, "must be an ISO date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, "is not a valid calendar date") from None


def parse_timestamp(field: str, value: str) -> datetime:
    """RFC 3339 with an explicit offset (a local time without zone is ambiguous)."""
    if not value:
        raise InvalidArgument(field, "is required (RFC 3339 time)")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, "must be an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise InvalidArgument(field, "must carry a time zone offset (e.g. Z)")
    return parsed.astimezone(UTC)


def require_email(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not EMAIL.match(value):
        raise InvalidArgument(field, "must be an email address")
    return value


def period_of(day: date, granularity: PeriodGranularity) -> str:
    """The reporting period of a day: "2025-03" (month) or "2025-W09" (ISO week)."""
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Cadence enum values of pulse.survey.v1.Cadence.
ONCE, WEEKLY, FORTNIGHTLY, MONTHLY = 1, 2, 3, 4


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def wave_dates(cadence: int, first: date, count: int, open_days: int) -> list[tuple[date, date]]:
    """(opens_on, closes_on) for each scheduled wave; closes_on is exclusive."""
    if cadence == ONCE and count != 1:
        raise InvalidArgument("count", "must be 1 for a one-off wave")
    result = []
    for index in range(count):
        if cadence == MONTHLY:
            opens = add_months(first, index)
        else:
            step = {ONCE: 0, WEEKLY: 7, FORTNIGHTLY: 14}[cadence]
            opens = first + timedelta(days=step * index)
        result.append((opens, opens + timedelta(days=open_days)))
    gaps = [(b[0] - a[0]).days for a, b in itertools.pairwise(result)]
    spacing = min(gaps) if gaps else None
    if spacing is not None and open_days > spacing:
        # Overlapping waves of one survey would ask people twice in the same window.
        raise InvalidArgument("open_days", f"must not exceed the cadence spacing ({spacing} days)")
    return result


def construct_kinds(construct: str) -> frozenset[int]:
    """Survey kinds an item of this construct may appear in."""
    if construct in EMPLOYEE_CONSTRUCTS:
        return frozenset({EMPLOYEE})
    if construct in CUSTOMER_CONSTRUCTS:
        return frozenset({CUSTOMER, INTERNAL})
    return frozenset({EMPLOYEE, CUSTOMER, INTERNAL})


@dataclass(frozen=True)
class ItemSpec:
    item_id: str
    construct: str
    text: str
    language: str
    scale: int
    reverse_scored: bool
    required: bool


def validate_item(item: ItemSpec, prefix: str = "item") -> None:
    if not ITEM_ID.match(item.item_id):
        raise InvalidArgument(f"{prefix}.item_id", "must match [A-Za-z0-9_.-]{1,64}")
    if not CONSTRUCT.match(item.construct):
        raise InvalidArgument(f"{prefix}.construct", "must be a dotted lower-case name")
    if not item.text.strip() or len(item.text) > 1000:
        raise InvalidArgument(f"{prefix}.text", "must be 1-1000 characters")
    if not LANGUAGE.match(item.language):
        raise InvalidArgument(f"{prefix}.language", "must be a BCP 47 tag such as en or de-CH")
    if item.scale not in (LIKERT_5, LIKERT_7, NPS_0_10, CSAT_1_5, CES_1_7, FREE_TEXT):
        raise InvalidArgument(f"{prefix}.scale", "is required")
    fixed = FIXED_SCALE.get(item.construct)
    if fixed is not None and item.scale != fixed:
        raise InvalidArgument(f"{prefix}.scale", f"construct {item.construct} needs its own scale")
    if fixed is None and item.scale in (NPS_0_10, CSAT_1_5, CES_1_7, FREE_TEXT):
        raise InvalidArgument(f"{prefix}.scale", "scored constructs use a Likert scale")
    if item.reverse_scored and item.scale not in (LIKERT_5, LIKERT_7):
        raise InvalidArgument(f"{prefix}.reverse_scored", "only Likert items can be reversed")


def rotation_for(
    item_ids: Sequence[str], rotatable: Sequence[str], per_person: int, index: int
) -> list[str]:
    """Items asked of the ``index``-th invitee: every fixed item plus a window of
    ``per_person`` rotatable items sliding by invitee, so each rotatable item is asked
    equally often. Empty means "all items" (no rotation)."""
    if per_person <= 0 or per_person >= len(rotatable):
        return []
    start = (index * per_person) % len(rotatable)
    chosen = {rotatable[(start + offset) % len(rotatable)] for offset in range(per_person)}
    rotating = set(rotatable)
    return [item for item in item_ids if item not in rotating or item in chosen]


@dataclass(frozen=True)
class Rate:
    unit_id: str
    invited: int
    responded: int
    rate: float
    suppressed: bool
    reason: str


def response_rates(counts: dict[str, tuple[int, int]], k: int) -> list[Rate]:
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


# -- the dated org tree ---------------------------------------------------------------------


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


# -- waves and invitations -----------------------------------------------------------------

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"


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
    item_ids: Sequence[str]
    expires_at: datetime
    contact: str
