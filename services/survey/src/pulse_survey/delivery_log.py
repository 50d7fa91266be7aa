"""The log delivery adapter (``PULSE_DELIVERY=log``, the default, for the demo and local
use): appends one line per mailing to ``<PULSE_DATA_DIR>/invitations.log``, so a person
running Pulse locally can click the links:

    <RFC 3339 time>\\t<contact>\\t<PULSE_PUBLIC_URL>/s/<token>\\t<survey id>\\t<invitation|reminder>

The file holds live tokens next to contacts, so it is created readable by its owner only.
``delivery_consumer`` calls ``deliver`` once per mailing inside the unit of work that
claims the message; a crash after the append and before the commit logs the line a second
time on redelivery, which is harmless for a log (the token is the same), whereas appending
after the commit could lose it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pulse_common.fields import rfc3339

from pulse_survey.delivery import Mailing

LOG_NAME = "invitations.log"


def _field(value: str) -> str:
    # A contact comes from a CRM: a tab or newline in it must not forge a line.
    return "".join(" " if ch in "\t\r\n" or not ch.isprintable() else ch for ch in value)


def log_line(moment: datetime, mailing: Mailing) -> str:
    kind = "reminder" if mailing.reminder else "invitation"
    fields = [
        rfc3339(moment.replace(microsecond=0)),
        _field(mailing.contact),
        _field(mailing.link),
        mailing.survey_id,
        kind,
    ]
    return "\t".join(fields) + "\n"


@dataclass(frozen=True)
class LogAdapter:
    """A ``delivery.DeliveryAdapter`` writing to a local file; it cannot fail temporarily
    except through the disk (an ``OSError`` is retried like any handler error)."""

    path: Path
    name: str = "log"
    max_tries: int = 5
    retry_s: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0, 30.0)

    async def deliver(self, mailing: Mailing) -> None:
        await asyncio.to_thread(self._append, log_line(datetime.now(UTC), mailing))

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: one write per line, so concurrent instances never interleave a line.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
