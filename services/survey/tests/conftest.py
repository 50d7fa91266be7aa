"""A real survey service (PostgreSQL + NATS + gRPC) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse_common.grpc_server import open_channel
from pulse_common.testing import inprocess_stack, test_settings
from pulse_survey.app import DEFINITION
from pulse_survey.testkit import Survey


@pytest.fixture
async def survey(database_url: str, nats_url: str) -> AsyncIterator[Survey]:
    # The wave scheduler is off: tests open and close waves explicitly.
    settings = test_settings(
        database_url, nats_url, PULSE_WAVE_SCHEDULER_INTERVAL_S="0", PULSE_CONTACT_BUDGET_DAYS="14"
    )
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        channel = open_channel(stack.address("survey"))
        try:
            yield Survey(
                pb_grpc.SurveyServiceStub(channel),
                stack.services["survey"].context.pool,
                stack.settings,
                nats_url,
            )
        finally:
            await channel.close()
