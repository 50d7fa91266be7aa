"""The delivery-adapter interface: how an invitation leaves Pulse.

Every ``delivery.invitation.issued`` event is one *mailing* (the invitation, or one of its
reminders). ``delivery_consumer`` turns the event into a ``Mailing`` (the link, the
language, the survey and unit names, the texts rendered by ``mail_templates``) and hands
it to the configured adapter. An adapter does one thing: ``deliver(mailing)``. It either
returns (delivered: the outcome ``sent`` is recorded) or raises

- ``TemporaryFailure``: try again later. The consumer naks the message with the adapter's
  backoff (JetStream redelivers it); after ``max_tries`` the mailing is recorded ``failed``;
- ``Bounce``: the address is refused for good (e.g. SMTP 550 at RCPT); recorded
  ``bounced``, never retried;
- ``PermanentFailure``: the message itself is refused for good (e.g. SMTP 554 at DATA);
  recorded ``failed``, never retried.

Outcomes are stored per invitation and mailing in the survey service's ``deliveries`` table
(``ListInvitations`` shows them); nothing about a mailing ever reaches the response service.

Adapters in Pulse: ``delivery_log.LogAdapter`` (``PULSE_DELIVERY=log``, the default: a
local file of clickable links for the demo) and ``delivery_smtp.SmtpAdapter``
(``PULSE_DELIVERY=smtp``). An SMS or chat adapter implements the same protocol, uses
``Mailing.plain_text`` (or its own short text) and is added to ``delivery_consumer.build``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DeliveryFailure(Exception):
    """A mailing was not delivered; ``detail`` is what the far side said."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail[:500]


class TemporaryFailure(DeliveryFailure):
    """Try again later (server down, 4xx reply, timeout)."""


class Bounce(DeliveryFailure):
    """The recipient address is refused for good."""


class PermanentFailure(DeliveryFailure):
    """The mailing is refused for good for another reason."""


@dataclass(frozen=True)
class Mailing:
    """One message to one person, ready to send."""

    invitation_id: str
    mailing: int  # 0 = the invitation, 1.. = its reminders
    contact: str  # e-mail address (a phone number for an SMS adapter)
    language: str  # BCP 47 tag the texts are in
    link: str  # the survey link, absolute
    expires_at: datetime
    subject: str
    plain_text: str
    html: str
    survey_id: str

    @property
    def reminder(self) -> bool:
        return self.mailing > 0


class DeliveryAdapter(Protocol):
    """What ``delivery_consumer`` needs of an adapter."""

    @property
    def name(self) -> str:
        """Short name: names the durable consumer (``delivery-<name>``) and the outcome."""
        ...

    @property
    def max_tries(self) -> int:
        """Tries before a temporary failure is recorded as ``failed``."""
        ...

    @property
    def retry_s(self) -> tuple[float, ...]:
        """Waits between tries (the last repeats)."""
        ...

    async def deliver(self, mailing: Mailing) -> None:
        """Deliver or raise a ``DeliveryFailure``; must finish well within 30 s (the
        consumer's ack wait) or raise ``TemporaryFailure``."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What is recorded for a mailing: ``sent``, ``bounced`` or ``failed``."""

    status: str
    attempts: int
    detail: str = ""


SENT, BOUNCED, FAILED = "sent", "bounced", "failed"
