"""NATS JetStream edge: connection, the PULSE stream, publishing with ``Nats-Msg-Id`` and a
durable pull-consumer loop with explicit acks, backoff and a dead-letter path."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from pulse_common import errors, subjects

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-protobuf"
M = TypeVar("M", bound=Message)


class PermanentError(Exception):
    """The message can never be handled (undecodable, contract violation): dead-letter it now."""


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


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the one PULSE stream if it is missing (file storage, explicit duplicate
    window, ``replicas``). An existing stream is owned by whoever applied its settings
    (``apply_stream``, ``pulse nats apply``): a service only adds subjects it lacks and
    raises replicas to ``replicas``; it never shrinks replicas or changes limits."""
    config = StreamConfig(
        name=subjects.STREAM,
        subjects=list(subjects.STREAM_SUBJECTS),
        storage=StorageType.FILE,
        duplicate_window=subjects.DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )
    try:
        info = await js.stream_info(subjects.STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(subjects.STREAM)  # created concurrently
    current = info.config
    missing = [s for s in subjects.STREAM_SUBJECTS if s not in (current.subjects or [])]
    if not missing and (current.num_replicas or 1) >= replicas:
        return
    await js.update_stream(
        dataclasses.replace(
            current,
            subjects=[*(current.subjects or []), *missing],
            num_replicas=max(current.num_replicas or 1, replicas),
        )
    )


@dataclass(frozen=True)
class StreamLimits:
    """What an operator sets on the PULSE stream (``pulse nats apply``); 0 = unlimited."""

    replicas: int = 1
    max_bytes: int = 0
    max_age_s: float = 0.0


async def apply_stream(js: JetStreamContext, limits: StreamLimits) -> StreamConfig:
    """The owner's step: create the stream or set exactly ``limits`` (also lower ones)."""
    await ensure_stream(js, 1)
    info = await js.stream_info(subjects.STREAM)
    config = dataclasses.replace(
        info.config,
        num_replicas=limits.replicas,
        max_bytes=limits.max_bytes or -1,
        max_age=limits.max_age_s or None,
    )
    updated = await js.update_stream(config)
    return updated.config


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
    await js.add_consumer(subjects.STREAM, config=config)


class ConsumerLoop:
    """Fetch, handle, ack. The handler commits its own transaction before returning, so an
    ack always follows a commit; a failure naks with backoff; after ``max_deliver`` tries
    the message is copied to ``pulse.deadletter.<durable>`` and terminated, and the loop
    goes on with the next."""

    def __init__(self, js: JetStreamContext, spec: ConsumerSpec, handler: Handler) -> None:
        self.js = js
        self.spec = spec
        self.handler = handler
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
            durable=self.spec.durable, stream=subjects.STREAM
        )
        log.info("consumer started", extra={"durable": self.spec.durable})
        try:
            while not self._stopping.is_set():
                try:
                    messages = await subscription.fetch(
                        self.spec.batch, timeout=self.spec.fetch_timeout_s
                    )
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
                for msg in messages:
                    await self._handle_one(msg)
        finally:
            # Drop the subscription now: a pull status that arrives after the last fetch
            # would otherwise sit in its queue and make nc.drain() wait its full timeout.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

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
        with contextlib.suppress(nats.errors.Error):
            await msg.ack()

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
            subjects.dead_letter_subject(self.spec.durable),
            msg.data,
            msg_id=f"dlq:{self.spec.durable}:{msg.metadata.sequence.stream}",
            headers=headers,
        )
        await msg.term()
        self.dead_lettered += 1
        log.error(
            "message dead-lettered: %s",
            error,
            extra={"durable": self.spec.durable, "subject": msg.subject},
        )

    def stop(self) -> None:
        self._stopping.set()
