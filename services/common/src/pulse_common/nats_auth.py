"""NATS users and what each may publish and read: every service connects as its own user,
an unauthenticated client is refused, and only the owner of a subject may publish it
(only the response service ``pulse.response.recorded``, only the survey service
``delivery.invitation.issued``, ...). Invitation delivery (raw tokens, contacts) has its
own stream PULSE_DELIVERY (``delivery.>``) that only the survey service, whose delivery
adapter sends the mail, and ``tools`` may touch (issue 13). ``tools`` is the
operator/tooling user (the demo, the tests, a CRM bridge publishing
``pulse.interaction.completed``).

Reading goes through JetStream consumers on the PULSE stream. A service may create
consumers only with a filter on the subjects it reads (the filter is part of the API
subject that NATS permissions check: ``$JS.API.CONSUMER.CREATE.PULSE.<name>.<filter>``);
pulling from an existing consumer is not tied to the user (durable names are not fixed per
service), which the README states as a limit. Each user's replies arrive under its own
inbox prefix (``_INBOX_<user>``), so nobody can subscribe to another's replies.

The embedded default writes the passwords to ``<data dir>/nats/users.json`` (owner-only)
and the server configuration from ``server_authorization``; a deployment renders the same
block with ``pulse auth nats-config`` and gives each service ``PULSE_NATS_USER`` /
``PULSE_NATS_PASSWORD`` (or ``_FILE``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pulse_common.config import Settings
from pulse_common.secrets import write_private
from pulse_common.subjects import DELIVERY_STREAM, STREAM

TOOLS = "tools"
USERS_FILE = "users.json"
# Subjects (NATS wildcards) each service publishes: its own events, and dead letters.
PUBLISHES: dict[str, tuple[str, ...]] = {
    "survey": ("pulse.survey.>", "pulse.wave.>", "pulse.org.>", "delivery.invitation.>"),
    "response": ("pulse.response.>", "pulse.detractor.>"),
    "correlation": ("pulse.report.>",),
}
# Subjects each service consumes from the stream.
READS: dict[str, tuple[str, ...]] = {
    "survey": ("pulse.interaction.>", "pulse.wave.>", "pulse.survey.>"),
    "response": ("pulse.survey.>", "pulse.wave.>"),
    "correlation": ("pulse.survey.>", "pulse.org.>", "pulse.response.>", "pulse.wave.>"),
}
# Subjects each service consumes from the delivery stream, and the users that own it.
DELIVERY_READS: dict[str, tuple[str, ...]] = {"survey": ("delivery.invitation.>",)}
SERVICE_USERS = tuple(PUBLISHES)
USERS = (*SERVICE_USERS, TOOLS)


def inbox_prefix(user: str) -> str:
    return f"_INBOX_{user}"


def permissions(user: str) -> dict[str, Any]:
    """The NATS permissions block of ``user`` (everything for ``tools``)."""
    if user == TOOLS:
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    api = "$JS.API"
    publish = [
        *PUBLISHES[user],
        "pulse.deadletter.>",
        f"{api}.INFO",
        f"{api}.STREAM.INFO.{STREAM}",
        f"{api}.STREAM.CREATE.{STREAM}",
        f"{api}.STREAM.UPDATE.{STREAM}",
        f"{api}.CONSUMER.INFO.{STREAM}.*",
        f"{api}.CONSUMER.MSG.NEXT.{STREAM}.*",
        *(f"{api}.CONSUMER.CREATE.{STREAM}.*.{subject}" for subject in READS[user]),
        f"$JS.ACK.{STREAM}.>",
    ]
    if user in DELIVERY_READS:
        stream = DELIVERY_STREAM
        publish += [
            "delivery.deadletter.>",
            *(f"{api}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")),
            # Deleting a delivered message (its raw token) by sequence; no reading by it.
            f"{api}.STREAM.MSG.DELETE.{stream}",
            f"{api}.CONSUMER.INFO.{stream}.*",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.*",
            *(f"{api}.CONSUMER.CREATE.{stream}.*.{s}" for s in DELIVERY_READS[user]),
            f"$JS.ACK.{stream}.>",
        ]
    return {"publish": {"allow": publish}, "subscribe": {"allow": [f"{inbox_prefix(user)}.>"]}}


def users_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "nats" / USERS_FILE


def ensure_users(data_dir: str | Path) -> dict[str, str]:
    """User -> password of the embedded default, generated once (owner-only file)."""
    path = users_path(data_dir)
    existing = read_users(data_dir)
    if all(user in existing for user in USERS):
        return existing
    passwords = {user: existing.get(user) or secrets.token_urlsafe(24) for user in USERS}
    write_private(path, json.dumps(passwords, indent=2).encode())
    return passwords


def read_users(data_dir: str | Path) -> dict[str, str]:
    try:
        raw = json.loads(users_path(data_dir).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in dict(raw).items()}


def server_authorization(passwords: Mapping[str, str]) -> dict[str, Any]:
    """The ``authorization`` block of a nats-server configuration for ``passwords``."""
    return {
        "users": [
            {"user": user, "password": password, "permissions": permissions(user)}
            for user, password in sorted(passwords.items())
        ]
    }


def credentials(settings: Settings, user: str) -> tuple[str, str] | None:
    """(user, password) this process connects with: ``PULSE_NATS_USER`` /
    ``PULSE_NATS_PASSWORD`` when set, else the embedded default's entry for ``user``; None
    when there is neither (the URL's own credentials, if any, are used then)."""
    if settings.nats_user:
        return settings.nats_user, settings.nats_password
    password = read_users(settings.data_dir).get(user)
    return (user, password) if password else None


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def with_credentials(url: str, user: str, password: str) -> str:
    """``url`` carrying ``user:password`` (what raw nats-py clients need)."""
    parts = urlsplit(strip_credentials(url))
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))
