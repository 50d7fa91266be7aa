"""Raw invitation tokens for tests, as a delivery adapter is handed them. The delivery stream
keeps an invitation only until the survey service's adapter has delivered it (issue 13:
the delivered message is deleted), so a test cannot read tokens back from the stream
afterwards. Instead ``inprocess_stack`` opens a tap whenever it starts a survey service: a
core NATS subscription on ``delivery.invitation.issued`` as the ``tools`` user, opened
before anything is issued, which receives every published message whatever the delivery
consumer does with the stored copy. ``stream_messages`` reads the tap for that subject.

Outside an in-process stack (``pulse dev up``, the cluster kit) tests read the log
adapter's output (``<data dir>/invitations.log``) instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nats
import nats.errors
from nats.aio.msg import Msg
from pulse_common.subjects import INVITATION_ISSUED

# A tap per NATS server (host:port) while a stack runs on it; the first one opened has seen most.
_TAPS: dict[str, list[Tap]] = {}


def server_key(nats_url: str) -> str:
    """``host:port`` of the first server of ``nats_url`` (credentials and scheme dropped)."""
    parts = urlsplit(nats_url.split(",")[0].strip())
    return f"{parts.hostname}:{parts.port or 4222}"


@dataclass
class Tap:
    """Every (Nats-Msg-Id, payload) published on ``subject`` since the tap opened."""

    subject: str
    received: list[tuple[str, bytes]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, msg: Msg) -> None:
        self.received.append(((msg.headers or {}).get("Nats-Msg-Id", ""), msg.data))
        self._changed.set()

    async def messages(
        self, at_least: int = 0, timeout_s: float = 10.0, settle_s: float = 0.3
    ) -> list[tuple[str, bytes]]:
        """What arrived, once ``at_least`` have (or ``timeout_s`` passed) and nothing more
        came for ``settle_s`` (so tests can assert exact counts). A message published twice
        (a JetStream duplicate the stream dropped) is listed once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._changed.clear()
            enough = len(self.received) >= at_least
            wait = settle_s if enough else min(0.5, deadline - loop.time())
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=max(wait, 0.01))
            except TimeoutError:
                if enough or loop.time() >= deadline:
                    break
        unique: dict[str, tuple[str, bytes]] = {}
        for index, (msg_id, data) in enumerate(self.received):
            unique.setdefault(msg_id or f"#{index}", (msg_id, data))
        return list(unique.values())


@contextlib.asynccontextmanager
async def invitation_tap(nats_url: str) -> AsyncIterator[Tap | None]:
    """A tap on ``delivery.invitation.issued`` for the stack on ``nats_url`` (None when NATS
    cannot be reached now: a test that starts without NATS reads no tokens)."""
    tap = Tap(INVITATION_ISSUED)
    servers = [url.strip() for url in nats_url.split(",") if url.strip()]
    try:
        nc = await asyncio.wait_for(
            nats.connect(servers=servers, connect_timeout=2, max_reconnect_attempts=-1), 3
        )
    except (OSError, TimeoutError, nats.errors.Error):
        yield None
        return
    try:
        await nc.subscribe(tap.subject, cb=tap.on_message)
        await nc.flush(timeout=5)  # the server has the subscription before anything is issued
        key = server_key(nats_url)
        _TAPS.setdefault(key, []).append(tap)
        try:
            yield tap
        finally:
            _TAPS[key].remove(tap)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def tap_for(nats_url: str) -> Tap | None:
    """The open tap on ``nats_url``'s server, if a stack opened one."""
    taps = _TAPS.get(server_key(nats_url))
    return taps[0] if taps else None


async def logged_tokens(
    data_dir: Path, survey_id: str, count: int, timeout_s: float = 60.0
) -> dict[str, str]:
    """Contact -> token of the first ``count`` invitations to ``survey_id`` that the log
    adapter wrote to ``<data_dir>/invitations.log`` (stacks run as processes)."""
    log = data_dir / "invitations.log"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found: dict[str, str] = {}
        for line in log.read_text().splitlines() if log.exists() else []:
            parts = line.split("\t")
            if len(parts) >= 5 and parts[3] == survey_id and parts[4] == "invitation":
                found.setdefault(parts[1], parts[2].rsplit("/s/", 1)[1])
        if len(found) >= count:
            return dict(list(found.items())[:count])
        if loop.time() > deadline:
            raise AssertionError(f"{len(found)} of {count} invitations in {log}")
        await asyncio.sleep(0.3)
