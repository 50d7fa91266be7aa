"""Wiring of the survey service (no logic here)."""

from __future__ import annotations

from pathlib import Path

from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse_common.config import env_float
from pulse_common.messaging import ConsumerLoop
from pulse_common.runtime import ServiceContext, ServiceDefinition

from pulse_survey import items, messaging, waves
from pulse_survey.context import Deps, HeldConnection
from pulse_survey.delivery_log import LOG_NAME, DeliveryLog, delivery_config
from pulse_survey.grpc_api import SurveyServicer
from pulse_survey.sampling import sampling_from_env

SERVICE_NAME = "pulse.survey.v1.SurveyService"


def deps_for(ctx: ServiceContext) -> Deps:
    return Deps(
        pool=ctx.pool,
        settings=ctx.settings,
        notify=ctx.relay.notify,
        sampling=sampling_from_env(ctx.settings.extra),
    )


async def wire(ctx: ServiceContext) -> None:
    # Validate every service-specific PULSE_* variable before starting anything.
    deps = deps_for(ctx)
    delivery = delivery_config(ctx.settings.extra)
    interval = env_float(ctx.settings.extra, "PULSE_WAVE_SCHEDULER_INTERVAL_S", 30.0, 0.0, 3600.0)
    workers = messaging.interaction_workers(ctx.settings.extra, ctx.settings.db_pool_max)
    await items.seed_bank(ctx.pool)
    pb_grpc.add_SurveyServiceServicer_to_server(SurveyServicer(deps), ctx.grpc.server)
    # Several loops bound to the one durable consumer: NATS hands each message to one of
    # them, so interactions are handled concurrently, each in its own transaction on the
    # loop's own connection.
    spec = messaging.interaction_spec(ctx.settings.max_deliver)
    for _ in range(workers):
        held = HeldConnection(ctx.pool)
        ctx.on_stop.append(held.close)
        handler = messaging.interaction_handler(deps, held)
        ctx.consumers.append(ConsumerLoop(ctx.js, spec, handler))
    if delivery.enabled:
        held = HeldConnection(ctx.pool)
        ctx.on_stop.append(held.close)
        adapter = DeliveryLog(
            ctx.pool, Path(ctx.settings.data_dir) / LOG_NAME, delivery.public_url, held=held
        )
        ctx.consumers.append(
            ConsumerLoop(ctx.js, adapter.spec(ctx.settings.max_deliver), adapter.handle)
        )
    if interval > 0:
        ctx.background.append(lambda: waves.run_scheduler(deps, interval))


DEFINITION = ServiceDefinition(
    name="survey",
    schema="survey",
    grpc_service_names=[SERVICE_NAME],
    migration_packages=["pulse_survey"],
    wire=wire,
)
