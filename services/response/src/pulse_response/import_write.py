"""Writing one chunk of validated historical rows in a handful of statements (issue 20):
the responses are inserted with one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
NOTHING``, which says which ids are new (a staging table cost a TRUNCATE per chunk); the
scores and comments of the new ones are copied straight into their tables and their
``pulse.response.recorded`` events are added to the outbox with one ``INSERT ... SELECT``.
Same rows and events as ``recording.record`` one response at a time, inside the caller's
unit of work: all of the chunk or none of it. Comments are stored redacted
(``redact.storage_text``, issue 13), as a submitted comment is: the raw text is not kept."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence

from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.measures import is_customer
from pulse_common.uow import Database, UnitOfWork

from pulse_response.domain import NewResponse
from pulse_response.recording import recorded_event
from pulse_response.redact import storage_text

# One statement: the chunk's rows as arrays, the ids that were new returned.
INSERT_RESPONSES = (
    "INSERT INTO responses (response_id, survey_id, survey_version, kind, unit_id, period,"
    " wave_id, channel, source, batch_id)"
    " SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::smallint[], $5::text[],"
    " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])"
    " ON CONFLICT (response_id) DO NOTHING RETURNING response_id"
)
WRITERS = 2  # chunks written at once (this machine has 2 cores)
COMMENT_COLUMNS = (
    "comment_id",
    "survey_id",
    "kind",
    "unit_id",
    "period",
    "item_id",
    "text",
    "shared_with_team",
    "positive",
    "staff_treatment_score",
)
EVENT_HEADERS = json.dumps({"Pulse-Type": events_pb2.ResponseRecorded.DESCRIPTOR.full_name})


async def write_all(
    db: Database,
    responses: Sequence[NewResponse],
    size: int,
    finish: Callable[[UnitOfWork], Awaitable[None]],
    *,
    writers: int = WRITERS,
) -> int:
    """Store ``responses`` in units of work of ``size`` rows; how many were new. Up to
    ``writers`` chunks are written at once, on their own connections (the score rows'
    foreign key checks keep one PostgreSQL backend busy: two use both cores); the last
    chunk is written after every other one has committed, with ``finish`` (the batch
    record and the audit entry) in its unit of work. Chunks hold different rows (distinct
    lines, distinct ids), so concurrent chunks never wait on each other. When a chunk
    fails, the others in flight are cancelled (rolled back) and the error is raised:
    chunks already committed stay, and sending the file again adds only the rest."""
    chunks = [responses[start : start + size] for start in range(0, len(responses), size)]
    if not chunks:
        return 0
    *early, last = chunks
    written = 0
    queue = iter(early)

    async def writer() -> None:
        nonlocal written
        for chunk in queue:  # shared: each chunk is taken by one writer
            async with db.unit_of_work() as uow:
                written += await write_chunk(uow, chunk)

    tasks = [asyncio.create_task(writer()) for _ in range(min(writers, len(early)))]
    try:
        await asyncio.gather(*tasks)  # the first failure, as it was raised
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    async with db.unit_of_work() as uow:
        written += await write_chunk(uow, last)
        await finish(uow)
    return written


async def write_chunk(uow: UnitOfWork, responses: Sequence[NewResponse]) -> int:
    """Store ``responses`` with their events; how many were new (an id already stored, a
    re-imported row, writes nothing)."""
    if not responses:
        return 0
    conn = uow.conn
    inserted = await conn.fetch(
        INSERT_RESPONSES,
        [r.response_id for r in responses],
        [r.survey_id for r in responses],
        [r.survey_version for r in responses],
        [r.kind for r in responses],
        [r.group.unit_id for r in responses],
        [r.group.period for r in responses],
        [r.wave_id for r in responses],
        [r.channel if is_customer(r.kind) else "" for r in responses],
        [r.source for r in responses],
        [r.batch_id for r in responses],
    )
    new_ids = {row["response_id"] for row in inserted}
    fresh = [r for r in responses if r.response_id in new_ids]
    if not fresh:
        return 0
    scores = [(r.response_id, item, score) for r in fresh for item, score in r.answers.scores]
    if scores:
        await conn.copy_records_to_table(
            "response_scores", records=scores, columns=("response_id", "item_id", "score")
        )
    comments = [_comment(r, item_id, text) for r in fresh for item_id, text in r.answers.comments]
    if comments:
        await conn.copy_records_to_table("comments", records=comments, columns=COMMENT_COLUMNS)
    events = [recorded_event(r).SerializeToString() for r in fresh]
    await conn.execute(
        "INSERT INTO outbox (msg_id, subject, payload, headers)"
        " SELECT id, $2, payload, $4::jsonb FROM unnest($1::text[], $3::bytea[]) AS t(id, payload)"
        " ON CONFLICT (msg_id) DO NOTHING",
        [str(r.response_id) for r in fresh],
        subjects.RESPONSE_RECORDED,
        events,
        EVENT_HEADERS,
    )
    uow.enqueued += len(fresh)  # the relay is woken after the commit
    return len(fresh)


def _comment(r: NewResponse, item_id: str, text: str) -> tuple[object, ...]:
    customer = is_customer(r.kind)
    return (
        uuid.uuid4(),
        r.survey_id,
        r.kind,
        r.group.unit_id,
        r.group.period,
        item_id,
        storage_text(text),
        customer and r.shared_with_team,
        customer and r.answers.positive,
        r.answers.staff_treatment_score if customer else 0,
    )
