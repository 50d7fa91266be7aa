"""Writing one chunk of validated historical rows in a handful of statements (issue 20):
the responses are copied (binary ``COPY``) into a session-private staging table and moved
with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, which says which ids are new; the
scores and comments of the new ones are copied straight into their tables and their
``pulse.response.recorded`` events are added to the outbox with one ``INSERT ... SELECT``.
Same rows and events as ``recording.record`` one response at a time, inside the caller's
unit of work: all of the chunk or none of it. Comments are stored redacted
(``redact.storage_text``, issue 13), as a submitted comment is: the raw text is not kept."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.measures import is_customer
from pulse_common.uow import UnitOfWork

from pulse_response.domain import NewResponse
from pulse_response.recording import recorded_event
from pulse_response.redact import storage_text

STAGE = "import_stage"
RESPONSE_COLUMNS = (
    "response_id",
    "survey_id",
    "survey_version",
    "kind",
    "unit_id",
    "period",
    "wave_id",
    "channel",
    "source",
    "batch_id",
)
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


async def write_chunk(uow: UnitOfWork, responses: Sequence[NewResponse]) -> int:
    """Store ``responses`` with their events; how many were new (an id already stored, a
    re-imported row, writes nothing)."""
    if not responses:
        return 0
    conn = uow.conn
    # Temporary, so private to this connection; emptied at every commit.
    columns = ", ".join(RESPONSE_COLUMNS)
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS"
        f" SELECT {columns} FROM responses WITH NO DATA"
    )
    await conn.execute(f"TRUNCATE {STAGE}")  # a rolled-back chunk left nothing, but be sure
    await conn.copy_records_to_table(
        STAGE,
        records=[
            (
                r.response_id,
                r.survey_id,
                r.survey_version,
                r.kind,
                r.group.unit_id,
                r.group.period,
                r.wave_id,
                r.channel if is_customer(r.kind) else "",
                r.source,
                r.batch_id,
            )
            for r in responses
        ],
        columns=RESPONSE_COLUMNS,
    )
    inserted = await conn.fetch(
        f"INSERT INTO responses ({columns}) SELECT {columns} FROM {STAGE}"
        " ON CONFLICT (response_id) DO NOTHING RETURNING response_id"
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
