"""The default delivery adapter: a durable consumer (``delivery-log``) of
``pulse.invitation.issued`` that appends one line per mailing to
``<PULSE_DATA_DIR>/invitations.log``, so a person running Pulse locally can click the links:

    <RFC 3339 time>\\t<contact>\\t<PULSE_PUBLIC_URL>/s/<token>\\t<survey id>\\t<invitation|reminder>

A real mailer replaces it (``PULSE_DELIVERY=none`` turns it off; see ``settings``). The
file holds live tokens next to contacts, so it is created readable by its owner only.

Once per mailing: the handler claims the message id (``invitation:<id>:<reminder number>``)
in the processed-message ledger, appends the line, then commits. The append cannot take
part in the transaction: a crash after the append and before the commit redelivers the
message and logs its line a second time, which is harmless for a log (the token is the
same). Appending after the commit instead could lose the line, which is not."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.fields import rfc3339
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id
from pulse_common.uow import Database

from pulse_survey.messaging import FETCH_TIMEOUT_S

DURABLE = "delivery-log"
LOG_NAME = "invitations.log"


def _field(value: str) -> str:
    # A contact comes from a CRM: a tab or newline in it must not forge a line.
    return "".join(" " if ch in "\t\r\n" or not ch.isprintable() else ch for ch in value)


def log_line(moment: datetime, event: events_pb2.InvitationIssued, public_url: str) -> str:
    kind = "reminder" if event.reminder else "invitation"
    fields = [
        rfc3339(moment.replace(microsecond=0)),
        _field(event.contact),
        f"{public_url}{event.link_path}",
        event.survey_id,
        kind,
    ]
    return "\t".join(fields) + "\n"


@dataclass(frozen=True)
class DeliveryLog:
    """``handle`` is the consumer's handler; ``durable`` also namespaces its ledger rows."""

    db: Database
    path: Path
    public_url: str
    durable: str = DURABLE

    def spec(self, max_deliver: int) -> ConsumerSpec:
        return ConsumerSpec(
            durable=self.durable,
            filter_subjects=(subjects.INVITATION_ISSUED,),
            max_deliver=max_deliver,
            fetch_timeout_s=FETCH_TIMEOUT_S,
        )

    async def handle(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.InvitationIssued)
        if not event.link_path.startswith("/") or not event.contact:
            raise PermanentError("an invitation needs a contact and a link path")
        line = log_line(datetime.now(UTC), event, self.public_url)
        async with self.db.unit_of_work() as uow:
            if not await claim_message(uow.conn, f"{self.durable}:{message_id(msg)}", msg.subject):
                return  # already logged
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: one write per line, so concurrent instances never interleave a line.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
