"""A real survey service (PostgreSQL + NATS + gRPC) per test, and a real SMTP server
(aiosmtpd) on loopback (``pulse_testing.smtp``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pulse_testing.smtp import MailServer
from pulse_testing.smtp import mail_server as running_mail_server
from pulse_testing.survey import Survey, running_survey


@pytest.fixture
async def survey(database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Survey]:
    async with running_survey(database_url, nats_url, tmp_path) as service:
        yield service


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    with running_mail_server() as server:
        yield server
