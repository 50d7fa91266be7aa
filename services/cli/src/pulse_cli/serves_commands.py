"""``pulse org serves``: which front-line units a back-office unit serves (dated links)."""

from __future__ import annotations

import click
from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_cli.options import json_option
from pulse_cli.output import Human, emit, table
from pulse_cli.rpc import unary


@click.group()
def serves() -> None:
    """Internal customers: which units a (back-office) unit serves, dated."""


@serves.command("add")
@click.argument("serving_unit")
@click.argument("served_units", nargs=-1, required=True)
@click.option("--from", "valid_from", default="", help="First day (YYYY-MM-DD; today).")
@json_option
def add_serves(
    serving_unit: str, served_units: tuple[str, ...], valid_from: str, as_json: bool
) -> None:
    """SERVING_UNIT serves each of SERVED_UNITS from --from on."""
    links = []
    for served in served_units:
        request = survey_pb.SetServesRequest(
            serving_unit_id=serving_unit, served_unit_id=served, valid_from=valid_from
        )
        links.append(unary(lambda s: s.survey.SetServes, request).link)
    reply = survey_pb.ListServesResponse(links=links)
    emit(as_json, reply, _links_table(reply))


@serves.command("end")
@click.argument("serving_unit")
@click.argument("served_unit")
@click.option("--from", "valid_from", required=True, help="The link's first day (YYYY-MM-DD).")
@click.option("--on", "valid_to", required=True, help="First day it no longer holds.")
@json_option
def end_serves(
    serving_unit: str, served_unit: str, valid_from: str, valid_to: str, as_json: bool
) -> None:
    """End the link that started on --from: from --on SERVING_UNIT no longer serves SERVED_UNIT."""
    request = survey_pb.SetServesRequest(
        serving_unit_id=serving_unit,
        served_unit_id=served_unit,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    reply = unary(lambda s: s.survey.SetServes, request)
    emit(as_json, reply, _links_table(survey_pb.ListServesResponse(links=[reply.link])))


@serves.command("list")
@click.option("--as-of", default="", help="Links holding on this day (default: all, dated).")
@click.option("--serving", default="", help="Only this serving unit's links.")
@json_option
def list_serves(as_of: str, serving: str, as_json: bool) -> None:
    """The serves links (every one with its dates, or those holding on --as-of)."""
    request = survey_pb.ListServesRequest(as_of=as_of, serving_unit_id=serving)
    reply = unary(lambda s: s.survey.ListServes, request)
    emit(as_json, reply, _links_table(reply))


def _links_table(reply: survey_pb.ListServesResponse) -> Human:
    rows = (
        (x.serving_unit_id, x.served_unit_id, x.valid_from, x.valid_to or "(open)")
        for x in reply.links
    )
    return table("serves", ["serving", "served", "from", "until"], rows)
