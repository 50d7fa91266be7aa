"""gRPC edge of SurveyService: validate every field (naming it), translate proto <-> use
case, nothing else. Domain errors become status codes in the shared interceptor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse.types.v1 import types_pb2
from pulse_common.errors import InvalidArgument, ResourceExhausted

from pulse_survey import (
    domain,
    interactions,
    invitations,
    items,
    org,
    redemption,
    roster,
    surveys,
    waves,
)
from pulse_survey.context import Deps

Context = grpc.aio.ServicerContext[Any, Any]
WAVE_STATUS = {
    domain.SCHEDULED: pb.WAVE_STATUS_SCHEDULED,
    domain.OPEN: pb.WAVE_STATUS_OPEN,
    domain.CLOSED: pb.WAVE_STATUS_CLOSED,
}
STATUS_NAMES = {value: name for name, value in WAVE_STATUS.items()}
SURVEY_STATUS = {
    surveys.DRAFT: pb.SURVEY_STATUS_DRAFT,
    surveys.PUBLISHED: pb.SURVEY_STATUS_PUBLISHED,
}
MAX_LIST = 1000


def unit_message(unit: domain.UnitVersion) -> pb.Unit:
    return pb.Unit(
        unit_id=unit.unit_id,
        name=unit.name,
        parent_id=unit.parent_id,
        unit_type=pb.UnitType.ValueType(unit.unit_type),
        valid_from=unit.valid_from.isoformat(),
        valid_to=unit.valid_to.isoformat() if unit.valid_to else "",
        depth=unit.depth,
    )


def wave_message(wave: domain.Wave) -> pb.Wave:
    return pb.Wave(
        wave_id=wave.wave_id,
        survey_id=wave.survey_id,
        survey_version=wave.survey_version,
        audience_unit_id=wave.audience_unit_id,
        period=wave.period,
        opens_at=domain.rfc3339(domain.start_of(wave.opens_on)),
        closes_at=domain.rfc3339(domain.start_of(wave.closes_on)),
        status=WAVE_STATUS[wave.status],
        invited=wave.invited,
        cadence=pb.Cadence.ValueType(wave.cadence),
        rotation_items_per_person=wave.rotation,
    )


def item_message(item: items.BankItem) -> types_pb2.Item:
    spec = item.spec
    return types_pb2.Item(
        item_id=spec.item_id,
        construct=spec.construct,
        text=spec.text,
        language=spec.language,
        scale=types_pb2.Scale.ValueType(spec.scale),
        reverse_scored=spec.reverse_scored,
        required=spec.required,
        item_version=item.item_version,
    )


def summary_message(summary: surveys.Summary) -> pb.SurveySummary:
    return pb.SurveySummary(
        survey_id=summary.survey_id,
        name=summary.name,
        kind=types_pb2.SurveyKind.ValueType(summary.kind),
        status=SURVEY_STATUS[summary.status],
        latest_version=summary.latest_version,
    )


def grant_message(grant: redemption.Grant) -> pb.TokenGrant:
    return pb.TokenGrant(
        survey_id=grant.survey_id,
        survey_version=grant.survey_version,
        kind=types_pb2.SurveyKind.ValueType(grant.kind),
        unit_id=grant.unit_id,
        period=grant.period,
        wave_id=grant.wave_id,
        channel=grant.channel,
        item_ids=grant.item_ids,
        expires_at=grant.expires_at,
    )


def _enum(field: str, value: int, allowed: Any, required: bool = True) -> int:
    if value == 0 and not required:
        return 0
    if value not in allowed:
        raise InvalidArgument(field, "is required" if value == 0 else "has an unknown value")
    return value


UNIT_TYPES = (pb.UNIT_TYPE_FRONT_LINE, pb.UNIT_TYPE_BACK_OFFICE, pb.UNIT_TYPE_MANAGEMENT)
KINDS = (
    types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
)
CADENCES = (pb.CADENCE_ONCE, pb.CADENCE_WEEKLY, pb.CADENCE_FORTNIGHTLY, pb.CADENCE_MONTHLY)


def _optional_uuid(field: str, value: str) -> uuid.UUID | None:
    return waves.parse_wave_id(field, value) if value else None


class SurveyServicer(pb_grpc.SurveyServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- org ---------------------------------------------------------------------------

    async def CreateUnit(  # noqa: N802
        self, request: pb.CreateUnitRequest, context: Context
    ) -> pb.CreateUnitResponse:
        unit_id = domain.require_unit_id("unit_id", request.unit_id)
        name = domain.require_name("name", request.name)
        if request.parent_id:
            domain.require_unit_id("parent_id", request.parent_id)
            if request.parent_id == unit_id:
                raise InvalidArgument("parent_id", "cannot be the unit itself")
        unit_type = _enum("unit_type", request.unit_type, UNIT_TYPES)
        day = domain.parse_date("effective_from", request.effective_from, self.deps.today())
        unit = await org.create_unit(self.deps, unit_id, name, request.parent_id, unit_type, day)
        return pb.CreateUnitResponse(unit=unit_message(unit))

    async def UpdateUnit(  # noqa: N802
        self, request: pb.UpdateUnitRequest, context: Context
    ) -> pb.UpdateUnitResponse:
        unit_id = domain.require_unit_id("unit_id", request.unit_id)
        name = domain.require_name("name", request.name) if request.HasField("name") else None
        parent = request.parent_id if request.HasField("parent_id") else None
        if parent:
            domain.require_unit_id("parent_id", parent)
            if parent == unit_id:
                raise InvalidArgument("parent_id", "cannot be the unit itself")
        unit_type = (
            _enum("unit_type", request.unit_type, UNIT_TYPES)
            if request.HasField("unit_type")
            else None
        )
        day = domain.parse_date("effective_from", request.effective_from, self.deps.today())
        unit = await org.update_unit(self.deps, unit_id, name, parent, unit_type, day)
        return pb.UpdateUnitResponse(unit=unit_message(unit))

    async def MergeUnits(  # noqa: N802
        self, request: pb.MergeUnitsRequest, context: Context
    ) -> pb.MergeUnitsResponse:
        source = domain.require_unit_id("source_unit_id", request.source_unit_id)
        target = domain.require_unit_id("target_unit_id", request.target_unit_id)
        if source == target:
            raise InvalidArgument("target_unit_id", "must differ from source_unit_id")
        day = domain.parse_date("effective_from", request.effective_from, self.deps.today())
        unit, moved = await org.merge_units(self.deps, source, target, day)
        return pb.MergeUnitsResponse(target=unit_message(unit), people_moved=moved)

    async def ListUnits(  # noqa: N802
        self, request: pb.ListUnitsRequest, context: Context
    ) -> pb.ListUnitsResponse:
        day = domain.parse_date("as_of", request.as_of, self.deps.today())
        if request.root_unit_id:
            domain.require_unit_id("root_unit_id", request.root_unit_id)
        units = await org.list_units(self.deps, day, request.root_unit_id)
        return pb.ListUnitsResponse(units=[unit_message(u) for u in units])

    async def ImportRoster(  # noqa: N802
        self, request_iterator: AsyncIterator[pb.ImportRosterRequest], context: Context
    ) -> pb.ImportRosterResponse:
        options: roster.RosterOptions | None = None
        rows: list[roster.RawRow] = []
        async for message in request_iterator:
            which = message.WhichOneof("message")
            if which == "options":
                if options is not None or rows:
                    raise InvalidArgument("options", "must come once, in the first message")
                o = message.options
                options = roster.RosterOptions(
                    as_of=domain.parse_date("options.as_of", o.as_of, self.deps.today()),
                    force=o.force,
                    dry_run=o.dry_run,
                    full_sync=o.full_sync,
                )
            elif which == "row":
                if options is None:
                    raise InvalidArgument("options", "must be the first message")
                if len(rows) >= roster.MAX_ROWS:
                    raise ResourceExhausted(f"a roster import takes at most {roster.MAX_ROWS} rows")
                r = message.row
                rows.append(
                    roster.RawRow(
                        line=r.line or len(rows) + 1,
                        employee_id=r.employee_id,
                        email=r.email,
                        unit_id=r.unit_id,
                        start_date=r.start_date,
                        end_date=r.end_date,
                    )
                )
            else:
                raise InvalidArgument("message", "each message carries options or a row")
        if options is None:
            raise InvalidArgument("options", "must be the first message")
        result = await roster.import_roster(self.deps, options, rows)
        return pb.ImportRosterResponse(
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            deactivated=result.deactivated,
            rejected=[
                pb.RejectedRow(line=r.line, field=r.field, reason=r.reason) for r in result.rejected
            ],
            dry_run=result.dry_run,
        )

    # -- item bank -----------------------------------------------------------------------

    async def ListItems(  # noqa: N802
        self, request: pb.ListItemsRequest, context: Context
    ) -> pb.ListItemsResponse:
        kind = _enum("kind", request.kind, KINDS, required=False)
        found = await items.list_items(self.deps, request.construct, request.language, kind)
        return pb.ListItemsResponse(items=[item_message(i) for i in found])

    async def CreateItem(  # noqa: N802
        self, request: pb.CreateItemRequest, context: Context
    ) -> pb.CreateItemResponse:
        if not request.HasField("item"):
            raise InvalidArgument("item", "is required")
        i = request.item
        spec = domain.ItemSpec(
            item_id=i.item_id,
            construct=i.construct,
            text=i.text.strip(),
            language=i.language or "en",
            scale=int(i.scale),
            reverse_scored=i.reverse_scored,
            required=i.required,
        )
        return pb.CreateItemResponse(item=item_message(await items.create_item(self.deps, spec)))

    # -- surveys ------------------------------------------------------------------------

    async def CreateSurvey(  # noqa: N802
        self, request: pb.CreateSurveyRequest, context: Context
    ) -> pb.CreateSurveyResponse:
        name = domain.require_name("name", request.name)
        kind = _enum("kind", request.kind, KINDS)
        item_ids = list(request.item_ids)
        if not item_ids:
            raise InvalidArgument("item_ids", "needs at least one item")
        if len(set(item_ids)) != len(item_ids):
            raise InvalidArgument("item_ids", "must not repeat an item")
        if request.min_group_size < 0 or request.min_comment_group_size < 0:
            raise InvalidArgument("min_group_size", "must not be negative")
        language = request.language or "en"
        if not domain.LANGUAGE.match(language):
            raise InvalidArgument("language", "must be a BCP 47 tag such as en or de-CH")
        if request.rated_unit_id:
            domain.require_unit_id("rated_unit_id", request.rated_unit_id)
        survey_id = (
            surveys.parse_survey_id("survey_id", request.survey_id) if request.survey_id else ""
        )
        k = request.min_group_size or self.deps.settings.min_group_size
        draft = surveys.SurveyDraft(
            name=name,
            kind=kind,
            item_ids=item_ids,
            min_group_size=k,
            min_comment_group_size=request.min_comment_group_size
            or max(k, self.deps.settings.min_comment_group_size),
            language=language,
            rated_unit_id=request.rated_unit_id,
            survey_id=survey_id,
        )
        summary = await surveys.create_survey(self.deps, draft)
        return pb.CreateSurveyResponse(survey=summary_message(summary))

    async def PublishSurvey(  # noqa: N802
        self, request: pb.PublishSurveyRequest, context: Context
    ) -> pb.PublishSurveyResponse:
        survey_id = surveys.parse_survey_id("survey_id", request.survey_id)
        definition = await surveys.publish_survey(self.deps, survey_id)
        return pb.PublishSurveyResponse(definition=definition)

    async def GetSurvey(  # noqa: N802
        self, request: pb.GetSurveyRequest, context: Context
    ) -> pb.GetSurveyResponse:
        survey_id = surveys.parse_survey_id("survey_id", request.survey_id)
        if request.version < 0:
            raise InvalidArgument("version", "must not be negative")
        definition, status = await surveys.get_survey(self.deps, survey_id, request.version)
        return pb.GetSurveyResponse(definition=definition, status=SURVEY_STATUS[status])

    async def ListSurveys(  # noqa: N802
        self, request: pb.ListSurveysRequest, context: Context
    ) -> pb.ListSurveysResponse:
        kind = _enum("kind", request.kind, KINDS, required=False)
        found = await surveys.list_surveys(self.deps, kind)
        return pb.ListSurveysResponse(surveys=[summary_message(s) for s in found])

    # -- waves --------------------------------------------------------------------------

    async def ScheduleWave(  # noqa: N802
        self, request: pb.ScheduleWaveRequest, context: Context
    ) -> pb.ScheduleWaveResponse:
        survey_id = surveys.parse_survey_id("survey_id", request.survey_id)
        audience = domain.require_unit_id("audience_unit_id", request.audience_unit_id)
        cadence = _enum("cadence", request.cadence, CADENCES)
        first = domain.parse_date("first_opens_on", request.first_opens_on)
        if not 1 <= request.count <= 60:
            raise InvalidArgument("count", "must be between 1 and 60")
        if not 1 <= request.open_days <= 90:
            raise InvalidArgument("open_days", "must be between 1 and 90")
        if request.rotation_items_per_person < 0:
            raise InvalidArgument("rotation_items_per_person", "must not be negative")
        scheduled = await waves.schedule(
            self.deps,
            waves.ScheduleRequest(
                survey_id=survey_id,
                audience_unit_id=audience,
                cadence=cadence,
                first_opens_on=first,
                count=request.count,
                open_days=request.open_days,
                rotation=request.rotation_items_per_person,
            ),
        )
        return pb.ScheduleWaveResponse(waves=[wave_message(w) for w in scheduled])

    async def OpenWave(  # noqa: N802
        self, request: pb.OpenWaveRequest, context: Context
    ) -> pb.OpenWaveResponse:
        wave_id = waves.parse_wave_id("wave_id", request.wave_id)
        opened = await waves.open_wave(self.deps, wave_id)
        return pb.OpenWaveResponse(
            wave=wave_message(opened.wave),
            invitations_issued=opened.issued,
            suppressed_by_contact_budget=opened.suppressed,
        )

    async def CloseWave(  # noqa: N802
        self, request: pb.CloseWaveRequest, context: Context
    ) -> pb.CloseWaveResponse:
        wave_id = waves.parse_wave_id("wave_id", request.wave_id)
        return pb.CloseWaveResponse(wave=wave_message(await waves.close_wave(self.deps, wave_id)))

    async def ListWaves(  # noqa: N802
        self, request: pb.ListWavesRequest, context: Context
    ) -> pb.ListWavesResponse:
        survey_id = (
            surveys.parse_survey_id("survey_id", request.survey_id) if request.survey_id else ""
        )
        status = ""
        if request.status:
            _enum("status", request.status, tuple(STATUS_NAMES))
            status = STATUS_NAMES[request.status]
        found = await waves.list_waves(self.deps, survey_id, status)
        return pb.ListWavesResponse(waves=[wave_message(w) for w in found])

    async def SendReminders(  # noqa: N802
        self, request: pb.SendRemindersRequest, context: Context
    ) -> pb.SendRemindersResponse:
        wave_id = waves.parse_wave_id("wave_id", request.wave_id)
        return pb.SendRemindersResponse(
            reminders_sent=await waves.send_reminders(self.deps, wave_id)
        )

    async def GetResponseRates(  # noqa: N802
        self, request: pb.GetResponseRatesRequest, context: Context
    ) -> pb.GetResponseRatesResponse:
        """Per-unit participation of a wave, released only for units where at least k people
        were invited (k locked at opening); smaller units come back suppressed with zeros.
        ``responded`` counts redeemed tokens. The full rule is ``domain.response_rates``."""
        wave_id = waves.parse_wave_id("wave_id", request.wave_id)
        scope = request.viewer.scope_unit_id
        if scope:
            domain.require_unit_id("viewer.scope_unit_id", scope)
        rates, k = await waves.response_rates(self.deps, wave_id, scope)
        return pb.GetResponseRatesResponse(
            rates=[
                pb.ResponseRate(
                    unit_id=r.unit_id,
                    invited=r.invited,
                    responded=r.responded,
                    rate=r.rate,
                    suppressed=r.suppressed,
                    suppression_reason=r.reason,
                )
                for r in rates
            ],
            min_group_size=k,
        )

    # -- customer interactions ------------------------------------------------------------

    async def RecordInteraction(  # noqa: N802
        self, request: pb.RecordInteractionRequest, context: Context
    ) -> pb.RecordInteractionResponse:
        if not request.HasField("interaction"):
            raise InvalidArgument("interaction", "is required")
        i = request.interaction
        interaction = interactions.parse_interaction(
            "interaction.",
            i.interaction_id,
            i.unit_id,
            i.occurred_at,
            i.channel,
            i.customer_key,
            i.customer_contact,
        )
        survey_id = (
            surveys.parse_survey_id("survey_id", request.survey_id) if request.survey_id else ""
        )
        decision = await interactions.record_interaction(self.deps, interaction, survey_id)
        return pb.RecordInteractionResponse(
            decision=pb.InteractionDecision.ValueType(decision.decision),
            suppression_reason=decision.reason,
            invitation_id=decision.invitation_id,
            duplicate=decision.duplicate,
        )

    async def ListInvitations(  # noqa: N802
        self, request: pb.ListInvitationsRequest, context: Context
    ) -> pb.ListInvitationsResponse:
        """Delivery facts only: no person, no contact, no token, nothing that changes when
        an invitation is redeemed (``reminders_sent`` is the wave's count of reminder rounds)."""
        wave_id = _optional_uuid("wave_id", request.wave_id)
        survey_id = (
            uuid.UUID(surveys.parse_survey_id("survey_id", request.survey_id))
            if request.survey_id
            else None
        )
        if not 0 <= request.limit <= MAX_LIST:
            raise InvalidArgument("limit", f"must be between 0 and {MAX_LIST}")
        rows, total = await invitations.list_invitations(
            self.deps, wave_id, survey_id, request.limit or 100
        )
        return pb.ListInvitationsResponse(
            invitations=[
                pb.InvitationSummary(
                    invitation_id=str(r["invitation_id"]),
                    survey_id=str(r["survey_id"]),
                    wave_id=str(r["wave_id"]) if r["wave_id"] else "",
                    channel=r["channel"],
                    issued_at=domain.rfc3339(r["issued_at"]),
                    expires_at=domain.rfc3339(r["expires_at"]),
                    reminders_sent=r["reminders_sent"],
                )
                for r in rows
            ],
            total=total,
        )

    # -- tokens ---------------------------------------------------------------------------

    async def InspectToken(  # noqa: N802
        self, request: pb.InspectTokenRequest, context: Context
    ) -> pb.InspectTokenResponse:
        grant = await redemption.inspect(self.deps, request.token)
        return pb.InspectTokenResponse(grant=grant_message(grant))

    async def RedeemToken(  # noqa: N802
        self, request: pb.RedeemTokenRequest, context: Context
    ) -> pb.RedeemTokenResponse:
        key = request.redemption_key
        if not 8 <= len(key) <= 200:
            raise InvalidArgument("redemption_key", "must be 8-200 characters (reuse it on retry)")
        grant = await redemption.redeem(self.deps, request.token, key)
        return pb.RedeemTokenResponse(grant=grant_message(grant))
