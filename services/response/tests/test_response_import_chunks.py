"""Import rows sent several per message (``ImportRows``, issue 20) are validated and
reported one by one like single rows, and written with their scores and events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_testing import survey as survey_kit
from pulse_testing.response import Harness, outbox_drained, stream_messages


def row(line: int, unit: str = "n1", rec: int = 4) -> pb.ImportRow:
    return pb.ImportRow(
        line=line,
        unit_id=unit,
        period="2024-03",
        kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
        answers=[
            types_pb2.Answer(item_id="rec.1", score=rec),
            types_pb2.Answer(item_id="fair.1", score=3),
            types_pb2.Answer(item_id="enps.1", score=9),
        ],
    )


async def test_rows_in_chunks_are_checked_one_by_one(harness: Harness) -> None:
    await survey_kit.make_org(harness.survey, since=date(2024, 1, 1))  # n1 in 2024-03
    definition = await survey_kit.published_survey(harness.survey)
    header = pb.ImportHeader(
        survey_id=definition.survey_id, survey_version=definition.version, source_name="c.csv"
    )
    good = [row(line) for line in range(2, 12)]
    bad = [row(12, unit="bad unit!"), row(13, rec=9)]

    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(header=header)
        yield pb.ImportResponsesRequest(rows=pb.ImportRows(rows=good[:6] + bad[:1]))
        yield pb.ImportResponsesRequest(row=good[6])  # single rows mix with chunks
        yield pb.ImportResponsesRequest(rows=pb.ImportRows(rows=good[7:] + bad[1:]))

    reply = await harness.response.ImportResponses(stream())
    assert reply.accepted == len(good)
    assert [(r.line, r.field) for r in reply.rejected] == [(12, "unit_id"), (13, "rec.1")]
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == len(good)
    assert await harness.pool.fetchval("SELECT count(*) FROM response_scores") == 3 * len(good)
    await outbox_drained(harness.pool)
    events = await stream_messages(harness.nats_url, "pulse.response.recorded", len(good))
    assert len(events) == len(good)
