"""``pulse interaction`` and ``pulse invitations``: customer interactions (normally a CRM's
``pulse.interaction.completed`` events) and the delivery facts of every invitation."""

from __future__ import annotations

import click
from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_cli.enums import enum_label
from pulse_cli.options import json_option
from pulse_cli.output import emit, table
from pulse_cli.rpc import unary


@click.group()
def interaction() -> None:
    """Customer interactions (normally published by a CRM on NATS)."""


@interaction.command("record")
@click.option("--id", "interaction_id", required=True)
@click.option("--unit", "unit_id", required=True)
@click.option("--at", "occurred_at", required=True, help="RFC 3339 time of the interaction.")
@click.option("--channel", required=True, help="ticket, call, visit, chat ...")
@click.option("--customer-key", required=True)
@click.option("--contact", default="", help="Where to send the survey (email).")
@click.option("--staff", default="", help="Staff pseudonym.")
@click.option("--survey", "survey_id", default="", help="Customer survey (latest published).")
@json_option
def record_interaction(
    interaction_id: str,
    unit_id: str,
    occurred_at: str,
    channel: str,
    customer_key: str,
    contact: str,
    staff: str,
    survey_id: str,
    as_json: bool,
) -> None:
    """Record one interaction; sampling and the contact budget decide on an invitation."""
    request = survey_pb.RecordInteractionRequest(
        interaction=survey_pb.Interaction(
            interaction_id=interaction_id,
            unit_id=unit_id,
            occurred_at=occurred_at,
            channel=channel,
            customer_key=customer_key,
            customer_contact=contact,
            staff_pseudonym=staff,
        ),
        survey_id=survey_id,
    )
    reply = unary(lambda s: s.survey.RecordInteraction, request)
    human = enum_label(survey_pb.InteractionDecision.DESCRIPTOR, reply.decision)
    if reply.suppression_reason:
        human += f" ({reply.suppression_reason})"
    if reply.duplicate:
        human += " - already recorded, nothing new written"
    emit(as_json, reply, human)


@click.command("invitations")
@click.option("--wave", "wave_id", default="")
@click.option("--survey", "survey_id", default="")
@click.option("--limit", type=int, default=50)
@json_option
def invitations(wave_id: str, survey_id: str, limit: int, as_json: bool) -> None:
    """Issued invitations (delivery facts only; never who answered)."""
    request = survey_pb.ListInvitationsRequest(wave_id=wave_id, survey_id=survey_id, limit=limit)
    reply = unary(lambda s: s.survey.ListInvitations, request)
    rows = (
        (
            i.invitation_id,
            i.survey_id,
            i.wave_id,
            i.channel,
            i.issued_at[:16],
            i.expires_at[:16],
            i.reminders_sent,
        )
        for i in reply.invitations
    )
    columns = ["invitation", "survey", "wave", "channel", "issued", "expires", "reminders"]
    emit(as_json, reply, table(f"invitations ({reply.total} in all)", columns, rows))
