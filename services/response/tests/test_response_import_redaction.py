"""Issue 13: a comment in a historical import is stored redacted (``redact.storage_text``),
as a submitted one is; the raw text (addresses, phone numbers) is not kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from pulse.response.v1 import response_service_pb2 as pb
from pulse_response.import_csv import parse_rows
from pulse_response.redact import storage_text
from pulse_testing import survey as survey_kit
from pulse_testing.response import Harness

RAW = "Ask jane.doe@example.com or call +49 170 1234567 about the rota"
CSV = f"""unit_id,period,kind,interaction_date,channel,rec.1,fair.1,enps.1,ecomment.1
n1,2025-11,employee_pulse,,,4,3,9,{RAW}
n1,2025-11,employee_pulse,,,5,5,10,Good month
"""


async def test_imported_comments_are_stored_redacted(harness: Harness) -> None:
    await survey_kit.make_org(harness.survey, since=date(2025, 1, 1))  # n1 in 2025-11
    definition = await survey_kit.published_survey(harness.survey)
    rows = [r for r in parse_rows(CSV, definition) if isinstance(r, pb.ImportRow)]
    assert len(rows) == 2

    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(
            header=pb.ImportHeader(
                survey_id=definition.survey_id,
                survey_version=definition.version,
                source_name="history.csv",
            )
        )
        for row in rows:
            yield pb.ImportResponsesRequest(row=row)

    reply = await harness.response.ImportResponses(stream())
    assert reply.accepted == 2
    texts = sorted(r["text"] for r in await harness.pool.fetch("SELECT text FROM comments"))
    assert texts == sorted([storage_text(RAW), "Good month"])
    assert storage_text(RAW) != RAW
    stored = "\n".join(texts)
    assert "jane.doe@example.com" not in stored
    assert "1234567" not in stored
