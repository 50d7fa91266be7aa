"""gRPC edge of the org and the roster: CreateUnit, UpdateUnit, MergeUnits, ListUnits and
the streamed ImportRoster. Checks the fields (naming them), calls ``org`` / ``roster``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.auth import current_caller
from pulse_common.errors import InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from pulse_common.fields import parse_date, require_name, require_unit_id
from pulse_common.scope import outside_scope

from pulse_survey import org, roster
from pulse_survey.domain import UnitVersion
from pulse_survey.grpc_fields import AreaServicer, Context, require_enum
from pulse_survey.roster_plan import MAX_ROWS, RawRow

UNIT_TYPES = (pb.UNIT_TYPE_FRONT_LINE, pb.UNIT_TYPE_BACK_OFFICE, pb.UNIT_TYPE_MANAGEMENT)


def unit_message(unit: UnitVersion) -> pb.Unit:
    return pb.Unit(
        unit_id=unit.unit_id,
        name=unit.name,
        parent_id=unit.parent_id,
        unit_type=pb.UnitType.ValueType(unit.unit_type),
        valid_from=unit.valid_from.isoformat(),
        valid_to=unit.valid_to.isoformat() if unit.valid_to else "",
        depth=unit.depth,
    )


def _parent(unit_id: str, parent_id: str) -> str:
    """A parent id ("" = a root), never the unit itself."""
    if parent_id:
        require_unit_id("parent_id", parent_id)
        if parent_id == unit_id:
            raise InvalidArgument("parent_id", "cannot be the unit itself")
    return parent_id


class _RosterStream:
    """The messages of one ImportRoster call: options first, then rows."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.options: roster.RosterOptions | None = None
        self.rows: list[RawRow] = []

    def add(self, message: pb.ImportRosterRequest) -> None:
        which = message.WhichOneof("message")
        if which == "options":
            if self.options is not None or self.rows:
                raise InvalidArgument("options", "must come once, in the first message")
            o = message.options
            self.options = roster.RosterOptions(
                as_of=parse_date("options.as_of", o.as_of, self.today),
                force=o.force,
                dry_run=o.dry_run,
                full_sync=o.full_sync,
            )
        elif which == "row":
            if self.options is None:
                raise InvalidArgument("options", "must be the first message")
            if len(self.rows) >= MAX_ROWS:
                raise ResourceExhausted(f"a roster import takes at most {MAX_ROWS} rows")
            r = message.row
            self.rows.append(
                RawRow(
                    line=r.line or len(self.rows) + 1,
                    employee_id=r.employee_id,
                    email=r.email,
                    unit_id=r.unit_id,
                    start_date=r.start_date,
                    end_date=r.end_date,
                    language=r.language,
                )
            )
        else:
            raise InvalidArgument("message", "each message carries options or a row")


class OrgServicer(AreaServicer):
    async def CreateUnit(  # noqa: N802
        self, request: pb.CreateUnitRequest, context: Context
    ) -> pb.CreateUnitResponse:
        unit_id = require_unit_id("unit_id", request.unit_id)
        name = require_name("name", request.name)
        parent_id = _parent(unit_id, request.parent_id)
        unit_type = require_enum("unit_type", request.unit_type, UNIT_TYPES)
        day = parse_date("effective_from", request.effective_from, self.deps.today())
        unit = await org.create_unit(self.deps, unit_id, name, parent_id, unit_type, day)
        return pb.CreateUnitResponse(unit=unit_message(unit))

    async def UpdateUnit(  # noqa: N802
        self, request: pb.UpdateUnitRequest, context: Context
    ) -> pb.UpdateUnitResponse:
        unit_id = require_unit_id("unit_id", request.unit_id)
        name = require_name("name", request.name) if request.HasField("name") else None
        parent = _parent(unit_id, request.parent_id) if request.HasField("parent_id") else None
        unit_type = (
            require_enum("unit_type", request.unit_type, UNIT_TYPES)
            if request.HasField("unit_type")
            else None
        )
        day = parse_date("effective_from", request.effective_from, self.deps.today())
        unit = await org.update_unit(self.deps, unit_id, name, parent, unit_type, day)
        return pb.UpdateUnitResponse(unit=unit_message(unit))

    async def MergeUnits(  # noqa: N802
        self, request: pb.MergeUnitsRequest, context: Context
    ) -> pb.MergeUnitsResponse:
        source = require_unit_id("source_unit_id", request.source_unit_id)
        target = require_unit_id("target_unit_id", request.target_unit_id)
        if source == target:
            raise InvalidArgument("target_unit_id", "must differ from source_unit_id")
        day = parse_date("effective_from", request.effective_from, self.deps.today())
        unit, moved = await org.merge_units(self.deps, source, target, day)
        return pb.MergeUnitsResponse(target=unit_message(unit), people_moved=moved)

    async def ListUnits(  # noqa: N802
        self, request: pb.ListUnitsRequest, context: Context
    ) -> pb.ListUnitsResponse:
        """The org (or the subtree of ``root_unit_id``) within the caller's scope: an empty
        root is the caller's scope, a root outside it is PERMISSION_DENIED."""
        day = parse_date("as_of", request.as_of, self.deps.today())
        if request.root_unit_id:
            require_unit_id("root_unit_id", request.root_unit_id)
        scope = current_caller().scope
        root = request.root_unit_id or scope
        if scope and root != scope:
            try:
                visible = await org.list_units(self.deps, day, scope)
            except NotFound:
                raise PermissionDenied(f"your scope {scope} is not a unit of the org") from None
            if root not in {unit.unit_id for unit in visible}:
                raise outside_scope(root, scope)
        units = await org.list_units(self.deps, day, root)
        return pb.ListUnitsResponse(units=[unit_message(u) for u in units])

    async def ImportRoster(  # noqa: N802
        self, request_iterator: AsyncIterator[pb.ImportRosterRequest], context: Context
    ) -> pb.ImportRosterResponse:
        stream = _RosterStream(self.deps.today())
        async for message in request_iterator:
            stream.add(message)
        if stream.options is None:
            raise InvalidArgument("options", "must be the first message")
        result = await roster.import_roster(self.deps, stream.options, stream.rows)
        plan = result.plan
        return pb.ImportRosterResponse(
            created=plan.created,
            updated=plan.updated,
            unchanged=plan.unchanged,
            deactivated=len(plan.deactivate),
            rejected=[
                pb.RejectedRow(line=r.line, field=r.field, reason=r.reason) for r in result.rejected
            ],
            dry_run=result.dry_run,
        )
