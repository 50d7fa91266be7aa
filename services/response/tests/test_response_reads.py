"""Reads released only above thresholds: response counts (k), comments (comment k),
recognition (consent + praise + comment k, contact details removed); the form; and the
definition cache fed by pulse.survey.published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2 as t
from pulse_response import repository
from pulse_response.domain import Group, NewResponse, ValidatedAnswers
from pulse_testing.response import (
    Harness,
    employee_answers,
    employee_wave,
    field_of,
    invitation_tokens,
    rpc_error,
)


async def import_rows(h: Harness, survey_id: str, version: int, rows: list[pb.ImportRow]) -> None:
    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(
            header=pb.ImportHeader(survey_id=survey_id, survey_version=version)
        )
        for row in rows:
            yield pb.ImportResponsesRequest(row=row)

    reply = await h.response.ImportResponses(stream())
    assert not reply.rejected, reply.rejected
    assert reply.accepted == len(rows)


def employee_row(line: int, unit: str, comment: str) -> pb.ImportRow:
    answers = employee_answers(comment=comment)
    return pb.ImportRow(
        line=line,
        unit_id=unit,
        period="2025-11",
        kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
        answers=answers,
    )


async def test_counts_and_comments_are_released_only_above_thresholds(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 2}, org_since=date(2025, 1, 1))  # 2025-11
    survey_id, version = wave.definition.survey_id, wave.definition.version
    await harness.response.Submit(
        pb.SubmitRequest(
            token=wave.tokens[0], answers=employee_answers(), idempotency_key=uuid.uuid4().hex
        )
    )
    by_wave = await harness.response.CountResponses(pb.CountResponsesRequest(wave_id=wave.wave_id))
    assert [(c.unit_id, c.responses, c.suppressed) for c in by_wave.counts] == [("n1", 0, True)]
    assert by_wave.min_group_size == 5

    rows = [employee_row(i + 2, "n1", f"comment {i}") for i in range(10)]
    rows += [employee_row(20 + i, "n2", "contact me at bob@example.com") for i in range(6)]
    rows += [employee_row(30 + i, "south", "small team") for i in range(4)]
    await import_rows(harness, survey_id, version, rows)

    counts = await harness.response.CountResponses(
        pb.CountResponsesRequest(survey_id=survey_id, period="2025-11")
    )
    assert [(c.unit_id, c.responses, c.suppressed) for c in counts.counts] == [
        ("n1", 10, False),
        ("n2", 6, False),
        ("south", 0, True),
    ]

    released = await harness.response.ListComments(
        pb.ListCommentsRequest(unit_id="n1", period="2025-11", survey_id=survey_id)
    )
    assert not released.suppressed
    assert sorted(c.text for c in released.comments) == sorted(f"comment {i}" for i in range(10))
    assert released.min_comment_group_size == 10

    # Six responses pass k for scores but not the comment threshold.
    held = await harness.response.ListComments(
        pb.ListCommentsRequest(unit_id="n2", period="2025-11", survey_id=survey_id)
    )
    assert held.suppressed
    assert not held.comments
    assert "10" in held.suppression_reason

    error = await rpc_error(
        harness.response.ListComments(pb.ListCommentsRequest(period="2025-11", survey_id="x"))
    )
    assert field_of(error) == "unit_id"
    error = await rpc_error(harness.response.CountResponses(pb.CountResponsesRequest()))
    assert field_of(error) == "wave_id"
    # Periods are of the deployment's granularity (PULSE_PERIOD=month) only.
    for read in (
        harness.response.CountResponses(
            pb.CountResponsesRequest(survey_id=survey_id, period="2025-W47")
        ),
        harness.response.ListComments(
            pb.ListCommentsRequest(unit_id="n1", period="2025-W47", survey_id=survey_id)
        ),
    ):
        error = await rpc_error(read)
        assert field_of(error) == "period"
        assert "must be a month like 2026-03" in (error.details() or "")
    backwards = pb.ListRecognitionRequest(period_from="2025-11", period_to="2025-10")
    error = await rpc_error(harness.response.ListRecognition(backwards))
    assert field_of(error) == "period_to"
    error = await rpc_error(
        harness.response.ListRecognition(
            pb.ListRecognitionRequest(period_from="2025-11", period_to="2025-11", limit=501)
        )
    )
    assert field_of(error) == "limit"


async def test_recognition_needs_consent_praise_and_enough_responses(harness: Harness) -> None:
    from pulse_testing import survey as survey_kit

    await survey_kit.make_org(harness.survey)
    definition = await survey_kit.published_survey(
        harness.survey, t.SURVEY_KIND_CUSTOMER_POST_INTERACTION, survey_kit.CUSTOMER_ITEMS
    )
    now = datetime.now(UTC)
    for i in range(3):
        decision = await harness.survey.RecordInteraction(
            survey_pb.RecordInteractionRequest(
                interaction=survey_pb.Interaction(
                    interaction_id=f"int-{i}",
                    unit_id="n1",
                    occurred_at=now.isoformat(),
                    channel="call",
                    customer_key=f"cust-{i}",
                    customer_contact=f"cust{i}@example.org",
                ),
                survey_id=definition.survey_id,
            )
        )
        assert decision.invitation_id, decision
    tokens = await invitation_tokens(harness.nats_url, 3)
    answers = [
        # (csat, staff, consent, comment)
        (5, 5, True, "Maria was wonderful, call her on +1 415 555 0134"),
        (2, 5, True, "Slow, but polite"),
        (5, 4, False, "Great, keep it private"),
    ]
    for token, (csat, staff, consent, comment) in zip(tokens, answers, strict=True):
        await harness.response.Submit(
            pb.SubmitRequest(
                token=token,
                idempotency_key=uuid.uuid4().hex,
                share_comment_with_team=consent,
                answers=[
                    t.Answer(item_id="csat.1", score=csat),
                    t.Answer(item_id="nps.1", score=9),
                    t.Answer(item_id="staff.1", score=staff),
                    t.Answer(item_id="ccomment.1", text=comment),
                ],
            )
        )
    stored = await harness.pool.fetch("SELECT channel, period FROM responses")
    assert {r["channel"] for r in stored} == {"call"}
    period = stored[0]["period"]
    request = pb.ListRecognitionRequest(unit_id="n1", period_from=period, period_to=period)
    few = await harness.response.ListRecognition(request)
    assert few.suppressed
    assert not few.entries

    # Seven more answers of the period, stored as the service stores live ones (an import
    # into a period that is still open is refused: imports only add history).
    async with harness.db.unit_of_work() as uow:
        for _ in range(7):
            await repository.insert_response(
                uow.conn,
                NewResponse(
                    response_id=uuid.uuid4(),
                    survey_id=definition.survey_id,
                    survey_version=definition.version,
                    kind=int(t.SURVEY_KIND_CUSTOMER_POST_INTERACTION),
                    group=Group("n1", period),
                    wave_id="",
                    channel="visit",
                    source="live",
                    batch_id="",
                    answers=ValidatedAnswers(
                        scores=[("csat.1", 4), ("nps.1", 8), ("staff.1", 4)],
                        staff_treatment_score=4,
                    ),
                    shared_with_team=False,
                ),
            )
    # Released now, into the team lead's queue first (the board shows approved ones only).
    assert (await harness.response.ListRecognition(request)).entries == []
    request.status = pb.RECOGNITION_STATUS_PENDING
    enough = await harness.response.ListRecognition(request)
    assert not enough.suppressed
    assert [(e.unit_id, e.period, e.staff_treatment_score) for e in enough.entries] == [
        ("n1", period, 5)
    ]
    text = enough.entries[0].text
    assert text.startswith("[name] was wonderful")  # names of people: always redacted
    assert "555" not in text


async def test_get_form_shows_the_granted_items(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    form = await harness.response.GetForm(pb.GetFormRequest(token=wave.tokens[0]))
    assert form.definition.survey_id == wave.definition.survey_id
    assert [i.item_id for i in form.items] == [i.item_id for i in wave.definition.items]
    assert form.unit_name == "N1"
    assert form.expires_at


async def test_published_surveys_reach_the_definition_cache(harness: Harness) -> None:
    from pulse_testing import survey as survey_kit

    definition = await survey_kit.published_survey(harness.survey)
    for _ in range(100):
        raw = await harness.pool.fetchval(
            "SELECT definition FROM survey_definitions WHERE survey_id = $1",
            definition.survey_id,
        )
        if raw is not None:
            break
        await asyncio.sleep(0.05)
    stored = t.SurveyDefinition()
    stored.ParseFromString(bytes(raw))
    assert stored == definition

    # A version missing locally (event not arrived yet) is fetched with GetSurvey and cached.
    await harness.pool.execute("DELETE FROM survey_definitions")

    async def header_only() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(
            header=pb.ImportHeader(
                survey_id=definition.survey_id, survey_version=definition.version, dry_run=True
            )
        )

    await harness.response.ImportResponses(header_only())
    assert await harness.pool.fetchval("SELECT count(*) FROM survey_definitions") == 1
