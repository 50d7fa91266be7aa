"""The default delivery adapter: a durable consumer (``delivery-log``) of
``pulse.invitation.issued`` that appends one line per mailing to
``<PULSE_DATA_DIR>/invitations.log``, so a person running Pulse locally can click the links:

    <RFC 3339 time>\\t<contact>\\t<PULSE_PUBLIC_URL>/s/<token>\\t<survey id>\\t<invitation|reminder>

A real mailer replaces it (``PULSE_DELIVERY=none`` turns it off). The file holds live
tokens next to contacts, so it is created readable by its owner only.

Once per mailing: the handler claims the message id (``invitation:<id>:<reminder number>``)
in the processed-message ledger, appends the line, then commits. The append cannot take
part in the transaction: a crash after the append and before the commit redelivers the
message and logs its line a second time, which is harmless for a log (the token is the
same). Appending after the commit instead could lose the line, which is not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import ConfigError, env_url
from pulse_common.db import Connection
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id

from pulse_survey import domain
from pulse_survey.context import HeldConnection
from pulse_survey.messaging import FETCH_TIMEOUT_S

DURABLE = "delivery-log"
LOG_NAME = "invitations.log"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class DeliveryConfig:
    enabled: bool
    public_url: str


def delivery_config(env: Mapping[str, str]) -> DeliveryConfig:
    """``PULSE_DELIVERY`` (``log``, the default, or ``none``) and ``PULSE_PUBLIC_URL``,
    validated at start-up with the variable named."""
    mode = (env.get("PULSE_DELIVERY") or "log").strip().lower()
    if mode not in ("log", "none"):
        raise ConfigError(f"PULSE_DELIVERY must be 'log' or 'none', got {mode!r}")
    url = env_url(env, "PULSE_PUBLIC_URL", ("http", "https")) or DEFAULT_PUBLIC_URL
    return DeliveryConfig(mode == "log", url.rstrip("/"))


def _field(value: str) -> str:
    # A contact comes from a CRM: a tab or newline in it must not forge a line.
    return "".join(" " if ch in "\t\r\n" or not ch.isprintable() else ch for ch in value)


def log_line(moment: datetime, event: events_pb2.InvitationIssued, public_url: str) -> str:
    kind = "reminder" if event.reminder else "invitation"
    fields = [
        domain.rfc3339(moment.replace(microsecond=0)),
        _field(event.contact),
        f"{public_url}{event.link_path}",
        event.survey_id,
        kind,
    ]
    return "\t".join(fields) + "\n"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DeliveryLog:
    """``handle`` is the consumer's handler; ``durable`` also namespaces its ledger rows."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        path: Path,
        public_url: str,
        *,
        durable: str = DURABLE,
        clock: Callable[[], datetime] = _utc_now,
        held: HeldConnection | None = None,
    ) -> None:
        self.pool = pool
        self.path = path
        self.public_url = public_url
        self.durable = durable
        self.clock = clock
        # The consumer loop's own connection (closed by the service at shutdown); without
        # one, each message borrows one from the pool.
        self.held = held

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
        line = log_line(self.clock(), event, self.public_url)
        async with self._transaction() as conn:
            if not await claim_message(conn, f"{self.durable}:{message_id(msg)}", msg.subject):
                return  # already logged
            await asyncio.to_thread(self._append, line)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        if self.held is not None:
            async with self.held.transaction() as conn:
                yield conn
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: one write per line, so concurrent instances never interleave a line.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
