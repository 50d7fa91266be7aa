"""``pulse followup``: customers who answered in the bottom box and asked to be contacted —
list a team's open follow-ups, close one with its outcome, count flagged/closed per period."""

from __future__ import annotations

import click
from pulse.response.v1 import response_service_pb2 as resp_pb

from pulse_cli.options import json_option, period_range_options
from pulse_cli.output import emit, table
from pulse_cli.rpc import unary


@click.group("followup")
def followup() -> None:
    """Detractor follow-ups of the teams (customers who asked to be contacted)."""


@followup.command("list")
@click.option("--unit", "unit_id", default="", help="Only this team (default: your scope).")
@click.option("--all", "include_closed", is_flag=True, help="Closed ones too.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
def list_follow_ups(unit_id: str, include_closed: bool, limit: int, as_json: bool) -> None:
    """Open follow-ups, newest first."""
    request = resp_pb.ListFollowUpsRequest(
        unit_id=unit_id, include_closed=include_closed, limit=limit
    )
    reply = unary(lambda s: s.response.ListFollowUps, request)
    rows = (
        (f.follow_up_id, f.unit_id, f.period, f"{f.construct} {f.score}", f.contact, f.status)
        for f in reply.follow_ups
    )
    columns = ["follow-up", "unit", "period", "answer", "contact", "status"]
    emit(as_json, reply, table("follow-ups", columns, rows))


@followup.command("close")
@click.argument("follow_up_id")
@click.option("--outcome", required=True, help="What came of it.")
@json_option
def close_follow_up(follow_up_id: str, outcome: str, as_json: bool) -> None:
    """Close a follow-up, recording its outcome."""
    request = resp_pb.CloseFollowUpRequest(follow_up_id=follow_up_id, outcome=outcome)
    reply = unary(lambda s: s.response.CloseFollowUp, request)
    emit(as_json, reply, f"closed {reply.follow_up.follow_up_id}: {reply.follow_up.outcome}")


@followup.command("counts")
@click.option("--unit", "unit_id", default="", help="Only this team (default: your scope).")
@period_range_options
@json_option
def count_follow_ups(unit_id: str, period_from: str, period_to: str, as_json: bool) -> None:
    """Follow-ups flagged and closed per period."""
    request = resp_pb.CountFollowUpsRequest(
        unit_id=unit_id, period_from=period_from, period_to=period_to
    )
    reply = unary(lambda s: s.response.CountFollowUps, request)
    rows = ((c.period, c.flagged, c.closed) for c in reply.counts)
    emit(as_json, reply, table("follow-ups per period", ["period", "flagged", "closed"], rows))
