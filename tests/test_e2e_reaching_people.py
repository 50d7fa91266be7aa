"""Reaching people through the real services (survey, response, correlation):

- a wave delivered by e-mail through a real SMTP server (aiosmtpd on loopback): one message
  per person, reminders only to those who have not answered, and nothing in any table of
  the response service nor in any ``pulse.response.recorded`` event that ties a delivered
  e-mail (its token, Message-ID, address, invitation) to an answer;
- weekly waves under monthly reporting periods: two waves in one month, each person
  answering each wave at most once, the month's answers pooled (with the survey's k raised
  to deployment k x waves per month, so a released month still holds k people)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import grpc
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.subjects import INVITATION_ISSUED, RESPONSE_RECORDED
from pulse_testing.smtp import mail_server
from pulse_testing.stack import rpc_error, stream_messages
from pulse_testing.web import EMPLOYEE_ITEMS, WebStack, web_stack

LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")
NEW_PEOPLE = 13  # two weekly waves of 13 and 14 answers: 27 >= the pooled k of 25


def _pool(web: WebStack, service: str) -> asyncpg.Pool:
    pool: asyncpg.Pool = web.stack.services[service].context.pool
    return pool


def _token(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(str(body.get_content()))
    assert match is not None
    return match.group(1)


def _answers(definition: types_pb2.SurveyDefinition, score: int) -> list[types_pb2.Answer]:
    return [
        types_pb2.Answer(item_id=item.item_id, text="The team is kind to each other")
        if item.scale == types_pb2.SCALE_FREE_TEXT
        else types_pb2.Answer(item_id=item.item_id, score=score)
        for item in definition.items
    ]


async def _submit(web: WebStack, token: str, definition: types_pb2.SurveyDefinition) -> str:
    reply = await web.response.Submit(
        resp_pb.SubmitRequest(
            token=token, answers=_answers(definition, 4), idempotency_key=uuid.uuid4().hex
        )
    )
    return str(reply.response_id)


async def _schema_text(pool: asyncpg.Pool, schema: str) -> str:
    """Every row of every table of ``schema``, as text (what a database reader sees)."""
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
        " AND table_type = 'BASE TABLE'",
        schema,
    )
    dumped = []
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM "{schema}"."{table[0]}" t')
        dumped += [str(row["row"]) for row in rows]
    return "\n".join(dumped)


async def test_e_mail_delivery_leaves_nothing_that_ties_a_message_to_an_answer(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    with mail_server() as mail:
        env = {"PULSE_DATA_DIR": str(tmp_path), **mail.env()}
        async with web_stack(database_url, nats_url, **env) as web:  # type: ignore[arg-type]
            # The seeded wave asks one person in each of the 8 teams.
            received = await mail.wait_for(8)
            assert len(received) == 8
            assert len({m["To"] for m in received}) == 8
            tokens = {m["To"]: _token(m) for m in received}
            answered = sorted(tokens)[:5]
            response_ids = [
                await _submit(web, tokens[address], web.employee_survey) for address in answered
            ]

            survey_db = _pool(web, "survey")
            await survey_db.execute(
                "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
            )
            wave_id = await survey_db.fetchval("SELECT wave_id FROM survey.invitations LIMIT 1")
            reminded = await web.survey.SendReminders(
                survey_pb.SendRemindersRequest(wave_id=str(wave_id))
            )
            assert reminded.reminders_sent == 3
            received = await mail.wait_for(11)
            assert sorted(m["To"] for m in received[8:]) == sorted(set(tokens) - set(answered))

            # Everything a delivered e-mail carries, and what the survey service keeps of it.
            secrets_of_mail = {m["Message-ID"].strip("<>") for m in received}
            secrets_of_mail |= {_token(m) for m in received} | set(tokens)
            rows = await survey_db.fetch(
                "SELECT i.invitation_id::text AS id, t.token_hash FROM survey.invitations i"
                " JOIN survey.invitation_tokens t USING (invitation_id)"
            )
            secrets_of_mail |= {r["id"] for r in rows} | {r["token_hash"] for r in rows}
            assert len(secrets_of_mail) > 30

            response_db = _pool(web, "response")
            stored = await _schema_text(response_db, "response")
            assert all(rid in stored for rid in response_ids)  # the dump is real
            events = await stream_messages(web.nats_url, RESPONSE_RECORDED, at_least=5)
            assert len(events) == 5
            published = b"\n".join(msg_id.encode() + data for msg_id, data in events)
            for secret in secrets_of_mail:
                assert secret not in stored
                assert secret.encode() not in published
            # Nor the other way round: the survey service's tables (deliveries included)
            # hold no response id.
            kept = await _schema_text(survey_db, "survey")
            assert "sent" in kept  # deliveries are recorded there
            for response_id in response_ids:
                assert response_id not in kept
            # The invitation events the adapter read carry no response either.
            issued = await stream_messages(web.nats_url, INVITATION_ISSUED, at_least=11)
            for _, data in issued:
                assert not any(rid.encode() in data for rid in response_ids)


def _first_of_next_month(today: date) -> date:
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


async def test_weekly_waves_under_monthly_periods_pool_the_month(
    database_url: str, nats_url: str
) -> None:
    async with web_stack(database_url, nats_url, PULSE_CONTACT_BUDGET_DAYS="") as web:
        assert web.correlation is not None

        async def roster() -> AsyncIterator[survey_pb.ImportRosterRequest]:
            yield survey_pb.ImportRosterRequest(options=survey_pb.ImportRosterOptions())
            for index in range(NEW_PEOPLE):
                yield survey_pb.ImportRosterRequest(
                    row=survey_pb.RosterRow(
                        employee_id=f"W-{index}",
                        email=f"weekly.{index}@example.com",
                        unit_id="n1",
                        line=index + 2,
                    )
                )

        await web.survey.ImportRoster(roster())
        request = survey_pb.CreateSurveyRequest(
            name="Weekly pulse", kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE, item_ids=EMPLOYEE_ITEMS
        )
        created = await web.survey.CreateSurvey(request)
        await web.survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=created.survey.survey_id)
        )
        first = _first_of_next_month(date.today())
        weekly = survey_pb.ScheduleWaveRequest(
            survey_id=created.survey.survey_id,
            audience_unit_id="n1",
            cadence=survey_pb.CADENCE_WEEKLY,
            first_opens_on=first.isoformat(),
            count=4,
            open_days=7,
        )
        # Up to 5 weekly waves fall in a month: with k = 5 two people answering every week
        # would make a released group of 10. Refused until the survey's k is 25.
        refused = await rpc_error(web.survey.ScheduleWave(weekly))
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "min_group_size of at least 25" in str(refused.details())
        request.survey_id = created.survey.survey_id
        request.min_group_size = 25
        request.min_comment_group_size = 25
        await web.survey.CreateSurvey(request)
        published = await web.survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=created.survey.survey_id)
        )
        definition = published.definition
        assert definition.min_group_size == 25
        scheduled = await web.survey.ScheduleWave(weekly)
        month = first.strftime("%Y-%m")
        assert [w.period for w in scheduled.waves] == [month] * 4

        async def open_and_collect(wave: survey_pb.Wave, expected: int) -> list[str]:
            opened = await web.survey.OpenWave(survey_pb.OpenWaveRequest(wave_id=wave.wave_id))
            assert opened.invitations_issued == expected
            issued = await stream_messages(web.nats_url, INVITATION_ISSUED, at_least=1)
            found = []
            for _, data in issued:
                event = events_pb2.InvitationIssued.FromString(data)
                if event.wave_id == wave.wave_id:
                    found.append(event.token)
            return found

        # Week 1: the new people (the team's first member was asked today by the seeded
        # wave: within the week's contact budget, held back).
        week_one = await open_and_collect(scheduled.waves[0], NEW_PEOPLE)
        assert len(week_one) == NEW_PEOPLE
        for token in week_one:
            await _submit(web, token, definition)
        # A week passes (the budget follows the weekly cadence: 7 days).
        await _pool(web, "survey").execute(
            "UPDATE survey.contact_log SET last_contacted_on = last_contacted_on - 7"
        )
        week_two = await open_and_collect(scheduled.waves[1], NEW_PEOPLE + 1)
        for token in week_two:
            await _submit(web, token, definition)
        # Each person answers each wave at most once.
        error = await rpc_error(
            web.response.Submit(
                resp_pb.SubmitRequest(
                    token=week_one[0],
                    answers=_answers(definition, 2),
                    idempotency_key=uuid.uuid4().hex,
                )
            )
        )
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED

        # The month's answers are pooled: both waves count in one period.
        counted = await web.response.CountResponses(
            resp_pb.CountResponsesRequest(survey_id=definition.survey_id, period=month)
        )
        pooled = 2 * NEW_PEOPLE + 1
        assert [(c.unit_id, c.responses, c.suppressed) for c in counted.counts] == [
            ("n1", pooled, False)
        ]
        async with asyncio.timeout(20):
            while True:
                stats = await web.correlation.GetIngestionStats(corr_pb.GetIngestionStatsRequest())
                if stats.employee_responses >= pooled:
                    break
                await asyncio.sleep(0.1)
        assert stats.employee_responses == pooled
