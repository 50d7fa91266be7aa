"""Historical import over gRPC: good rows are stored and published, bad rows are listed
with line, field and reason; re-sending the file adds nothing; dry runs write nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import date

from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as pb
from pulse_response.import_csv import RowError, parse_rows
from pulse_testing.response import Harness, outbox_drained, stream_messages

CSV = """unit_id,period,kind,interaction_date,channel,rec.1,fair.1,enps.1,ecomment.1
n1,2025-11,employee_pulse,,,4,3,9,Good month
n1,2025-11,employee_pulse,,,5,5,10,
bad unit!,2025-11,employee_pulse,,,4,3,9,
n1,2025-13,employee_pulse,,,4,3,9,
n1,2025-11,customer_post_interaction,,,4,3,9,
n1,2025-11,employee_pulse,,,9,3,9,
n1,2025-11,employee_pulse,,,4,3,,
n1,2025-11,employee_pulse,2025-11-03,,4,3,9,
n1,2025-11,employee_pulse,,,four,3,9,
n2,2025-11,employee_pulse,,,1,2,0,"Too much overtime,
again"
"""


async def survey_id_of(h: Harness) -> tuple[str, int]:
    from pulse_testing import survey as survey_kit

    definition = await survey_kit.published_survey(h.survey)
    return definition.survey_id, definition.version


async def send(
    h: Harness, header: pb.ImportHeader, rows: Iterable[pb.ImportRow]
) -> pb.ImportResponsesResponse:
    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(header=header)
        for row in rows:
            yield pb.ImportResponsesRequest(row=row)

    reply: pb.ImportResponsesResponse = await h.response.ImportResponses(stream())
    return reply


async def test_mixed_file_imports_good_rows_and_lists_bad(harness: Harness) -> None:
    from pulse_testing import survey as survey_kit

    await survey_kit.make_org(harness.survey, since=date(2025, 1, 1))  # n1, n2 in 2025-11
    definition = await survey_kit.published_survey(harness.survey)
    parsed = list(parse_rows(CSV, definition))
    rows = [r for r in parsed if isinstance(r, pb.ImportRow)]
    parse_errors = [r for r in parsed if isinstance(r, RowError)]
    assert parse_errors == [RowError(10, "rec.1", "must be a whole number, got 'four'")]
    header = pb.ImportHeader(
        survey_id=definition.survey_id,
        survey_version=definition.version,
        source_name="history.csv",
    )

    dry_header = pb.ImportHeader()
    dry_header.CopyFrom(header)
    dry_header.dry_run = True
    dry = await send(harness, dry_header, rows)
    assert dry.dry_run
    assert dry.accepted == 3
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 0

    reply = await send(harness, header, rows)
    assert reply.accepted == 3
    assert [(r.line, r.field) for r in reply.rejected] == [
        (4, "unit_id"),
        (5, "period"),
        (6, "kind"),
        (7, "rec.1"),
        (8, "enps.1"),
        (9, "interaction_date"),
    ]
    assert all(r.reason for r in reply.rejected)
    assert reply.batch_id == dry.batch_id
    stored = await harness.pool.fetch(
        "SELECT unit_id, period, source, batch_id FROM responses ORDER BY unit_id"
    )
    assert [(r["unit_id"], r["period"], r["source"]) for r in stored] == [
        ("n1", "2025-11", "import"),
        ("n1", "2025-11", "import"),
        ("n2", "2025-11", "import"),
    ]
    assert {r["batch_id"] for r in stored} == {reply.batch_id}
    texts = {r["text"] for r in await harness.pool.fetch("SELECT text FROM comments")}
    assert texts == {"Good month", "Too much overtime,\nagain"}

    # Re-sending the same file changes nothing.
    again = await send(harness, header, rows)
    assert again.accepted == 3
    assert again.batch_id == reply.batch_id
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 3
    assert await harness.pool.fetchval("SELECT count(*) FROM import_batches") == 1

    await outbox_drained(harness.pool)
    messages = await stream_messages(harness.nats_url, "pulse.response.recorded", 3)
    ids = {
        str(r["response_id"]) for r in await harness.pool.fetch("SELECT response_id FROM responses")
    }
    assert sorted(m for m, _ in messages) == sorted(ids)
    for _, data in messages:
        event = events_pb2.ResponseRecorded()
        event.ParseFromString(data)
        assert event.source == "import"
        assert event.survey_id == definition.survey_id


async def test_import_header_must_name_a_published_version(harness: Harness) -> None:
    from pulse_testing.response import field_of, rpc_error

    survey_id, version = await survey_id_of(harness)
    error = await rpc_error(
        send(harness, pb.ImportHeader(survey_id=survey_id, survey_version=version + 1), [])
    )
    assert field_of(error) == "header.survey_version"

    async def rows_first() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(row=pb.ImportRow(line=2))

    error = await rpc_error(harness.response.ImportResponses(rows_first()))
    assert field_of(error) == "header"
