"""The demo's mailbox: a JetStream consumer on ``pulse.invitation.issued`` standing in for the
delivery adapter. Employee tokens are filed by wave and address; customer tokens are queued
for the customers who will answer, in the order the survey service issued them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pulse.events.v1 import events_pb2
from pulse_common.subjects import INVITATION_ISSUED, STREAM


class Mailbox:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.durable = f"demo-mailbox-{uuid.uuid4().hex[:10]}"
        self.employee: dict[str, dict[str, str]] = {}  # wave id -> contact -> token
        self.customer: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (interaction, token)
        self.customer_received = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Subscribe before anything is issued: only new invitations are delivered."""
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.NEW,
            filter_subject=INVITATION_ISSUED,
        )
        subscription = await self.js.pull_subscribe(
            INVITATION_ISSUED, durable=self.durable, stream=STREAM, config=config
        )
        self._task = asyncio.create_task(self._run(subscription), name="demo-mailbox")

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            try:
                messages = await subscription.fetch(1000, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.Error:
                await asyncio.sleep(0.2)
                continue
            for msg in messages:
                event = events_pb2.InvitationIssued()
                event.ParseFromString(msg.data)
                self._file(event)
            self._changed.set()

    def _file(self, event: events_pb2.InvitationIssued) -> None:
        if event.reminder:
            return  # the first link still works; the demo never sends reminders
        if event.wave_id:
            self.employee.setdefault(event.wave_id, {})[event.contact] = event.token
        elif event.interaction_id:
            self.customer_received += 1
            self.customer.put_nowait((event.interaction_id, event.token))

    async def wait_for_wave(self, wave_id: str, count: int, timeout_s: float) -> dict[str, str]:
        """The wave's tokens by contact once ``count`` have arrived."""
        async with asyncio.timeout(timeout_s):
            while len(self.employee.get(wave_id, {})) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.employee[wave_id]

    async def wait_for_customers(self, count: int, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while self.customer_received < count:
                self._changed.clear()
                await self._changed.wait()

    async def wait_changed(self, timeout_s: float) -> None:
        """Until the next batch of invitations is filed, or ``timeout_s``."""
        self._changed.clear()
        try:
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        except TimeoutError:
            pass

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
            await self.js.delete_consumer(STREAM, self.durable)
