"""Service definition: builds the use cases' dependencies, wires the servicer and the
durable consumers (the responses one with several workers)."""

from __future__ import annotations

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse_common.messaging import ConsumerLoop
from pulse_common.runtime import ServiceContext, ServiceDefinition
from pulse_common.uow import Database
from threadpoolctl import threadpool_limits

from pulse_correlation.context import Deps
from pulse_correlation.grpc_api import CorrelationServicer
from pulse_correlation.messaging import (
    ORG_DURABLE,
    RESPONSES_DURABLE,
    SERVES_DURABLE,
    SURVEYS_DURABLE,
    WAVES_DURABLE,
    Handlers,
    consumer_specs,
    purge_ledger_forever,
    release_forever,
)
from pulse_correlation.settings import load_correlation_settings

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CorrelationService"].full_name
# Response loops in parallel on the one durable consumer, each counting a fetched batch in
# one transaction: two overlap one batch's Python work with the other's database work;
# more only queue on the aggregate rows the batches share (issue 20: measured).
RESPONSE_WORKERS = 2


async def wire(ctx: ServiceContext) -> None:
    settings = load_correlation_settings(ctx.settings)
    # One BLAS thread per report (issue 20): the panel's dot products are too small to gain
    # from OpenBLAS's threads, which on a busy 2-core host made a 1M report's statistics
    # 2.5x slower; and a report's last bits no longer depend on the host's core count.
    threadpool_limits(limits=1, user_api="blas")
    deps = Deps(db=Database(ctx.pool, ctx.relay.notify), settings=settings)
    pb_grpc.add_CorrelationServiceServicer_to_server(CorrelationServicer(deps), ctx.grpc.server)
    handlers = Handlers(deps)
    specs = consumer_specs(settings.max_deliver, settings.response_batch)
    loops = [
        (SURVEYS_DURABLE, handlers.on_survey, 1),
        (ORG_DURABLE, handlers.on_org, 1),
        (SERVES_DURABLE, handlers.on_serves, 1),
        (WAVES_DURABLE, handlers.on_wave, 1),
        (RESPONSES_DURABLE, handlers.on_response, RESPONSE_WORKERS),
    ]
    for durable, handler, workers in loops:
        # Responses: a fetched batch is counted in one transaction (``on_responses``).
        batch = handlers.on_responses if durable == RESPONSES_DURABLE else None
        ctx.consumers.extend(
            ConsumerLoop(ctx.js, specs[durable], handler, batch) for _ in range(workers)
        )
    ctx.background.append(lambda: purge_ledger_forever(deps, ctx.js))
    ctx.background.append(lambda: release_forever(deps))


DEFINITION = ServiceDefinition(
    name="correlation",
    schema="correlation",
    grpc_service_names=[SERVICE_NAME],
    migration_packages=["pulse_correlation"],
    wire=wire,
)
