"""The filter fields of leaders' pages and forms, in the shared vocabulary (pure): a unit id
or a period, where empty means "my scope" or "no bound"."""

from __future__ import annotations

from collections.abc import Mapping

from pulse_common.fields import require_unit_id
from pulse_common.periods import Granularity, require_period, require_range

from pulse_web.form_errors import FormErrors


def optional_unit_id(field: str, text: str | None) -> str:
    value = (text or "").strip()
    return require_unit_id(field, value) if value else ""


def optional_period(field: str, text: str | None, granularity: Granularity) -> str:
    """A period of the deployment's granularity (the other kind is refused), or ""."""
    value = (text or "").strip()
    return require_period(field, value, granularity).label if value else ""


def period_range(
    text_from: str | None, text_to: str | None, granularity: Granularity
) -> tuple[str, str]:
    """The ``from`` and ``to`` fields; when both are given, ``from`` must not be after ``to``."""
    first = optional_period("from", text_from, granularity)
    last = optional_period("to", text_to, granularity)
    if first and last:
        require_range("from", first, "to", last, granularity)
    return first, last


def unit_and_periods(
    fields: Mapping[str, str], unit_field: str, granularity: Granularity
) -> tuple[str, str, str]:
    """(unit id, from, to) of a filter form or query: what every leader page narrows by."""
    unit = optional_unit_id(unit_field, fields.get(unit_field))
    period_from, period_to = period_range(fields.get("from"), fields.get("to"), granularity)
    return unit, period_from, period_to


def checked_unit_and_periods(
    fields: Mapping[str, str], unit_field: str, granularity: Granularity, found: FormErrors
) -> tuple[str, str, str]:
    """``unit_and_periods`` checking every field: each problem goes into ``found`` (beside its
    field) and that field counts as empty."""
    unit = found.check(lambda: optional_unit_id(unit_field, fields.get(unit_field)), "")
    first = found.check(lambda: optional_period("from", fields.get("from"), granularity), "")
    last = found.check(lambda: optional_period("to", fields.get("to"), granularity), "")
    if (
        first
        and last
        and found.check(lambda: require_range("from", first, "to", last, granularity), None) is None
    ):
        return unit, "", ""
    return unit, first, last
