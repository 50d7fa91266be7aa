"""Customer interactions (gRPC RecordInteraction or the pulse.interaction.completed event):
sample per channel (``sampling``), apply the contact budget (``budget``), and invite the
customer to the unit's survey for the period the interaction happened in, attributed to the
unit as the org stood on that day. Recording an interaction id twice (the event and the RPC,
or a CRM retry) changes nothing: the first decision is recorded and returned again. Every
suppression is recorded with its reason in ``interactions``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pulse_common.db import Connection
from pulse_common.errors import FailedPrecondition, InvalidArgument

from pulse_survey import budget, domain, invitations, survey_repository
from pulse_survey import invitation_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import NewInvitation
from pulse_survey.org import units_as_of
from pulse_survey.surveys import published_version

INVITED, SUPPRESSED = 1, 2  # pulse.survey.v1.InteractionDecision values


@dataclass(frozen=True)
class InteractionInput:
    interaction_id: str
    unit_id: str
    occurred_at: datetime
    channel: str
    customer_key: str
    customer_contact: str


@dataclass(frozen=True)
class Decision:
    decision: int
    reason: str
    invitation_id: str
    duplicate: bool


def parse_interaction(
    prefix: str,
    interaction_id: str,
    unit_id: str,
    occurred_at: str,
    channel: str,
    customer_key: str,
    customer_contact: str,
) -> InteractionInput:
    """Field checks shared by the gRPC edge and the event consumer."""
    if not interaction_id or len(interaction_id) > 200:
        raise InvalidArgument(f"{prefix}interaction_id", "is required (at most 200 characters)")
    domain.require_unit_id(f"{prefix}unit_id", unit_id)
    occurred = domain.parse_timestamp(f"{prefix}occurred_at", occurred_at)
    channel = channel.strip().lower()
    if not channel or len(channel) > 40:
        raise InvalidArgument(f"{prefix}channel", "is required (e.g. ticket, call, visit)")
    if len(customer_contact) > 254 or len(customer_key) > 200:
        raise InvalidArgument(f"{prefix}customer_contact", "is too long")
    return InteractionInput(
        interaction_id, unit_id, occurred, channel, customer_key.strip(), customer_contact.strip()
    )


async def _survey_for(conn: Connection, survey_id: str) -> str:
    if survey_id:
        kind = await survey_repository.kind_of(conn, uuid.UUID(survey_id))
        if kind is None:
            raise InvalidArgument("survey_id", "no such survey")
        if kind != domain.CUSTOMER:
            raise InvalidArgument("survey_id", "is not a customer post-interaction survey")
        return survey_id
    latest = await survey_repository.latest_published_of_kind(conn, domain.CUSTOMER)
    return "" if latest is None else str(latest)


async def record(
    conn: Connection, deps: Deps, interaction: InteractionInput, survey_id: str
) -> Decision:
    """Inside the caller's transaction (the consumer adds its ledger row to it)."""
    await repo.lock_interaction(conn, interaction.interaction_id)
    previous = await repo.interaction(conn, interaction.interaction_id)
    if previous is not None:
        invitation = previous["invitation_id"]
        return Decision(
            previous["decision"],
            previous["suppression_reason"],
            str(invitation) if invitation else "",
            duplicate=True,
        )
    day = interaction.occurred_at.date()
    if interaction.unit_id not in await units_as_of(conn, day):
        raise InvalidArgument(
            "interaction.unit_id", f"unit {interaction.unit_id} did not exist on {day.isoformat()}"
        )
    decision = await _decide(conn, deps, interaction, survey_id)
    await repo.insert_interaction(
        conn,
        interaction.interaction_id,
        interaction.unit_id,
        day,
        interaction.channel,
        decision.decision,
        decision.reason,
        decision.invitation_id,
    )
    return decision


async def _decide(
    conn: Connection, deps: Deps, interaction: InteractionInput, survey_id: str
) -> Decision:
    def suppressed(reason: str) -> Decision:
        return Decision(SUPPRESSED, reason, "", duplicate=False)

    chosen = await _survey_for(conn, survey_id)
    if not chosen:
        return suppressed("no_survey")
    try:
        definition, _ = await published_version(conn, chosen)
    except FailedPrecondition:
        return suppressed("no_survey")
    now = deps.now()
    if now - interaction.occurred_at > timedelta(days=deps.settings.token_ttl_days):
        return suppressed("stale")  # a replayed backlog must not mail old customers
    if not interaction.customer_contact:
        return suppressed("no_contact")
    secret = deps.settings.hmac_secret
    if not deps.sampling.invites(secret, interaction.interaction_id, interaction.channel):
        return suppressed("sampled_out")
    keys = await budget.customer_keys(
        conn, secret, interaction.customer_contact, interaction.customer_key
    )
    today = deps.today()
    if await budget.recently_contacted(conn, keys, today, deps.settings.contact_budget_days):
        return suppressed("contact_budget")
    [invitation_id] = await invitations.issue(
        conn,
        [
            NewInvitation(
                survey_id=chosen,
                survey_version=definition.version,
                kind=domain.CUSTOMER,
                wave_id="",
                person_pseudonym="",
                interaction_id=interaction.interaction_id,
                unit_id=interaction.unit_id,
                period=domain.period_of(interaction.occurred_at.date(), deps.settings.period),
                channel=interaction.channel,
                item_ids=[],
                expires_at=now + timedelta(days=deps.settings.token_ttl_days),
                contact=interaction.customer_contact,
            )
        ],
    )
    await budget.stamp(conn, keys, today)
    return Decision(INVITED, "", invitation_id, duplicate=False)


async def record_interaction(deps: Deps, interaction: InteractionInput, survey_id: str) -> Decision:
    async with deps.transaction() as conn:
        decision = await record(conn, deps, interaction, survey_id)
    deps.notify()
    return decision
