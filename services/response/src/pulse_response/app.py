"""Wiring of the response service: servicer, survey client, definition consumer, relay."""

from __future__ import annotations

import logging

from pulse.response.v1 import response_service_pb2 as pb
from pulse_common.messaging import ConsumerLoop
from pulse_common.runtime import ServiceContext, ServiceDefinition

from pulse_response.definitions import DefinitionCache
from pulse_response.grpc_api import ResponseServicer, add_to_server
from pulse_response.limits import load_limits
from pulse_response.messaging import SurveyPublishedHandler, surveys_spec
from pulse_response.service import ResponseService
from pulse_response.survey_client import SurveyClient

log = logging.getLogger(__name__)


async def wire(ctx: ServiceContext) -> None:
    limits = load_limits(ctx.settings.extra)
    survey = SurveyClient(lambda: ctx.settings.survey_addr, lambda: ctx.settings.grpc_deadline_s)
    service = ResponseService(
        ctx.pool,
        ctx.settings,
        limits,
        survey,
        DefinitionCache(ctx.pool, survey),
        ctx.relay,
    )
    add_to_server(ResponseServicer(service), ctx.grpc.server)
    ctx.consumers.append(
        ConsumerLoop(
            ctx.js, surveys_spec(ctx.settings.max_deliver), SurveyPublishedHandler(ctx.pool)
        )
    )

    ctx.on_stop.append(survey.close)


DEFINITION = ServiceDefinition(
    name="response",
    schema="response",
    grpc_service_names=[pb.DESCRIPTOR.services_by_name["ResponseService"].full_name],
    migration_packages=["pulse_response"],
    wire=wire,
)
