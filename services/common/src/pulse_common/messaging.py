"""NATS JetStream edge: connection, publishing with ``Nats-Msg-Id`` and a durable
pull-consumer loop with explicit acks, backoff and a dead-letter path. The streams
themselves (PULSE, PULSE_DELIVERY) are set up by ``pulse_common.streams``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from pulse_common import errors, subjects
from pulse_common.nats_connect import connect_nats as connect_nats
from pulse_common.streams import OPERATOR_OWNED as OPERATOR_OWNED
from pulse_common.streams import StreamLimits as StreamLimits
from pulse_common.streams import apply_stream as apply_stream
from pulse_common.streams import ensure_delivery_stream as ensure_delivery_stream
from pulse_common.streams import ensure_stream as ensure_stream

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-protobuf"
M = TypeVar("M", bound=Message)


class PermanentError(Exception):
    """The message can never be handled (undecodable, contract violation): dead-letter it now."""


class RetryBatchLater(Exception):
    """Raised by a batch handler when something the batch needs has not arrived yet (a
    survey definition still on its way): nothing was done, and handling the messages one
    by one now would fail each of them the same way. The loop naks the batch (first
    backoff step) instead; a batch holding a message delivered before is handled one by one
    as usual, so per-message retries and dead letters still apply."""


async def publish(
    js: JetStreamContext,
    subject: str,
    payload: bytes,
    *,
    msg_id: str,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 5.0,
) -> bool:
    """Publish once-only: JetStream drops a repeat of ``msg_id`` within the duplicate
    window. Returns False when the server reports a duplicate."""
    all_headers = {"Nats-Msg-Id": msg_id, "Content-Type": CONTENT_TYPE, **(headers or {})}
    ack = await js.publish(subject, payload, timeout=timeout_s, headers=all_headers)
    return not ack.duplicate


async def publish_event(js: JetStreamContext, subject: str, event: Message, *, msg_id: str) -> bool:
    return await publish(
        js,
        subject,
        event.SerializeToString(),
        msg_id=msg_id,
        headers={"Pulse-Type": event.DESCRIPTOR.full_name},
    )


def decode(msg: Msg, message_type: type[M]) -> M:
    """Parse a protobuf event or raise ``PermanentError`` (poison: retrying cannot help)."""
    expected = message_type.DESCRIPTOR.full_name
    declared = (msg.headers or {}).get("Pulse-Type")
    if declared is not None and declared != expected:
        raise PermanentError(f"expected {expected} on {msg.subject}, got {declared}")
    event = message_type()
    try:
        event.ParseFromString(msg.data)
    except DecodeError as error:
        raise PermanentError(f"undecodable {expected}: {error}") from error
    return event


# A dead letter keeps the id its message had; a replay carries it, so that every consumer's
# ledger sees a replayed message as the message it replays (``pulse deadletter replay``).
ORIGINAL_MSG_ID_HEADER = "Pulse-Original-Msg-Id"
REPLAY_OF_HEADER = "Pulse-Replay-Of"


def message_id(msg: Msg) -> str:
    """The id a consumer's ledger claims: the replayed message's id for a replay, else the
    publisher's Nats-Msg-Id, else the stream sequence."""
    headers = msg.headers or {}
    explicit = headers.get(REPLAY_OF_HEADER) or headers.get("Nats-Msg-Id")
    return explicit or f"{msg.metadata.stream}:{msg.metadata.sequence.stream}"


# Failures of a dependency (the database restarting) are not poison: such a message is
# retried with backoff up to just below the server's own limit (``ensure_consumer``) before
# it is dead-lettered, which rides out an outage of several minutes.
RETRYABLE_EXTRA_TRIES = 19


def is_retryable(error: BaseException) -> bool:
    from pulse_common.uow import as_retryable  # uow imports this module

    return isinstance(error, errors.RetryableError) or as_retryable(error) is not None


Handler = Callable[[Msg], Awaitable[None]]
# Handles a whole fetched batch in one transaction, or raises (then nothing of it happened).
BatchHandler = Callable[[list[Msg]], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer. ``max_deliver`` tries, then the dead-letter subject."""

    durable: str
    filter_subjects: tuple[str, ...]
    max_deliver: int = 5
    ack_wait_s: float = 30.0
    nak_backoff_s: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0, 30.0)
    batch: int = 64
    fetch_timeout_s: float = 1.0
    deliver_policy: DeliverPolicy = field(default=DeliverPolicy.ALL)
    stream: str = subjects.STREAM
    # Delete each message from the stream once handled or dead-lettered (the delivery
    # stream's raw tokens, issue 13); the handler must be idempotent (its ledger claim).
    erase: bool = False

    def nak_delay(self, delivered: int) -> float:
        return self.nak_backoff_s[min(delivered - 1, len(self.nak_backoff_s) - 1)]


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    config = ConsumerConfig(
        durable_name=spec.durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=spec.deliver_policy,
        # The server's own limit is a backstop; our loop dead-letters at spec.max_deliver
        # (a dependency's failure: just below this limit), and keeps retrying past it while
        # the dead-letter publish itself fails.
        max_deliver=spec.max_deliver + RETRYABLE_EXTRA_TRIES + 1,
        ack_wait=spec.ack_wait_s,
        max_ack_pending=10_000,
    )
    # A named consumer with one filter puts the filter in the API subject, where the NATS
    # permissions of the service's user check it (``nats_auth``).
    config.name = spec.durable
    if len(spec.filter_subjects) == 1:
        config.filter_subject = spec.filter_subjects[0]
    else:
        config.filter_subjects = list(spec.filter_subjects)
    await js.add_consumer(spec.stream, config=config)


class ConsumerLoop:
    """Fetch, handle, ack. The handler commits its own transaction before returning, so an
    ack always follows a commit; a failure naks with backoff; after ``max_deliver`` tries
    the message is copied to ``pulse.deadletter.<durable>`` (``delivery.deadletter.<durable>``
    for the delivery stream) and terminated, and the loop goes on with the next. With
    ``spec.erase`` a handled or dead-lettered message is also deleted from the stream.

    With a ``batch_handler``, a fetch of several messages is first handed to it whole (one
    transaction for the batch, every message acked after its commit); when it raises, the
    batch is handled message by message with ``handler`` as above, so one poison or early
    message costs the batch its speed-up, never its per-message retries and dead letters."""

    def __init__(
        self,
        js: JetStreamContext,
        spec: ConsumerSpec,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.js = js
        self.spec = spec
        self.handler = handler
        self.batch_handler = batch_handler
        self.batches_committed = 0
        self.batch_fallbacks = 0  # batches handled one by one after the batch handler raised
        self.batches_deferred = 0  # batches naked whole (``RetryBatchLater``)
        self.last_batch_error = ""
        self._stopping = asyncio.Event()
        self.handled = 0
        self.dead_lettered = 0
        # Loop time of the first of the current run of failed fetches (None: fetching works).
        self._failing_since: float | None = None

    def fetch_failing_for(self, now: float) -> float:
        """How long fetches have been failing (0 while they work or come back empty)."""
        return 0.0 if self._failing_since is None else now - self._failing_since

    def _fetch_failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = asyncio.get_running_loop().time()

    async def run(self) -> None:
        await ensure_consumer(self.js, self.spec)
        subscription = await self.js.pull_subscribe_bind(
            durable=self.spec.durable, stream=self.spec.stream
        )
        log.info("consumer started", extra={"durable": self.spec.durable})
        try:
            while not self._stopping.is_set():
                try:
                    messages = await self._fetch(subscription)
                except (TimeoutError, nats.errors.TimeoutError):
                    self._failing_since = None  # an empty fetch is a working one
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
                    self._fetch_failed()
                    await asyncio.sleep(0.5)
                    continue
                except nats.errors.Error as error:
                    self._fetch_failed()
                    log.warning("fetch failed: %s", error, extra={"durable": self.spec.durable})
                    await asyncio.sleep(0.5)
                    continue
                self._failing_since = None
                if await self._handle_batch(messages):
                    continue
                for msg in messages:
                    await self._handle_one(msg)
        finally:
            # Drop the subscription now: a pull status that arrives after the last fetch
            # would otherwise sit in its queue and make nc.drain() wait its full timeout.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait (up to ``fetch_timeout_s``) for one message, then take what else is already
        there, up to ``batch``. One fetch of ``batch`` would, once its first message came,
        wait out the whole timeout for the batch to fill: a second of lag at low rates."""
        messages = await subscription.fetch(1, timeout=self.spec.fetch_timeout_s)
        if self.spec.batch > 1:
            with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
                messages += await subscription.fetch(self.spec.batch - 1, timeout=0.05)
        return messages

    async def _handle_batch(self, messages: list[Msg]) -> bool:
        """True when the batch handler committed ``messages`` (then they are acked) or
        deferred them all (``RetryBatchLater``: they are naked)."""
        if self.batch_handler is None or len(messages) < 2:
            return False
        try:
            await self.batch_handler(messages)
        except RetryBatchLater as error:
            if all(msg.metadata.num_delivered <= 1 for msg in messages):
                self.batches_deferred += 1
                self.last_batch_error = str(error)[:200] or type(error).__name__
                for msg in messages:
                    with contextlib.suppress(nats.errors.Error):
                        await msg.nak(delay=self.spec.nak_delay(1))
                return True
            self.batch_fallbacks += 1
            self.last_batch_error = str(error)[:200] or type(error).__name__
            return False
        except Exception as error:
            self.batch_fallbacks += 1
            self.last_batch_error = str(error)[:200] or type(error).__name__
            log.info(
                "batch failed, handling its messages one by one: %s",
                error or type(error).__name__,
                extra={"durable": self.spec.durable, "messages": len(messages)},
            )
            return False
        self.handled += len(messages)
        self.batches_committed += 1
        for msg in messages:
            await self._done(msg)
        return True

    async def _handle_one(self, msg: Msg) -> None:
        delivered = msg.metadata.num_delivered
        try:
            await self.handler(msg)
        except PermanentError as error:
            await self._dead_letter_or_retry(msg, error, delivered)
            return
        except Exception as error:
            limit = self.spec.max_deliver + (RETRYABLE_EXTRA_TRIES if is_retryable(error) else 0)
            if delivered >= limit:
                await self._dead_letter_or_retry(msg, error, delivered)
            else:
                log.warning(
                    "handler failed, will retry: %s",
                    error,
                    extra={"durable": self.spec.durable, "delivered": delivered},
                )
                with contextlib.suppress(nats.errors.Error):
                    await msg.nak(delay=self.spec.nak_delay(delivered))
            return
        self.handled += 1
        await self._done(msg)

    async def _done(self, msg: Msg) -> None:
        """Ack a handled message; with ``erase``, delete it from the stream first (a crash
        in between leaves nothing to redeliver). When the delete fails the message is
        nak'ed instead: the handler sees it again, its ledger claim makes that a no-op, and
        the delete is tried again."""
        if self.spec.erase and not await self._erase(msg):
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=self.spec.nak_delay(msg.metadata.num_delivered))
            return
        with contextlib.suppress(nats.errors.Error):
            await msg.ack()

    async def _erase(self, msg: Msg) -> bool:
        """Delete ``msg`` from its stream (JetStream overwrites its stored bytes); True when
        it is gone."""
        try:
            await self.js.delete_msg(msg.metadata.stream, msg.metadata.sequence.stream)
        except nats.js.errors.NotFoundError:
            return True  # deleted before (a redelivery after a lost ack)
        except Exception as error:
            log.warning(
                "cannot delete a handled message yet: %s",
                error or type(error).__name__,
                extra={"durable": self.spec.durable},
            )
            return False
        return True

    async def _dead_letter_or_retry(self, msg: Msg, error: Exception, delivered: int) -> None:
        """Dead-letter ``msg``; when that publish fails (NATS trouble), keep the message for
        a later try instead of ending the loop (the server's max_deliver is the backstop)."""
        try:
            await self._dead_letter(msg, error)
        except Exception as failure:
            log.error(
                "cannot dead-letter yet, will retry: %s",
                failure or type(failure).__name__,
                extra={"durable": self.spec.durable, "subject": msg.subject},
            )
            with contextlib.suppress(Exception):
                await msg.nak(delay=self.spec.nak_delay(delivered))

    async def _dead_letter(self, msg: Msg, error: Exception) -> None:
        headers = {
            "Pulse-Original-Subject": msg.subject,
            "Pulse-Error": str(error)[:500],
            "Pulse-Consumer": self.spec.durable,
            ORIGINAL_MSG_ID_HEADER: message_id(msg),
        }
        if msg.headers and "Pulse-Type" in msg.headers:
            headers["Pulse-Type"] = msg.headers["Pulse-Type"]
        await publish(
            self.js,
            subjects.dead_letter_subject(self.spec.durable, self.spec.stream),
            msg.data,
            msg_id=f"dlq:{self.spec.durable}:{msg.metadata.sequence.stream}",
            headers=headers,
        )
        if self.spec.erase:
            # The dead letter is the one copy left (on the same stream, so under its
            # ``max_age``); a failed delete leaves the original to that ``max_age`` too.
            await self._erase(msg)
        await msg.term()
        self.dead_lettered += 1
        log.error(
            "message dead-lettered: %s",
            error,
            extra={"durable": self.spec.durable, "subject": msg.subject},
        )

    def stop(self) -> None:
        self._stopping.set()
