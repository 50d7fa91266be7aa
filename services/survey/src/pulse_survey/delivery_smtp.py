"""The SMTP delivery adapter (``PULSE_DELIVERY=smtp``): one e-mail per mailing through
``aiosmtplib``, as multipart plain text + HTML in the respondent's language, with
``List-Unsubscribe`` (RFC 2369; plus ``List-Unsubscribe-Post`` for https targets, RFC 8058),
``Auto-Submitted: auto-generated`` (RFC 3834, so out-of-office replies stay away) and a
random ``Message-ID`` that says nothing about the invitation.

Replies map onto the delivery interface (``delivery``): 4xx replies, timeouts and
unreachable servers are temporary (retried with backoff); a 5xx refusal of the recipient is
a bounce; any other 5xx (sender, data) a permanent failure."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from pulse_survey.delivery import Bounce, Mailing, PermanentFailure, TemporaryFailure
from pulse_survey.delivery_settings import SmtpConfig


def message_of(config: SmtpConfig, mailing: Mailing) -> EmailMessage:
    """The e-mail of a mailing (pure)."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = mailing.contact
    message["Subject"] = mailing.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    # Random: a Message-ID must never be derivable from the invitation or its token.
    domain = config.sender.rpartition("@")[2]
    message["Message-ID"] = make_msgid(idstring=secrets.token_hex(8), domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{config.unsubscribe}>"
    if config.unsubscribe.startswith("https://"):
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mailing.plain_text)
    message.add_alternative(mailing.html, subtype="html")
    # After the content: setting it replaces every Content-* header.
    message["Content-Language"] = mailing.language
    return message


def _refusal(code: int, message: str, what: str) -> Exception:
    detail = f"{code} {message}".strip()
    if 400 <= code < 500:
        return TemporaryFailure(detail)
    return Bounce(detail) if what == "recipient" else PermanentFailure(detail)


@dataclass(frozen=True)
class SmtpAdapter:
    """A ``delivery.DeliveryAdapter`` sending through one SMTP server."""

    config: SmtpConfig
    name: str = "smtp"

    @property
    def max_tries(self) -> int:
        return self.config.max_tries

    @property
    def retry_s(self) -> tuple[float, ...]:
        return self.config.retry_s

    async def deliver(self, mailing: Mailing) -> None:
        config = self.config
        try:
            await aiosmtplib.send(
                message_of(config, mailing),
                hostname=config.host,
                port=config.port,
                username=config.username or None,
                password=config.password or None,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            first = refused.recipients[0]
            raise _refusal(first.code, first.message, "recipient") from refused
        except aiosmtplib.SMTPRecipientRefused as refused:
            raise _refusal(refused.code, refused.message, "recipient") from refused
        except aiosmtplib.SMTPResponseException as error:
            raise _refusal(error.code, error.message, "message") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
