"""Errors of leaders' forms beside their field, in words (pure): every field is checked (not
only the first bad one), a service's field names become the form's, and the summary at the
top links to the input itself (GOV.UK Design System, "Error summary" pattern:
https://design-system.service.gov.uk/components/error-summary/)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pulse_common import errors

T = TypeVar("T")

# A form field's label as the summary names it.
LABELS = {
    "scope": "Part of the organisation",
    "from": "From period",
    "to": "To period",
    "outcome": "Customer outcome",
    "max_lag": "Largest lag",
    "predictors": "Predictors",
    "construct": "Measure",
}
# The services' request fields, as the form calls them.
ALIASES = {
    "period_from": "from",
    "period_to": "to",
    "scope_unit_id": "scope",
    "unit_id": "scope",
    "unit": "scope",
}
# Grammar a reader should not see: a repeated "field: field:" prefix.
_PREFIX = re.compile(r"^(?:[a-z_][a-z0-9_.]*: )+")
# Field names inside a message, as the reader knows the fields.
_MENTIONS = (
    (re.compile(r"\b(before|as|after) (from|period_from)\b"), r"\1 the From period"),
    (re.compile(r"\b(before|as|after) (to|period_to)\b"), r"\1 the To period"),
)


def form_field(name: str) -> str:
    """The form's name for a (service's) field name; ``""`` when the form has no such field."""
    name = ALIASES.get(name, name)
    return name if name in LABELS else ""


def words(description: str) -> str:
    """A message as a sentence beside its field: no field-name prefix, a capital first letter."""
    text = _PREFIX.sub("", description.strip()) or "is not valid"
    for pattern, replacement in _MENTIONS:
        text = pattern.sub(replacement, text)
    return text[:1].upper() + text[1:]


def field_words(name: str, description: str) -> str:
    """ "From period: Must be a month like 2026-03"; a field without a label keeps its name."""
    label = LABELS.get(form_field(name), "")
    return f"{label}: {words(description)}" if label else f"{name}: {words(description)}"


@dataclass
class FormErrors:
    """Field -> message; ``"_form"`` for what belongs to no field."""

    by_field: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def add(self, error: errors.InvalidArgument) -> None:
        name = form_field(error.field) or "_form"
        self.by_field.setdefault(name, words(error.description))

    def check(self, call: Callable[[], T], default: T) -> T:
        """``call()``, or ``default`` with its InvalidArgument recorded."""
        try:
            return call()
        except errors.InvalidArgument as error:
            self.add(error)
            return default

    async def check_async(self, call: Awaitable[T]) -> T | None:
        """``await call``, or None with its InvalidArgument recorded."""
        try:
            return await call
        except errors.InvalidArgument as error:
            self.add(error)
            return None

    def summary(self) -> list[dict[str, str]]:
        """The summary's lines in the form's order: a link target (the input's id) and text."""
        order = [*LABELS, "_form"]
        lines = []
        for name in sorted(self.by_field, key=order.index):
            message = self.by_field[name]
            label = LABELS.get(name, "")
            lines.append({"target": name, "text": f"{label}: {message}" if label else message})
        return lines


def typed(fields: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """What was typed into ``names``, to show again beside its error."""
    return {name: str(fields.get(name, "")) for name in names}
