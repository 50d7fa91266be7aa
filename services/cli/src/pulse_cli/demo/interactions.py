"""The customer side of the demo's live month (``history`` imports the earlier ones):
interactions sent as a CRM would (``nats``: events on
``pulse.interaction.completed``; ``grpc``: ``RecordInteraction``), and the invitations the
survey service decides to send answered by the customers the generator made respond."""

from __future__ import annotations

import asyncio

import nats.js.errors
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.measures import CUSTOMER
from pulse_common.messaging import publish_event
from pulse_common.subjects import INTERACTION_COMPLETED, STREAM

from pulse_cli.demo.generator import Interaction
from pulse_cli.demo.run import DemoRun
from pulse_cli.demo.submit import CONCURRENCY, answers_of, client_id, retrying

SURVEY_INTERACTION_CONSUMER = "survey-interactions"  # pulse_survey.messaging.DURABLE
PUBLISH_CHUNK = 200
POLL_S = 0.5


async def publish_interactions(run: DemoRun) -> None:
    """Send every interaction of the live months, ``CONCURRENCY`` at a time, in chunks for
    the progress bar."""
    interactions = run.live_interactions()
    slots = asyncio.Semaphore(CONCURRENCY)

    async def bounded(interaction: Interaction) -> None:
        async with slots:
            if run.transport == "nats":
                await _publish(run, interaction)
            else:
                await _record(run, interaction)

    done = 0
    for start in range(0, len(interactions), PUBLISH_CHUNK):
        chunk = interactions[start : start + PUBLISH_CHUNK]
        await asyncio.gather(*(bounded(i) for i in chunk))
        done += len(chunk)
        run.progress.stage("interactions published", done, len(interactions))


def _facts(interaction: Interaction) -> dict[str, str]:
    """What a CRM tells Pulse about an interaction (the same fields in the event and in
    ``RecordInteraction``)."""
    return {
        "interaction_id": interaction.interaction_id,
        "unit_id": interaction.unit_id,
        "occurred_at": interaction.occurred_at,
        "channel": interaction.channel,
        "customer_key": interaction.customer_key,
        "customer_contact": interaction.contact,
    }


async def _record(run: DemoRun, interaction: Interaction) -> None:
    request = survey_pb.RecordInteractionRequest(
        interaction=survey_pb.Interaction(**_facts(interaction)), survey_id=run.customer_survey
    )
    reply = await retrying(
        lambda: run.stubs.survey.RecordInteraction(request, timeout=run.deadline)
    )
    if reply.decision == survey_pb.INTERACTION_DECISION_INVITED:
        run.recorded_invited += 1


async def _publish(run: DemoRun, interaction: Interaction) -> None:
    event = events_pb2.InteractionCompleted(**_facts(interaction))
    await publish_event(
        run.js, INTERACTION_COMPLETED, event, msg_id=f"interaction:{interaction.interaction_id}"
    )


async def answer_customers(run: DemoRun, published: asyncio.Event) -> None:
    """Answer invitations as they arrive until the survey service has decided on every
    published interaction and every invitation has been read."""
    org = run.org
    live = run.live_interactions()
    by_id = {i.interaction_id: i for i in live}
    item_ids = [s.item_id for s in org.bank.customer]
    in_flight: set[asyncio.Task[bool]] = set()

    async def answer(interaction: Interaction, token: str) -> bool:
        ok = await run.submitter.submit(
            resp_pb.SubmitRequest(
                token=token,
                answers=answers_of(
                    item_ids, interaction.scores, org.bank.customer_comment, interaction.comment
                ),
                idempotency_key=f"demo-{org.seed}-{interaction.interaction_id}",
                share_comment_with_team=bool(interaction.comment),
                client_id=client_id(interaction.contact),
            ),
            CUSTOMER,
        )
        run.customer_done += 1
        run.progress.stage("customer answers", run.customer_done, run.customer_expected)
        return ok

    def drain_mailbox() -> None:
        while not run.mailbox.customer.empty():
            interaction_id, token = run.mailbox.customer.get_nowait()
            interaction = by_id.get(interaction_id)
            if interaction is None:
                continue
            run.invited_ids.add(interaction_id)
            if interaction.responds:
                task = asyncio.create_task(answer(interaction, token))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)

    while True:
        drain_mailbox()
        if published.is_set() and await _all_invitations_read(run):
            drain_mailbox()
            break
        await run.mailbox.wait_changed(timeout_s=POLL_S)
    if in_flight:
        await asyncio.gather(*in_flight)
    invited = len(run.invited_ids)
    run.counts["customer_invitations"] = invited
    run.counts["live_interactions"] = len(live)
    run.counts["interactions_not_invited"] = len(live) - invited
    # Re-base the bar's total on the invitations the survey service actually sent.
    run.progress.stage("customer answers", run.customer_done, run.customer_done)


async def _all_invitations_read(run: DemoRun) -> bool:
    if run.transport == "grpc":
        return run.mailbox.customer_received >= run.recorded_invited
    if not await _interactions_decided(run):
        return False
    return run.mailbox.customer_received >= await _customer_invitations(run)


async def _interactions_decided(run: DemoRun) -> bool:
    """The survey service has handled every interaction event (its consumer is empty)."""
    try:
        info = await run.js.consumer_info(STREAM, SURVEY_INTERACTION_CONSUMER)
    except nats.js.errors.NotFoundError:
        return False
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def _customer_invitations(run: DemoRun) -> int:
    listed = await run.stubs.survey.ListInvitations(
        survey_pb.ListInvitationsRequest(survey_id=run.customer_survey, limit=1),
        timeout=run.deadline,
    )
    return int(listed.total)
