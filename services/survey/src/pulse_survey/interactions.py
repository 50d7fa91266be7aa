"""Customer interactions (gRPC RecordInteraction or the pulse.interaction.completed event):
sample per channel (``sampling``), apply the contact budget (``budget``), and invite the
customer to the unit's survey for the period the interaction happened in, attributed to the
unit as the org stood on that day. Recording an interaction id twice (the event and the RPC,
or a CRM retry) changes nothing: the first decision is recorded and returned again. Every
suppression is recorded with its reason in ``interactions``.

Interactions arrive by the tens of thousands, so the common cases cost few statements: the
dated org and the survey come from in-memory caches (``caches``); a suppression is one
statement that locks the interaction id and records it unless it was recorded before; an
invitation takes its locks (``budget``: interaction id, budget, contact keys) in one or two
statements, then checks the budget and records the invitation, its token, the stamps and
the decision in one more, and enqueues its event. A fetched batch of events is decided in
one unit of work and a fixed handful of statements (``interaction_batch``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.db import Connection
from pulse_common.errors import InvalidArgument
from pulse_common.periods import label_of
from pulse_common.uow import UnitOfWork

from pulse_survey import budget, invitations, org_repository, survey_repository
from pulse_survey import interaction_repository as repo
from pulse_survey.caches import PublishedSurvey, existed_on
from pulse_survey.context import Deps
from pulse_survey.domain import InteractionInput, NewInvitation
from pulse_survey.interaction_repository import RecordedDecision
from pulse_survey.tokens import new_token, token_hash

INVITED = survey_pb.INTERACTION_DECISION_INVITED
SUPPRESSED = survey_pb.INTERACTION_DECISION_SUPPRESSED
CUSTOMER_KIND = types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION


@dataclass(frozen=True)
class Decision:
    decision: int  # INVITED or SUPPRESSED
    reason: str  # why suppressed ("" when invited)
    invitation_id: str
    duplicate: bool  # recorded before: the first decision, returned again


def _again(previous: RecordedDecision) -> Decision:
    return Decision(
        previous.decision, previous.suppression_reason, previous.invitation_id, duplicate=True
    )


async def load_customer_survey(conn: Connection, survey_id: str) -> PublishedSurvey | None:
    """The survey asked (or the customer survey published last when none is named) and its
    latest published version; None when it has none."""
    if survey_id:
        found = await survey_repository.kind_and_published_version(conn, uuid.UUID(survey_id))
        if found is None:
            raise InvalidArgument("survey_id", "no such survey")
        kind, version = found
        if kind != CUSTOMER_KIND:
            raise InvalidArgument("survey_id", "is not a customer post-interaction survey")
        return None if version is None else PublishedSurvey(survey_id, version)
    latest = await survey_repository.latest_published_version_of_kind(conn, CUSTOMER_KIND)
    return None if latest is None else PublishedSurvey(str(latest[0]), latest[1])


async def _previous(conn: Connection, interaction_id: str) -> Decision | None:
    """The decision recorded for a re-sent interaction, holding its lock (then none can be
    recorded concurrently)."""
    await repo.lock_interaction(conn, interaction_id)
    previous = await repo.interaction(conn, interaction_id)
    return None if previous is None else _again(previous)


async def record(
    uow: UnitOfWork, deps: Deps, interaction: InteractionInput, survey_id: str
) -> Decision:
    """Inside the caller's unit of work (the consumer adds its ledger row to it). A re-sent
    interaction gets its first decision back, even when its unit or survey would now be
    refused. The dated org and the published surveys come from ``deps.caches``. The survey
    is ``survey_id`` when given, else the one ``PULSE_CHANNEL_SURVEYS`` maps the channel to,
    else the latest published customer survey."""
    conn = uow.conn
    survey_id = survey_id or deps.settings.survey_for_channel(interaction.channel)
    day = interaction.occurred_at.date()
    spans = await deps.caches.org.get("", lambda: org_repository.spans(conn))
    if not existed_on(spans, interaction.unit_id, day):
        # Refused only after the database agrees: the cache may predate a new unit.
        if previous := await _previous(conn, interaction.interaction_id):
            return previous
        if not await org_repository.existed_on(conn, interaction.unit_id, day):
            raise InvalidArgument(
                "interaction.unit_id",
                f"unit {interaction.unit_id} did not exist on {day.isoformat()}",
            )
    try:
        survey = await deps.caches.customer_surveys.get(
            survey_id, lambda: load_customer_survey(conn, survey_id)
        )
    except InvalidArgument:
        if previous := await _previous(conn, interaction.interaction_id):
            return previous
        raise
    reason = suppression(deps, interaction, survey)
    if reason or survey is None:
        return await _suppress(conn, interaction, reason)
    return await _invite_within_budget(uow, deps, interaction, survey)


def suppression(deps: Deps, interaction: InteractionInput, survey: PublishedSurvey | None) -> str:
    """Why the interaction is not invited, as far as the database need not be asked."""
    settings = deps.settings
    if survey is None:
        return "no_survey"
    if deps.now() - interaction.occurred_at > timedelta(days=settings.common.token_ttl_days):
        return "stale"  # a replayed backlog must not mail old customers
    if not interaction.customer_contact:
        return "no_contact"
    if not settings.sampling.invites(
        settings.common.hmac_secret, interaction.interaction_id, interaction.channel
    ):
        return "sampled_out"
    return ""


async def _suppress(conn: Connection, interaction: InteractionInput, reason: str) -> Decision:
    recorded = await repo.record_suppressed(
        conn,
        interaction.interaction_id,
        interaction.unit_id,
        interaction.occurred_at.date(),
        interaction.channel,
        SUPPRESSED,
        reason,
    )
    if recorded:
        return Decision(SUPPRESSED, reason, "", duplicate=False)
    previous = await repo.interaction(conn, interaction.interaction_id)
    assert previous is not None  # recorded earlier, committed before we got its lock
    return _again(previous)


def customer_invitation(
    deps: Deps, interaction: InteractionInput, survey: PublishedSurvey
) -> NewInvitation:
    """Attributed to the interaction's unit and the period it happened in; every item."""
    return NewInvitation(
        survey_id=survey.survey_id,
        survey_version=survey.version,
        kind=CUSTOMER_KIND,
        wave_id="",
        person_pseudonym="",
        interaction_id=interaction.interaction_id,
        unit_id=interaction.unit_id,
        period=label_of(interaction.occurred_at.date(), deps.settings.common.period),
        channel=interaction.channel,
        item_ids=[],
        expires_at=deps.now() + timedelta(days=deps.settings.common.token_ttl_days),
        contact=interaction.customer_contact,
        language=interaction.language,
    )


async def _invite_within_budget(
    uow: UnitOfWork, deps: Deps, interaction: InteractionInput, survey: PublishedSurvey
) -> Decision:
    budget_days = deps.settings.common.contact_budget_days
    keys = await budget.lock_customer(
        uow.conn,
        deps.settings.common.hmac_secret,
        interaction.interaction_id,
        interaction.customer_contact,
        interaction.customer_key,
        budget_days,
    )
    today = deps.today()
    new = customer_invitation(deps, interaction, survey)
    invitation_id, token = str(uuid.uuid4()), new_token()
    verdict = await repo.record_if_within_budget(
        uow.conn,
        interaction.occurred_at.date(),
        (INVITED, SUPPRESSED, "contact_budget"),
        repo.BudgetedInvitation(
            invitation_id=invitation_id,
            new=new,
            token_hash=token_hash(token),
            contact_keys=keys,
            stamped_after=today - timedelta(days=budget_days) if budget_days > 0 else None,
            today=today,
        ),
    )
    if verdict.previous is not None:
        return _again(verdict.previous)
    if not verdict.within:
        return Decision(SUPPRESSED, "contact_budget", "", duplicate=False)
    await invitations.enqueue_issued(uow, invitation_id, new, token)
    return Decision(INVITED, "", invitation_id, duplicate=False)


async def record_interaction(deps: Deps, interaction: InteractionInput, survey_id: str) -> Decision:
    """The RPC: one unit of work (the relay is rung only when an invitation was enqueued)."""
    async with deps.db.unit_of_work() as uow:
        return await record(uow, deps, interaction, survey_id)
