"""``PULSE_DELIVERY`` and the ``PULSE_SMTP_*`` variables: which delivery adapter runs
(``log``, the default; ``smtp``; ``none``) and how it reaches the mail server. Read once at
start-up by ``settings``; messages name the variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from pulse_common.config import ConfigError, env_float, env_int, env_url
from pulse_common.fields import EMAIL

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
Mode = Literal["log", "smtp", "none"]
Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
# Waits between tries of one mailing (JetStream nak delays); the last repeats.
DEFAULT_RETRY_S = (60.0, 300.0, 1800.0, 3600.0, 7200.0)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    sender: str  # the From address
    unsubscribe: str  # List-Unsubscribe target: a mailto: or https: URL
    timeout_s: float
    max_tries: int
    retry_s: tuple[float, ...]


@dataclass(frozen=True)
class DeliveryConfig:
    """Which adapter delivers ``delivery.invitation.issued``, and the public address its links
    start with; ``smtp`` is set only in ``smtp`` mode."""

    mode: Mode
    public_url: str
    smtp: SmtpConfig | None = None

    @property
    def enabled(self) -> bool:
        return self.mode != "none"


def _retry(env: Mapping[str, str]) -> tuple[float, ...]:
    raw = (env.get("PULSE_SMTP_RETRY_S") or "").strip()
    if not raw:
        return DEFAULT_RETRY_S
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(
            f"PULSE_SMTP_RETRY_S must list seconds between tries, e.g. 60,300,1800, got {raw!r}"
        ) from None
    if any(not 0.05 <= value <= 86400 for value in values):
        raise ConfigError("PULSE_SMTP_RETRY_S: each wait must be between 0.05 and 86400 seconds")
    return values


def smtp_config(env: Mapping[str, str]) -> SmtpConfig:
    host = (env.get("PULSE_SMTP_HOST") or "").strip()
    if not host:
        raise ConfigError("PULSE_SMTP_HOST is required when PULSE_DELIVERY=smtp")
    security = (env.get("PULSE_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in DEFAULT_PORTS:
        raise ConfigError(f"PULSE_SMTP_SECURITY must be starttls, tls or none, got {security!r}")
    sender = (env.get("PULSE_SMTP_FROM") or "").strip()
    if not EMAIL.match(sender):
        raise ConfigError("PULSE_SMTP_FROM must be the sender's address, e.g. pulse@example.org")
    username = (env.get("PULSE_SMTP_USERNAME") or "").strip()
    password = env.get("PULSE_SMTP_PASSWORD") or ""
    if bool(username) != bool(password):
        raise ConfigError("PULSE_SMTP_USERNAME and PULSE_SMTP_PASSWORD go together")
    unsubscribe = (env.get("PULSE_SMTP_UNSUBSCRIBE") or "").strip()
    if unsubscribe and not unsubscribe.startswith(("mailto:", "https://")):
        raise ConfigError("PULSE_SMTP_UNSUBSCRIBE must be a mailto: or https:// address")
    typed: Security = security
    return SmtpConfig(
        host=host,
        port=env_int(env, "PULSE_SMTP_PORT", DEFAULT_PORTS[typed], 1, 65535),
        security=typed,
        username=username,
        password=password,
        sender=sender,
        unsubscribe=unsubscribe or f"mailto:{sender}?subject=unsubscribe",
        timeout_s=env_float(env, "PULSE_SMTP_TIMEOUT_S", 20.0, 1.0, 120.0),
        max_tries=env_int(env, "PULSE_SMTP_MAX_TRIES", 6, 1, 50),
        retry_s=_retry(env),
    )


def delivery_config(env: Mapping[str, str]) -> DeliveryConfig:
    """``PULSE_DELIVERY`` (``log``, the default, ``smtp`` or ``none``), ``PULSE_PUBLIC_URL``
    and, for ``smtp``, the ``PULSE_SMTP_*`` variables."""
    mode = (env.get("PULSE_DELIVERY") or "log").strip().lower()
    if mode not in ("log", "smtp", "none"):
        raise ConfigError(f"PULSE_DELIVERY must be log, smtp or none, got {mode!r}")
    url = env_url(env, "PULSE_PUBLIC_URL", ("http", "https")) or DEFAULT_PUBLIC_URL
    smtp = smtp_config(env) if mode == "smtp" else None
    return DeliveryConfig(cast(Mode, mode), url.rstrip("/"), smtp)
