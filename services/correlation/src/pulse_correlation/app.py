"""Service definition: wires the servicer and the three durable consumers (the responses
one with several workers)."""

from __future__ import annotations

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse_common.messaging import ConsumerLoop
from pulse_common.runtime import ServiceContext, ServiceDefinition

from pulse_correlation.grpc_api import CorrelationServicer
from pulse_correlation.messaging import (
    ORG_DURABLE,
    RESPONSES_DURABLE,
    SURVEYS_DURABLE,
    Handlers,
    consumer_specs,
)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CorrelationService"].full_name
# Response handlers in parallel on the one durable consumer: each response is its own
# transaction, so overlapping them lets PostgreSQL group their commits.
RESPONSE_WORKERS = 4


async def wire(ctx: ServiceContext) -> None:
    pb_grpc.add_CorrelationServiceServicer_to_server(
        CorrelationServicer(ctx.pool, ctx.settings, ctx.relay), ctx.grpc.server
    )
    handlers = Handlers(ctx.pool)
    specs = consumer_specs(ctx.settings.max_deliver)
    ctx.consumers.append(ConsumerLoop(ctx.js, specs[SURVEYS_DURABLE], handlers.on_survey))
    ctx.consumers.append(ConsumerLoop(ctx.js, specs[ORG_DURABLE], handlers.on_org))
    for _ in range(RESPONSE_WORKERS):
        ctx.consumers.append(ConsumerLoop(ctx.js, specs[RESPONSES_DURABLE], handlers.on_response))


DEFINITION = ServiceDefinition(
    name="correlation",
    schema="correlation",
    grpc_service_names=[SERVICE_NAME],
    migration_packages=["pulse_correlation"],
    wire=wire,
)
