"""The durable consumer (``delivery-<adapter>``) of ``delivery.invitation.issued`` (on the
delivery stream only the survey service reads, never the shared ``pulse.>``) that hands
every mailing to the configured delivery adapter (see ``delivery`` for the interface) and
records its outcome per invitation.

Once per mailing: the handler claims the message id in the processed-message ledger,
renders the mailing (``mail_templates``), calls the adapter and records the outcome, all in
one unit of work, then the loop acks. A temporary failure rolls the claim back and the
consumer's normal nak path retries with the adapter's backoff (``retry_s``); the last try
records ``failed`` instead. A bounce or permanent failure is recorded at once and never
retried. A crash between sending and committing re-sends the mailing on redelivery (a
duplicate e-mail), never loses it.

No raw token outlives its delivery on the stream (issue 13): once the outcome is committed
(sent, bounced or failed) the loop deletes the message from the delivery stream before it
acks (``ConsumerSpec.erase``). A message the handler cannot handle at all (no contact, an
unknown invitation, the database down through every try) is dead-lettered whole on
``delivery.deadletter.<durable>``, on the same delivery stream, so that ``pulse deadletter
replay`` can still send it; the original is deleted, and the dead letter itself expires with
the stream's ``max_age`` (2 days) or is deleted by the replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import PeriodGranularity
from pulse_common.errors import InvalidArgument
from pulse_common.fields import parse_timestamp
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id
from pulse_common.uow import Database

from pulse_survey import delivery_repository
from pulse_survey.delivery import (
    BOUNCED,
    FAILED,
    SENT,
    Bounce,
    DeliveryAdapter,
    Mailing,
    Outcome,
    PermanentFailure,
    TemporaryFailure,
)
from pulse_survey.delivery_log import LOG_NAME, LogAdapter
from pulse_survey.delivery_repository import MailingFacts
from pulse_survey.delivery_settings import DeliveryConfig
from pulse_survey.delivery_smtp import SmtpAdapter
from pulse_survey.mail_templates import MailContext, mail_language, render
from pulse_survey.messaging import FETCH_TIMEOUT_S


def build_adapter(config: DeliveryConfig, data_dir: str) -> DeliveryAdapter | None:
    """The adapter ``PULSE_DELIVERY`` names (None for ``none``). A new adapter kind (SMS,
    chat) is added here and in ``delivery_settings``."""
    if config.mode == "log":
        return LogAdapter(Path(data_dir) / LOG_NAME)
    if config.mode == "smtp":
        assert config.smtp is not None  # delivery_settings requires it in smtp mode
        return SmtpAdapter(config.smtp)
    return None


def mailing_of(
    event: events_pb2.InvitationIssued,
    facts: MailingFacts,
    public_url: str,
    period: PeriodGranularity,
    today: datetime,
) -> Mailing:
    """The event and the invitation's facts as a rendered mailing."""
    try:
        expires_at = parse_timestamp("expires_at", event.expires_at)
    except InvalidArgument as error:
        raise PermanentError(error.message) from error
    link = f"{public_url}{event.link_path}"
    language = mail_language(event.language or facts.language or facts.survey_language)
    mail = render(
        MailContext(
            kind=facts.kind,
            language=language,
            survey_name=facts.survey_names.get(language, facts.survey_name),
            unit_name=facts.unit_name,
            channel=event.channel or facts.channel,
            last_day=max((expires_at - timedelta(seconds=1)).date(), today.date()),
            k=facts.min_group_size,
            period=period,
            link=link,
            reminder=event.reminder,
        )
    )
    return Mailing(
        invitation_id=event.invitation_id,
        mailing=event.mailing,
        contact=event.contact,
        language=mail.language,
        link=link,
        expires_at=expires_at,
        subject=mail.subject,
        plain_text=mail.plain_text,
        html=mail.html,
        survey_id=event.survey_id,
    )


@dataclass(frozen=True)
class DeliveryConsumer:
    """``handle`` is the consumer's handler; ``durable`` also namespaces its ledger rows."""

    db: Database
    adapter: DeliveryAdapter
    public_url: str
    period: PeriodGranularity
    durable: str = ""

    @property
    def name(self) -> str:
        return self.durable or f"delivery-{self.adapter.name}"

    def spec(self) -> ConsumerSpec:
        return ConsumerSpec(
            durable=self.name,
            filter_subjects=(subjects.INVITATION_ISSUED,),
            max_deliver=self.adapter.max_tries,
            nak_backoff_s=self.adapter.retry_s,
            fetch_timeout_s=FETCH_TIMEOUT_S,
            batch=16,
            stream=subjects.DELIVERY_STREAM,
            erase=True,
        )

    async def handle(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.InvitationIssued)
        if not event.link_path.startswith("/") or not event.contact:
            raise PermanentError("an invitation needs a contact and a link path")
        tries = msg.metadata.num_delivered
        now = datetime.now(UTC)
        async with self.db.unit_of_work() as uow:
            if not await claim_message(uow.conn, f"{self.name}:{message_id(msg)}", msg.subject):
                return  # delivered before
            facts = await delivery_repository.mailing_facts(
                uow.conn, event.invitation_id, now.date()
            )
            if facts is None:
                raise PermanentError(f"invitation {event.invitation_id} does not exist")
            mailing = mailing_of(event, facts, self.public_url, self.period, now)
            outcome = await self._attempt(mailing, tries)
            await delivery_repository.record_outcome(
                uow.conn, event.invitation_id, event.mailing, self.adapter.name, outcome
            )

    async def _attempt(self, mailing: Mailing, tries: int) -> Outcome:
        """The outcome to record; a temporary failure before the last try propagates (the
        unit of work rolls back and the loop naks with backoff)."""
        try:
            await self.adapter.deliver(mailing)
        except Bounce as bounce:
            return Outcome(BOUNCED, tries, bounce.detail)
        except PermanentFailure as failure:
            return Outcome(FAILED, tries, failure.detail)
        except TemporaryFailure as failure:
            if tries < self.adapter.max_tries:
                raise
            return Outcome(FAILED, tries, failure.detail)
        return Outcome(SENT, tries)
