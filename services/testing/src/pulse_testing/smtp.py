"""A real SMTP server (aiosmtpd) on loopback for delivery tests: it keeps the messages it
receives and refuses what a test tells it to (a recipient at RCPT, the next DATA replies)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class MailServer:
    """What the server received; ``refuse`` maps a recipient to the reply its RCPT gets,
    ``fail_data`` to the replies its next DATA commands get (one per try)."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    fail_data: dict[str, list[str]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        """The survey service's settings for this server."""
        return {
            "PULSE_DELIVERY": "smtp",
            "PULSE_SMTP_HOST": "127.0.0.1",
            "PULSE_SMTP_PORT": str(self.port),
            "PULSE_SMTP_SECURITY": "none",
            "PULSE_SMTP_FROM": "pulse@example.org",
            "PULSE_SMTP_RETRY_S": "0.2",
            "PULSE_SMTP_TIMEOUT_S": "5",
            **extra,
        }

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.received if message["To"] == address]

    async def wait_for(self, count: int, timeout_s: float = 15.0) -> list[EmailMessage]:
        """The messages once at least ``count`` arrived (then a moment for any surplus)."""
        for _ in range(int(timeout_s / 0.05)):
            if len(self.received) >= count:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.4)
        return list(self.received)


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.server.attempts[address] = self.server.attempts.get(address, 0) + 1
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, smtp: SMTP, session: Session, envelope: Envelope
    ) -> str:
        for address in envelope.rcpt_tos:
            replies = self.server.fail_data.get(address)
            if replies:
                return replies.pop(0)
        content: Any = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.received.append(parsed)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def mail_server() -> Iterator[MailServer]:
    server = MailServer(_free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
