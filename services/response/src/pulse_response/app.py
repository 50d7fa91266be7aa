"""Wiring of the response service: settings, survey client, use-case dependencies,
servicer, the definition and closed-wave consumers, the batch writer's sweep."""

from __future__ import annotations

from pulse.response.v1 import response_service_pb2 as pb
from pulse_common.auth import RESPONSE, TokenSource, load_credential
from pulse_common.messaging import ConsumerLoop
from pulse_common.runtime import ServiceContext, ServiceDefinition
from pulse_common.uow import Database

from pulse_response.batches import run_batch_writer
from pulse_response.context import build_deps
from pulse_response.grpc_api import ResponseServicer, add_to_server
from pulse_response.messaging import (
    SurveyPublishedHandler,
    WaveClosedHandler,
    surveys_spec,
    waves_spec,
)
from pulse_response.settings import load_response_settings
from pulse_response.survey_client import SurveyClient


async def wire(ctx: ServiceContext) -> None:
    settings = load_response_settings(ctx.settings.extra, ctx.settings)
    db = Database(ctx.pool, ctx.relay.notify)
    tokens = TokenSource(
        load_credential(ctx.settings, "response"),
        ctx.settings.auth.token_ttl_s,
        roles=frozenset({RESPONSE}),
    )
    survey = SurveyClient(
        settings.common.survey_addr, settings.common.grpc_deadline_s, ctx.tls, tokens
    )
    ctx.on_stop.append(survey.close)
    deps = build_deps(db, settings, survey)
    add_to_server(ResponseServicer(deps), ctx.grpc.server)
    ctx.consumers.append(
        ConsumerLoop(ctx.js, surveys_spec(settings.common.max_deliver), SurveyPublishedHandler(db))
    )
    ctx.consumers.append(
        ConsumerLoop(ctx.js, waves_spec(settings.common.max_deliver), WaveClosedHandler(deps))
    )
    ctx.background.append(lambda: run_batch_writer(deps, settings.answer_sweep_s))


DEFINITION = ServiceDefinition(
    name="response",
    schema="response",
    grpc_service_names=[pb.DESCRIPTOR.services_by_name["ResponseService"].full_name],
    migration_packages=["pulse_response"],
    wire=wire,
)
