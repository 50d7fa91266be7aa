"""``pulse action``: record what was done about a unit's measure, list the actions, and show
one with its before/after and the comparison with units without an action."""

from __future__ import annotations

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER_OUTCOMES, OUTCOMES, PREDICTORS

from pulse_cli.options import json_option
from pulse_cli.output import emit, print_table, table
from pulse_cli.rpc import unary


@click.group()
def action() -> None:
    """Actions on what the data says, and whether the measure moved afterwards."""


@action.command("add")
@click.option("--unit", "unit_id", required=True, help="The unit acted for.")
@click.option(
    "--measure",
    type=click.Choice([*PREDICTORS, *OUTCOMES]),
    required=True,
    help="What it aims to move.",
)
@click.option("--title", required=True, help="What is done.")
@click.option("--owner", required=True, help="Who owns it.")
@click.option("--start", "start_date", default="", help="First day (YYYY-MM-DD; today).")
@click.option(
    "--outcome",
    type=click.Choice(CUSTOMER_OUTCOMES),
    default="csat",
    show_default=True,
    help="Customer outcome watched one and two periods later.",
)
@json_option
def add_action(
    unit_id: str, measure: str, title: str, owner: str, start_date: str, outcome: str, as_json: bool
) -> None:
    """Record an action for a unit and a measure."""
    request = corr_pb.AddActionRequest(
        unit_id=unit_id,
        measure=measure,
        title=title,
        owner=owner,
        start_date=start_date,
        outcome=outcome,
    )
    reply = unary(lambda s: s.correlation.AddAction, request)
    a = reply.action
    emit(
        as_json,
        reply,
        f"action {a.action_id}: {a.title} ({a.unit_id}, {a.measure}, from {a.start_date})",
    )


@action.command("list")
@click.option("--unit", "unit_id", default="", help="Only this unit's actions.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
def list_actions(unit_id: str, limit: int, as_json: bool) -> None:
    """Actions, newest start first."""
    reply = unary(
        lambda s: s.correlation.ListActions,
        corr_pb.ListActionsRequest(unit_id=unit_id, limit=limit),
    )
    rows = (
        (a.action_id, a.unit_id, a.measure, a.start_date, a.owner, a.title) for a in reply.actions
    )
    emit(
        as_json,
        reply,
        table("actions", ["action", "unit", "measure", "start", "owner", "title"], rows),
    )


def print_action(reply: corr_pb.GetActionResponse) -> None:
    a = reply.action
    click.echo(f"action {a.action_id}: {a.title}")
    click.echo(
        f"unit {a.unit_id}, measure {a.measure}, owner {a.owner}, started {a.start_date}"
        f" (period {reply.start_period}); k = {reply.min_group_size}"
    )
    print_table(
        f"{a.measure} in {a.unit_id} (cells of at least k people)",
        ["period", "value", "n"],
        ((p.period, f"{p.value:.1f}", p.n) for p in reply.measure_points),
    )
    for c in reply.comparisons:
        click.echo(f"\n{c.measure}{' ' + c.when + ' period' if c.when else ''}: {c.text}")


@action.command("show")
@click.argument("action_id")
@click.option("--window", type=int, default=3, show_default=True, help="Periods before/after.")
@json_option
def show_action(action_id: str, window: int, as_json: bool) -> None:
    """An action with its before/after and the comparison with units without one."""
    reply = unary(
        lambda s: s.correlation.GetAction,
        corr_pb.GetActionRequest(action_id=action_id, window=window),
    )
    emit(as_json, reply, lambda: print_action(reply))
