"""``pulse deadletter list|show|replay``: the messages a consumer gave up on.

A consumer that cannot handle a message after its tries (or at once, for a message that can
never be handled) copies it to ``pulse.deadletter.<consumer>`` on the PULSE stream, with the
error, its original subject and its original message id in headers; the invitation delivery
consumer copies to ``delivery.deadletter.<consumer>`` on its own PULSE_DELIVERY stream (raw
tokens never reach ``pulse.>``; there a dead letter lasts the stream's 2-day ``max_age``).
Both streams are listed; sequence numbers are per stream, so ``show`` and ``replay`` take
``--stream PULSE_DELIVERY`` for a delivery dead letter, and ``show`` hides its token.
``replay`` publishes a dead letter again on its original subject, carrying the original id
(``Pulse-Replay-Of``) that every consumer's processed-message ledger claims, then removes
the dead letter (``--keep`` keeps it). Replaying twice, or replaying a message another
consumer already handled, changes nothing: the ledgers see the same id again, and JetStream
drops a repeated replay inside its duplicate window before any consumer sees it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click
import nats.js.errors
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from pulse.events.v1 import events_pb2  # noqa: F401  (registers the event types for `show`)
from pulse_common import subjects
from pulse_common.messaging import (
    ORIGINAL_MSG_ID_HEADER,
    REPLAY_OF_HEADER,
    connect_nats,
    publish,
)
from pulse_common.nats_auth import TOOLS, credentials

from pulse_cli.context import resolve_settings
from pulse_cli.options import json_option
from pulse_cli.output import emit, table

T = TypeVar("T")
DEAD_LETTERS = f"{subjects.DEAD_LETTER_PREFIX}.>"
# Each stream with the prefix of its dead letters.
PREFIXES = {
    subjects.STREAM: subjects.DEAD_LETTER_PREFIX,
    subjects.DELIVERY_STREAM: subjects.DELIVERY_DEAD_LETTER_PREFIX,
}
STREAMS = tuple(PREFIXES)
HIDDEN = "(hidden)"


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    consumer: str
    original_subject: str
    original_msg_id: str
    error: str
    type_name: str
    time: datetime | None
    data: bytes
    stream: str = subjects.STREAM

    def summary(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "consumer": self.consumer,
            "original_subject": self.original_subject,
            "original_msg_id": self.original_msg_id,
            "type": self.type_name,
            "error": self.error,
            "time": self.time.isoformat() if self.time else "",
            "bytes": len(self.data),
        }


@dataclass(frozen=True)
class Replayed:
    seq: int
    subject: str
    replay_of: str
    # False when JetStream had the same replay already (inside its duplicate window).
    published: bool
    removed: bool
    stream: str = subjects.STREAM


def _letter(
    seq: int,
    subject: str,
    headers: dict[str, str] | None,
    data: bytes,
    time: Any,
    stream: str = subjects.STREAM,
) -> DeadLetter:
    found = headers or {}
    consumer = found.get("Pulse-Consumer") or subject.removeprefix(PREFIXES[stream] + ".")
    return DeadLetter(
        seq=seq,
        consumer=consumer,
        original_subject=found.get("Pulse-Original-Subject", ""),
        # Dead letters written before the original id was kept replay under their own
        # sequence: the original was never handled by this consumer, so that is safe.
        original_msg_id=found.get(ORIGINAL_MSG_ID_HEADER) or f"deadletter:{seq}",
        error=found.get("Pulse-Error", ""),
        type_name=found.get("Pulse-Type", ""),
        time=time if isinstance(time, datetime) else None,
        data=data,
        stream=stream,
    )


async def read_dead_letters(
    js: JetStreamContext, consumer: str = "", limit: int = 0, streams: tuple[str, ...] = STREAMS
) -> list[DeadLetter]:
    """Dead letters in stream order, the PULSE stream's first, then the delivery stream's
    (of one consumer when ``consumer`` is given; a missing stream has none)."""
    found: list[DeadLetter] = []
    for stream in streams:
        subject = f"{PREFIXES[stream]}.{consumer or '>'}"
        seq = 0
        while not limit or len(found) < limit:
            try:
                raw = await js.get_msg(stream, seq=seq + 1, next=True, subject=subject)
            except nats.js.errors.NotFoundError:
                break
            seq = int(raw.seq or 0)
            found.append(
                _letter(seq, raw.subject or "", raw.headers, raw.data or b"", raw.time, stream)
            )
    return found


async def get_dead_letter(
    js: JetStreamContext, seq: int, stream: str = subjects.STREAM
) -> DeadLetter:
    try:
        raw = await js.get_msg(stream, seq=seq)
    except nats.js.errors.NotFoundError:
        raise click.ClickException(f"no dead letter with sequence {seq} on {stream}") from None
    subject = raw.subject or ""
    if not subject.startswith(PREFIXES[stream] + "."):
        raise click.ClickException(f"message {seq} is on {subject}, not a dead letter")
    return _letter(seq, subject, raw.headers, raw.data or b"", raw.time, stream)


def replay_problem(letter: DeadLetter) -> str | None:
    """Why ``letter`` cannot be replayed (None when it can): its original subject must be
    an event of its own stream, never a dead letter."""
    subject = letter.original_subject
    own = "delivery." if letter.stream == subjects.DELIVERY_STREAM else "pulse."
    if not subject.startswith(own) or subject.startswith(PREFIXES[letter.stream]):
        return f"dead letter {letter.seq} has no original Pulse subject ({subject!r})"
    return None


async def replay(js: JetStreamContext, letter: DeadLetter, *, keep: bool = False) -> Replayed:
    """Publish ``letter`` again on its original subject as a replay of its original id;
    then remove it from the stream unless ``keep``."""
    problem = replay_problem(letter)
    if problem is not None:
        raise click.ClickException(problem)
    headers = {REPLAY_OF_HEADER: letter.original_msg_id}
    if letter.type_name:
        headers["Pulse-Type"] = letter.type_name
    published = await publish(
        js,
        letter.original_subject,
        letter.data,
        msg_id=f"replay:{letter.original_msg_id}",
        headers=headers,
    )
    removed = False
    if not keep:
        try:
            removed = bool(await js.delete_msg(letter.stream, letter.seq))
        except nats.js.errors.NotFoundError:
            removed = False  # removed by a concurrent replay
    return Replayed(
        letter.seq,
        letter.original_subject,
        letter.original_msg_id,
        published,
        removed,
        letter.stream,
    )


def decoded(letter: DeadLetter) -> dict[str, Any] | str:
    """The payload as JSON when its Pulse-Type is a known message, else base64; a delivery
    dead letter's token (and the link that holds it) is hidden, its bytes never shown."""
    delivery = letter.stream == subjects.DELIVERY_STREAM
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(letter.type_name)
        message = message_factory.GetMessageClass(descriptor)()
        message.ParseFromString(letter.data)
        document = MessageToDict(message, preserving_proto_field_name=True)
    except (KeyError, DecodeError):
        return HIDDEN if delivery else base64.b64encode(letter.data).decode()
    if delivery:
        for key in ("token", "link_path"):
            if key in document:
                document[key] = HIDDEN
    return document


def _with_stream(action: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    settings = resolve_settings()
    if not settings.nats_servers:
        raise click.ClickException(
            "PULSE_NATS_URL is not set; is the stack running? start it with `pulse dev up`"
        )

    async def main() -> T:
        try:
            # Replaying publishes on any service's subject: PULSE_NATS_USER, or the
            # embedded default's tools user (the only one allowed to).
            login = credentials(settings, TOOLS)
            nc = await connect_nats(
                settings.nats_servers,
                "pulse-cli",
                connect_timeout_s=5,
                user=login[0] if login else "",
                password=login[1] if login else "",
            )
        except ConnectionError as error:
            raise click.ClickException(f"{error}; is the stack running?") from None
        try:
            return await action(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(main())


@click.group()
def deadletter() -> None:
    """Messages a consumer gave up on: list, show, replay."""


STREAM_OPTION = click.option(
    "--stream",
    type=click.Choice(STREAMS),
    default=subjects.STREAM,
    show_default=True,
    help="The stream the sequence numbers are on (PULSE_DELIVERY: invitation delivery).",
)


@deadletter.command("list")
@click.option("--consumer", default="", help="Only this consumer's (e.g. correlation-responses).")
@click.option("--limit", type=click.IntRange(0), default=0, help="At most this many (0: all).")
@json_option
def list_command(consumer: str, limit: int, as_json: bool) -> None:
    """Dead letters of both streams (PULSE, then PULSE_DELIVERY) in the order written."""
    letters = _with_stream(lambda js: read_dead_letters(js, consumer, limit))
    rows = [
        (
            letter.stream,
            letter.seq,
            letter.consumer,
            letter.original_subject,
            letter.time.isoformat(timespec="seconds") if letter.time else "",
            letter.error[:80],
        )
        for letter in letters
    ]
    emit(
        as_json,
        {"dead_letters": [letter.summary() for letter in letters]},
        table("dead letters", ("stream", "seq", "consumer", "subject", "time", "error"), rows),
    )


@deadletter.command("show")
@click.argument("seq", type=click.IntRange(1))
@STREAM_OPTION
@json_option
def show_command(seq: int, stream: str, as_json: bool) -> None:
    """One dead letter: headers, error and the decoded event."""
    letter = _with_stream(lambda js: get_dead_letter(js, seq, stream))
    document = {**letter.summary(), "payload": decoded(letter)}
    lines = [f"{key}: {value}" for key, value in document.items()]
    emit(as_json, document, "\n".join(lines))


@deadletter.command("replay")
@click.argument("seqs", nargs=-1, type=click.IntRange(1))
@click.option("--all", "replay_all", is_flag=True, help="Every dead letter (of --consumer).")
@click.option("--consumer", default="", help="With --all: only this consumer's.")
@click.option("--keep", is_flag=True, help="Keep the dead letters after replaying them.")
@STREAM_OPTION
@json_option
def replay_command(
    seqs: Sequence[int], replay_all: bool, consumer: str, keep: bool, stream: str, as_json: bool
) -> None:
    """Publish dead letters again on their original subjects (idempotent); ``--all``
    replays those of both streams."""
    if bool(seqs) == replay_all:
        raise click.UsageError("give dead-letter sequence numbers or --all (not both)")

    async def action(js: JetStreamContext) -> list[Replayed]:
        if replay_all:
            letters = []
            for letter in await read_dead_letters(js, consumer):
                problem = replay_problem(letter)
                if problem is None:
                    letters.append(letter)
                else:
                    click.echo(f"skipped: {problem}", err=True)
        else:
            letters = [await get_dead_letter(js, seq, stream) for seq in seqs]
        return [await replay(js, letter, keep=keep) for letter in letters]

    done = _with_stream(action)
    rows = [
        (r.stream, r.seq, r.subject, r.replay_of, "yes" if r.published else "already", r.removed)
        for r in done
    ]
    emit(
        as_json,
        {"replayed": [r.__dict__ for r in done]},
        table("replayed", ("stream", "seq", "subject", "replay of", "published", "removed"), rows),
    )
