"""Request-field rules shared by every service: ids, names, free text, e-mail addresses,
dates and times. Each ``require_*`` returns the clean value or raises ``InvalidArgument``
naming the field, with one wording per rule. Pure: no I/O.

Text never carries NUL or other control characters (PostgreSQL refuses NUL in text, so
letting one through turns a caller's mistake into an internal error)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

from pulse_common.errors import InvalidArgument

# Unit ids, item ids, survey ids, wave ids: what an operator may type and a URL may carry.
ID_PATTERN = r"[A-Za-z0-9_.-]{1,64}"
ID = re.compile(rf"^{ID_PATTERN}$")
CONSTRUCT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
CHANNEL = re.compile(r"^[a-z0-9_-]{1,32}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_NAME = 200
MAX_EMAIL = 254
# Dates outside this range are typing errors (year 9999 overflows date arithmetic).
MIN_DATE, MAX_DATE = date(1970, 1, 1), date(2999, 12, 31)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value: str, *, max_length: int | None = None) -> str | None:
    """Why ``value`` is not acceptable free text, or None."""
    if _CONTROL.search(value):
        return "must not contain control characters (such as NUL)"
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length} characters, got {len(value)}"
    return None


def require_text(field: str, value: str, *, max_length: int | None = None) -> str:
    problem = text_problem(value, max_length=max_length)
    if problem is not None:
        raise InvalidArgument(field, problem)
    return value


def id_problem(value: str) -> str | None:
    if not ID.match(value):
        return f"must be 1 to 64 letters, digits or . _ - (got {value!r:.80})"
    return None


def is_id(value: str) -> bool:
    return bool(ID.match(value))


def require_id(field: str, value: str) -> str:
    """An id (unit, item, survey, wave...): ``[A-Za-z0-9_.-]{1,64}``."""
    problem = id_problem(value)
    if problem is not None:
        raise InvalidArgument(field, "is required" if value == "" else problem)
    return value


# Unit ids follow the general id rule; the name says what the field holds.
require_unit_id = require_id


def require_name(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required")
    return require_text(field, value, max_length=MAX_NAME)


def require_construct(field: str, value: str) -> str:
    if not CONSTRUCT.match(value):
        raise InvalidArgument(field, "must be lower-case words joined by dots, like csat")
    return value


def require_channel(field: str, value: str) -> str:
    if not CHANNEL.match(value):
        raise InvalidArgument(field, "must be 1 to 32 of a-z, 0-9, _ or -")
    return value


def require_language(field: str, value: str) -> str:
    if not LANGUAGE.match(value):
        raise InvalidArgument(field, "must be a language tag like en or de-CH")
    return value


def require_email(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_EMAIL or not EMAIL.match(value) or _CONTROL.search(value):
        raise InvalidArgument(field, "must be an e-mail address like name@example.org")
    return value


def date_problem(value: date) -> str | None:
    if not MIN_DATE <= value <= MAX_DATE:
        return f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"
    return None


def parse_date(field: str, value: str, default: date | None = None) -> date:
    """Strict ISO date (YYYY-MM-DD) within the supported range; ``default`` when empty."""
    if value == "" and default is not None:
        return default
    if not ISO_DATE.match(value):
        raise InvalidArgument(field, "must be a date like 2026-03-31 (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, f"{value} is not a calendar date") from None
    problem = date_problem(parsed)
    if problem is not None:
        raise InvalidArgument(field, problem)
    return parsed


def parse_timestamp(field: str, value: str) -> datetime:
    """RFC 3339 with an explicit offset (a local time without zone is ambiguous), in UTC."""
    if not value:
        raise InvalidArgument(field, "is required (an RFC 3339 time like 2026-03-31T09:30:00Z)")
    if _CONTROL.search(value):
        raise InvalidArgument(field, "must be an RFC 3339 time like 2026-03-31T09:30:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, "must be an RFC 3339 time like 2026-03-31T09:30:00Z") from None
    if parsed.tzinfo is None:
        raise InvalidArgument(field, "must carry a time zone offset (e.g. Z)")
    problem = date_problem(parsed.date())
    if problem is not None:
        raise InvalidArgument(field, problem)
    return parsed.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def require_uuid(field: str, value: str, what: str = "an id") -> uuid.UUID:
    """A UUID id (survey, wave, report...); ``what`` names it in the message, e.g.
    "a survey id" gives "must be a survey id (UUID)"."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(field, f"must be {what} (UUID)") from None
