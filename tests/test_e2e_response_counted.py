"""One real path end to end: a unit and an employee survey are created in the survey
service, a token is issued (and travels on NATS), a response is submitted over gRPC to the
response service, and the correlation service counts it (via JetStream) through its gRPC
API. Every hop is the real server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common.config import Settings
from pulse_common.subjects import INVITATION_ISSUED
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing.security import tools_channel
from pulse_testing.stack import inprocess_stack, stream_messages


async def invitations(nats_url: str, expected: int) -> AsyncIterator[events_pb2.InvitationIssued]:
    """The invitations as the delivery adapter is handed them (the stack's tap: the delivery
    stream deletes each once delivered)."""
    for _, data in await stream_messages(nats_url, INVITATION_ISSUED, expected, timeout_s=20):
        yield events_pb2.InvitationIssued.FromString(data)


async def test_a_response_travels_from_token_to_correlation_count(
    settings: Settings, nats_url: str
) -> None:
    async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
        survey = survey_grpc.SurveyServiceStub(tools_channel(stack.address("survey")))
        response = resp_grpc.ResponseServiceStub(tools_channel(stack.address("response")))
        correlation = corr_grpc.CorrelationServiceStub(tools_channel(stack.address("correlation")))

        await survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id="support",
                name="Support",
                unit_type=survey_pb.UNIT_TYPE_FRONT_LINE,
                effective_from="2024-01-01",
            ),
            timeout=10,
        )

        async def roster() -> AsyncIterator[survey_pb.ImportRosterRequest]:
            yield survey_pb.ImportRosterRequest(options=survey_pb.ImportRosterOptions())
            yield survey_pb.ImportRosterRequest(
                row=survey_pb.RosterRow(
                    employee_id="E1",
                    email="e1@example.test",
                    unit_id="support",
                    start_date="2024-01-01",
                    line=2,
                )
            )

        imported = await survey.ImportRoster(roster(), timeout=10)
        assert imported.created == 1

        bank = await survey.ListItems(
            survey_pb.ListItemsRequest(kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE), timeout=10
        )
        fairness = [i for i in bank.items if i.construct == "treatment.fairness"]
        assert fairness, "the bank has fairness items"
        draft = await survey.CreateSurvey(
            survey_pb.CreateSurveyRequest(
                name="Weekly pulse",
                kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                item_ids=[i.item_id for i in fairness],
                language="en",
            ),
            timeout=10,
        )
        published = await survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=draft.survey.survey_id), timeout=10
        )
        waves = await survey.ScheduleWave(
            survey_pb.ScheduleWaveRequest(
                survey_id=draft.survey.survey_id,
                audience_unit_id="support",
                cadence=survey_pb.CADENCE_ONCE,
                first_opens_on=date.today().isoformat(),
                count=1,
                open_days=7,
            ),
            timeout=10,
        )
        opened = await survey.OpenWave(
            survey_pb.OpenWaveRequest(wave_id=waves.waves[0].wave_id), timeout=30
        )
        assert opened.invitations_issued == 1

        tokens = [event.token async for event in invitations(nats_url, 1)]
        assert len(tokens) == 1
        assert len(tokens[0]) >= 22  # >= 128 bits, url-safe

        answers = [
            types_pb2.Answer(item_id=item.item_id, score=4) for item in published.definition.items
        ]
        submitted = await response.Submit(
            resp_pb.SubmitRequest(
                token=tokens[0], answers=answers, idempotency_key=uuid.uuid4().hex
            ),
            timeout=10,
        )
        assert submitted.response_id

        async with asyncio.timeout(20):
            while True:
                stats = await correlation.GetIngestionStats(
                    corr_pb.GetIngestionStatsRequest(), timeout=5
                )
                if stats.responses_counted >= 1:
                    break
                await asyncio.sleep(0.1)
        assert stats.responses_counted == 1
        assert stats.employee_responses == 1
