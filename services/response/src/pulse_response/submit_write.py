"""The write of a Submit whose answer is stored at once (a customer answer): one statement.

The idempotency reply is inserted first (``ON CONFLICT DO NOTHING RETURNING``) and every
other row of the statement (the response, its scores and comments, the outbox row of
``pulse.response.recorded``) is selected from that insert's result: when the key is already
taken (a retry, or a concurrent duplicate, whose insert this one waits for) nothing at all
is written, which is what the advisory lock, the second look-up and the transaction did
before, in one round trip. A statement is its own transaction: all rows or none."""

from __future__ import annotations

import json
import uuid

from pulse_common import subjects
from pulse_common.db import Connection
from pulse_common.measures import is_customer

from pulse_response.domain import NewResponse
from pulse_response.recording import recorded_event
from pulse_response.redact import storage_text

_WRITE = (
    "WITH reply AS ("
    " INSERT INTO idempotency (key_hash, reply) VALUES ($1, $2)"
    " ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash),"
    " response AS ("
    " INSERT INTO responses (response_id, survey_id, survey_version, kind, unit_id, period,"
    " wave_id, channel, source, batch_id)"
    " SELECT $3::uuid, $4::text, $5::int, $6::smallint, $7::text, $8::text, $9::text,"
    " $10::text, $11::text, $12::text FROM reply RETURNING response_id),"
    " scores AS ("
    " INSERT INTO response_scores (response_id, item_id, score)"
    " SELECT r.response_id, s.item_id, s.score FROM response r,"
    " unnest($13::text[], $14::smallint[]) AS s(item_id, score)),"
    " remarks AS ("
    " INSERT INTO comments (comment_id, survey_id, kind, unit_id, period, item_id, text,"
    " shared_with_team, positive, staff_treatment_score)"
    " SELECT c.comment_id, $4::text, $6::smallint, $7::text, $8::text, c.item_id, c.text,"
    " $15::boolean, $16::boolean, $17::smallint FROM response r,"
    " unnest($18::uuid[], $19::text[], $20::text[]) AS c(comment_id, item_id, text)),"
    " event AS ("
    " INSERT INTO outbox (msg_id, subject, payload, headers)"
    " SELECT $21::text, $22::text, $23::bytea, $24::jsonb FROM response"
    " ON CONFLICT (msg_id) DO NOTHING)"
    " SELECT count(*) FROM reply"
)


async def write_response(
    conn: Connection, key_hash: bytes, reply: bytes, response: NewResponse
) -> bool:
    """Store the reply, the response and its event in one statement; False (nothing
    written) when ``key_hash`` already has a reply."""
    customer = is_customer(response.kind)
    answers = response.answers
    event = recorded_event(response)
    comments = answers.comments
    written = await conn.fetchval(
        _WRITE,
        key_hash,
        reply,
        response.response_id,
        response.survey_id,
        response.survey_version,
        response.kind,
        response.group.unit_id,
        response.group.period,
        response.wave_id,
        response.channel if customer else "",
        response.source,
        response.batch_id,
        [item for item, _ in answers.scores],
        [score for _, score in answers.scores],
        customer and response.shared_with_team,
        customer and answers.positive,
        answers.staff_treatment_score if customer else 0,
        [uuid.uuid4() for _ in comments],
        [item for item, _ in comments],
        [storage_text(text) for _, text in comments],
        str(response.response_id),
        subjects.RESPONSE_RECORDED,
        event.SerializeToString(),
        json.dumps({"Pulse-Type": event.DESCRIPTOR.full_name}),
    )
    return bool(written)
