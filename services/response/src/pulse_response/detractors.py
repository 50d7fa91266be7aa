"""Detractors, pure: which customer answer is a bottom-box one, and the follow-up it raises
when the customer asked to be contacted.

Bottom box: an NPS item scored 0-6 (a detractor, Reichheld 2003), any other customer-outcome
item (csat, ces, staff_treatment) at the worst point of its scale (after reverse scoring).
Only customer outcome constructs count; the first such answer in survey order is the one the
team sees."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.fields import require_text
from pulse_common.measures import CUSTOMER_OUTCOMES, SCALE_RANGES

from pulse_response.domain import NewResponse

MAX_CONTACT_CHARS = 200
NPS_DETRACTOR_MAX = 6
# follow_up_id = uuid5(namespace, response id): one follow-up per response, whatever retries.
FOLLOW_UP_NAMESPACE = uuid.UUID("0b7c2f3e-5d7a-4e8b-9c61-2f1a8d4b6e90")


@dataclass(frozen=True)
class FollowUp:
    follow_up_id: uuid.UUID
    unit_id: str
    period: str
    channel: str
    construct: str
    score: int
    contact: str
    flagged_at: dt.datetime
    closed_at: dt.datetime | None = None
    outcome: str = ""

    @property
    def status(self) -> str:
        return "closed" if self.closed_at is not None else "open"


def check_contact(consent: bool, contact: str) -> str:
    """The contact to keep: "" without consent (a contact sent without it is dropped)."""
    if not consent:
        return ""
    contact = contact.strip()
    if not contact:
        raise errors.InvalidArgument("contact", "is required when contact_consent is set")
    if len(contact) > MAX_CONTACT_CHARS:
        raise errors.InvalidArgument("contact", f"at most {MAX_CONTACT_CHARS} characters")
    return require_text("contact", contact)


def bottom_box(
    scores: list[tuple[str, int]], definition: types_pb2.SurveyDefinition
) -> tuple[str, int] | None:
    """(construct, score) of the first bottom-box customer-outcome answer, or None."""
    items = {item.item_id: item for item in definition.items}
    for item_id, score in scores:
        item = items.get(item_id)
        if item is None or item.construct not in CUSTOMER_OUTCOMES:
            continue
        low, high = SCALE_RANGES.get(item.scale, (0, 0))
        scored = low + high - score if item.reverse_scored else score
        if item.construct == "nps" or (low, high) == (0, 10):
            if scored <= NPS_DETRACTOR_MAX:
                return item.construct, score
        elif scored == low:
            return item.construct, score
    return None


def follow_up_of(
    response: NewResponse,
    definition: types_pb2.SurveyDefinition,
    contact: str,
    now: dt.datetime,
) -> FollowUp | None:
    """The follow-up a customer response raises: only with a contact (consent given) and a
    bottom-box answer."""
    if not contact:
        return None
    found = bottom_box(response.answers.scores, definition)
    if found is None:
        return None
    return FollowUp(
        follow_up_id=uuid.uuid5(FOLLOW_UP_NAMESPACE, str(response.response_id)),
        unit_id=response.group.unit_id,
        period=response.group.period,
        channel=response.channel,
        construct=found[0],
        score=found[1],
        contact=contact,
        flagged_at=now,
    )
