"""gRPC edge of internal customers: SetServes and ListServes (the dated "serves" links)."""

from __future__ import annotations

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.fields import parse_date, require_unit_id

from pulse_survey import serves
from pulse_survey.grpc_fields import AreaServicer, Context
from pulse_survey.serves_link import ServesLink


def link_message(link: ServesLink) -> pb.ServesLink:
    return pb.ServesLink(
        serving_unit_id=link.serving_unit_id,
        served_unit_id=link.served_unit_id,
        valid_from=link.valid_from.isoformat(),
        valid_to=link.valid_to.isoformat() if link.valid_to else "",
    )


class ServesServicer(AreaServicer):
    async def SetServes(  # noqa: N802
        self, request: pb.SetServesRequest, context: Context
    ) -> pb.SetServesResponse:
        link = ServesLink(
            serving_unit_id=require_unit_id("serving_unit_id", request.serving_unit_id),
            served_unit_id=require_unit_id("served_unit_id", request.served_unit_id),
            valid_from=parse_date("valid_from", request.valid_from, self.deps.today()),
            valid_to=parse_date("valid_to", request.valid_to) if request.valid_to else None,
        )
        return pb.SetServesResponse(link=link_message(await serves.set_serves(self.deps, link)))

    async def ListServes(  # noqa: N802
        self, request: pb.ListServesRequest, context: Context
    ) -> pb.ListServesResponse:
        as_of = parse_date("as_of", request.as_of) if request.as_of else None
        serving = request.serving_unit_id
        if serving:
            require_unit_id("serving_unit_id", serving)
        links = await serves.list_serves(self.deps, as_of, serving)
        return pb.ListServesResponse(links=[link_message(link) for link in links])
