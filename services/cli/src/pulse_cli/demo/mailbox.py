"""The demo's mailbox, standing in for the delivery adapter: a core NATS subscription on the
invitations subject (as the ``tools`` user), opened and flushed before anything is issued.
The delivery stream deletes an invitation once the survey service's adapter has delivered
it (issue 13), so a JetStream consumer could miss some; a plain subscription receives every
published message whatever happens to the stored copy (as ``pulse_testing.tap`` does).
Customer tokens are queued per interaction; employee tokens per wave, in the order the
survey service issued them."""

from __future__ import annotations

import asyncio
import contextlib

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pulse.events.v1 import events_pb2
from pulse_common.subjects import INVITATION_ISSUED


class Mailbox:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.customer: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (interaction, token)
        self.customer_received = 0
        # wave id -> contact (lower case) -> token of its invitation (first sends only)
        self.employee: dict[str, dict[str, str]] = {}
        self._seen: set[str] = set()  # Nats-Msg-Id of what was filed (duplicates dropped)
        self._changed = asyncio.Event()
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Subscribe and flush before anything is issued: the server has the subscription,
        so every invitation published from now on reaches the mailbox."""
        self._subscription = await self.nc.subscribe(INVITATION_ISSUED, cb=self._on_message)
        await self.nc.flush(timeout=10)

    async def _on_message(self, msg: Msg) -> None:
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        if msg_id:
            if msg_id in self._seen:
                return
            self._seen.add(msg_id)
        event = events_pb2.InvitationIssued()
        event.ParseFromString(msg.data)
        self._file(event)
        self._changed.set()

    def _file(self, event: events_pb2.InvitationIssued) -> None:
        if event.reminder:
            return  # the first link still works; the demo never sends reminders
        if event.interaction_id:
            self.customer_received += 1
            self.customer.put_nowait((event.interaction_id, event.token))
        elif event.wave_id:
            self.employee.setdefault(event.wave_id, {})[event.contact.lower()] = event.token

    async def wave_tokens(self, wave_id: str, count: int, timeout_s: float) -> dict[str, str]:
        """Contact -> token of ``wave_id``'s invitations once ``count`` have arrived (fewer
        after ``timeout_s``: the caller says what is missing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.employee.get(wave_id, [])) < count and loop.time() < deadline:
            await self.wait_changed(min(0.5, max(0.01, deadline - loop.time())))
        return self.employee.pop(wave_id, {})

    async def wait_changed(self, timeout_s: float) -> None:
        """Until the next invitation is filed, or ``timeout_s``."""
        self._changed.clear()
        try:
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        except TimeoutError:
            pass

    async def stop(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
            self._subscription = None
