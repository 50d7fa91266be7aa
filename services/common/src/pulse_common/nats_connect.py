"""Connecting to NATS: any node of a cluster, bounded retries at start-up with a log line
per wait and an error naming the servers, then reconnecting forever."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

log = logging.getLogger(__name__)


async def connect_nats(
    servers: str | list[str],
    name: str,
    *,
    connect_timeout_s: float = 30.0,
    user: str = "",
    password: str = "",
    inbox_prefix: str = "",
) -> NatsClient:
    """Connect to any of ``servers`` (one URL, a comma-separated list or a list: the nodes of
    a cluster), retrying until ``connect_timeout_s`` with a log line per wait, then raise
    ``ConnectionError`` naming them; once connected, reconnect forever. With ``user``, the
    URLs' own credentials are dropped and ``user``/``password`` are sent instead;
    ``inbox_prefix`` keeps the client's replies under a subject only it may read."""
    if isinstance(servers, str):
        servers = [url.strip() for url in servers.split(",") if url.strip()]
    if user:
        from pulse_common.nats_auth import strip_credentials

        servers = [strip_credentials(url) for url in servers]
    auth: dict[str, Any] = {"user": user, "password": password} if user else {}
    if inbox_prefix:
        auth["inbox_prefix"] = inbox_prefix

    async def on_disconnect() -> None:
        log.warning("nats disconnected", extra={"client": name})

    async def on_reconnect() -> None:
        log.info("nats reconnected", extra={"client": name})

    async def on_error(error: Exception) -> None:
        log.debug("nats error: %s", error)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout_s
    shown = ", ".join(servers)
    while True:
        # nats-py retries servers forever on its own when reconnects are unlimited (also
        # on the first connect), so each attempt is bounded here.
        attempt = nats.connect(
            servers=servers,
            name=name,
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            error_cb=on_error,
            **auth,
        )
        try:
            return await asyncio.wait_for(attempt, timeout=2.5 * len(servers) + 1)
        except (OSError, TimeoutError, nats.errors.Error) as error:
            if loop.time() > deadline:
                raise ConnectionError(
                    f"cannot reach NATS at {shown} after {connect_timeout_s:.0f} s: "
                    f"{error or type(error).__name__}"
                ) from error
            log.warning("waiting for NATS at %s: %s", shown, error or type(error).__name__)
            await asyncio.sleep(1.0)
