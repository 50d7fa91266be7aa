"""Wiring of the survey service (no logic here)."""

from __future__ import annotations

from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse_common.messaging import ConsumerLoop, ensure_delivery_stream
from pulse_common.runtime import ServiceContext, ServiceDefinition
from pulse_common.uow import Database

from pulse_survey import items, messaging, wave_scheduler
from pulse_survey.context import Deps
from pulse_survey.delivery_consumer import DeliveryConsumer, build_adapter
from pulse_survey.grpc_api import SurveyServicer
from pulse_survey.settings import load_survey_settings

SERVICE_NAME = "pulse.survey.v1.SurveyService"


async def wire(ctx: ServiceContext) -> None:
    # Every survey PULSE_* variable is validated before anything starts.
    settings = load_survey_settings(ctx.settings.extra, ctx.settings)
    db = Database(ctx.pool, ctx.relay.notify)
    deps = Deps(db=db, settings=settings)
    await items.seed_bank(db)
    # Invitations (raw tokens) go out on their own stream; the survey service owns it.
    await ensure_delivery_stream(ctx.js, ctx.settings.stream_replicas)
    pb_grpc.add_SurveyServiceServicer_to_server(SurveyServicer(deps), ctx.grpc.server)
    # Several loops bound to the one durable consumer: NATS hands each message to one of
    # them, so interactions are handled concurrently, each in its own unit of work.
    spec = messaging.interaction_spec(ctx.settings.max_deliver)
    handler = messaging.interaction_handler(deps)
    batch = messaging.interaction_batch_handler(deps)
    ctx.consumers += [
        ConsumerLoop(ctx.js, spec, handler, batch) for _ in range(settings.interaction_workers)
    ]
    adapter = build_adapter(settings.delivery, ctx.settings.data_dir)
    if adapter is not None:
        consumer = DeliveryConsumer(db, adapter, settings.delivery.public_url, ctx.settings.period)
        ctx.consumers.append(ConsumerLoop(ctx.js, consumer.spec(), consumer.handle))
    if settings.scheduler_interval_s > 0:
        interval = settings.scheduler_interval_s
        ctx.background.append(lambda: wave_scheduler.run_scheduler(deps, interval))


DEFINITION = ServiceDefinition(
    name="survey",
    schema="survey",
    grpc_service_names=[SERVICE_NAME],
    migration_packages=["pulse_survey"],
    wire=wire,
)
