"""Who can call what: every RPC of the three services, called with no identity and with
every role, whole-organisation, in scope and out of scope, on the real services (mutual
TLS, caller tokens, the real org tree). No identity is UNAUTHENTICATED, a role without the
right PERMISSION_DENIED, on every RPC; scoped reads answer in scope and refuse (or leave
out) units outside it; nothing takes a viewer or a scope from the request body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf.message import Message
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common import auth
from pulse_common.config import Settings
from pulse_common.rpc_roles import POLICY, RULES, Rule
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing import survey as survey_kit
from pulse_testing.correlation import eventually
from pulse_testing.response import employee_answers, invitation_tokens
from pulse_testing.security import caller, tools_channel
from pulse_testing.stack import inprocess_stack

DESCRIPTORS = {
    "pulse.survey.v1.SurveyService": survey_pb.DESCRIPTOR.services_by_name["SurveyService"],
    "pulse.response.v1.ResponseService": resp_pb.DESCRIPTOR.services_by_name["ResponseService"],
    "pulse.correlation.v1.CorrelationService": corr_pb.DESCRIPTOR.services_by_name[
        "CorrelationService"
    ],
}
SCOPES = ("", "north", "south")  # whole org; a subtree holding n1; one that does not
REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
HISTORY = "2025-11"
NORTH = {"north", "n1", "n2"}


@dataclass
class World:
    survey_id: str = ""
    wave_id: str = ""
    token: str = ""


Build = Callable[[World], Any]
# What a scoped RPC does for a caller whose scope does not hold the unit asked about:
# "denied" (PERMISSION_DENIED), "hidden" (PERMISSION_DENIED or NOT_FOUND: an id that could
# be anybody's), "narrowed" (answers, without the units outside the scope) or "same" (the
# request names no unit).
OutOfScope = str


@dataclass(frozen=True)
class Call:
    build: Build
    out_of_scope: OutOfScope = "same"
    units: Callable[[Any], set[str]] = field(default=lambda reply: set())


def _rates_units(reply: Any) -> set[str]:
    return {rate.unit_id for rate in reply.rates}


def _count_units(reply: Any) -> set[str]:
    return {count.unit_id for count in reply.counts}


def _none(world: World) -> None:
    return None  # a client stream with no message at all


def _fresh_id(world: World) -> str:
    return str(uuid.uuid4())


NO_RESAMPLES = corr_pb.LinkageOptions(bootstrap_resamples=0, permutation_resamples=0)

CALLS: dict[str, dict[str, Call]] = {
    "pulse.survey.v1.SurveyService": {
        "CreateUnit": Call(lambda w: survey_pb.CreateUnitRequest()),
        "UpdateUnit": Call(lambda w: survey_pb.UpdateUnitRequest()),
        "MergeUnits": Call(lambda w: survey_pb.MergeUnitsRequest()),
        "ListUnits": Call(lambda w: survey_pb.ListUnitsRequest(root_unit_id="n1"), "denied"),
        "ImportRoster": Call(_none),
        "SetServes": Call(lambda w: survey_pb.SetServesRequest()),
        "ListServes": Call(lambda w: survey_pb.ListServesRequest()),
        "ListItems": Call(lambda w: survey_pb.ListItemsRequest()),
        "CreateItem": Call(lambda w: survey_pb.CreateItemRequest()),
        "CreateSurvey": Call(lambda w: survey_pb.CreateSurveyRequest()),
        "PublishSurvey": Call(lambda w: survey_pb.PublishSurveyRequest()),
        "GetSurvey": Call(lambda w: survey_pb.GetSurveyRequest(survey_id=w.survey_id)),
        "ListSurveys": Call(lambda w: survey_pb.ListSurveysRequest()),
        "ScheduleWave": Call(lambda w: survey_pb.ScheduleWaveRequest()),
        "OpenWave": Call(lambda w: survey_pb.OpenWaveRequest()),
        "BackfillWave": Call(lambda w: survey_pb.BackfillWaveRequest()),
        "CloseWave": Call(lambda w: survey_pb.CloseWaveRequest()),
        "ListWaves": Call(lambda w: survey_pb.ListWavesRequest()),
        "SendReminders": Call(lambda w: survey_pb.SendRemindersRequest()),
        "GetResponseRates": Call(
            lambda w: survey_pb.GetResponseRatesRequest(wave_id=w.wave_id),
            "narrowed",
            _rates_units,
        ),
        "RecordInteraction": Call(lambda w: survey_pb.RecordInteractionRequest()),
        "ListInvitations": Call(lambda w: survey_pb.ListInvitationsRequest()),
        "InspectToken": Call(lambda w: survey_pb.InspectTokenRequest(token=w.token)),
        # A key too short to redeem with: refused before the token is touched.
        "RedeemToken": Call(lambda w: survey_pb.RedeemTokenRequest(token=w.token)),
        "RedeemTokens": Call(
            lambda w: survey_pb.RedeemTokensRequest(
                redemptions=[survey_pb.RedeemTokenRequest(token=w.token)]
            )
        ),
    },
    "pulse.response.v1.ResponseService": {
        "GetForm": Call(lambda w: resp_pb.GetFormRequest(token=w.token)),
        "Submit": Call(lambda w: resp_pb.SubmitRequest(token=w.token)),
        "ImportResponses": Call(_none),
        "ListImports": Call(lambda w: resp_pb.ListImportsRequest()),
        "CountResponses": Call(
            lambda w: resp_pb.CountResponsesRequest(survey_id=w.survey_id, period=HISTORY),
            "narrowed",
            _count_units,
        ),
        "ListComments": Call(
            lambda w: resp_pb.ListCommentsRequest(
                unit_id="n1", period=HISTORY, survey_id=w.survey_id
            ),
            "denied",
        ),
        "ListRecognition": Call(
            lambda w: resp_pb.ListRecognitionRequest(
                unit_id="n1", period_from=HISTORY, period_to=HISTORY
            ),
            "denied",
        ),
        "ModerateRecognition": Call(
            lambda w: resp_pb.ModerateRecognitionRequest(
                entry_id=_fresh_id(w), status=resp_pb.RECOGNITION_STATUS_APPROVED
            ),
            "hidden",
        ),
        "ListFollowUps": Call(lambda w: resp_pb.ListFollowUpsRequest(unit_id="n1"), "denied"),
        "CloseFollowUp": Call(
            lambda w: resp_pb.CloseFollowUpRequest(follow_up_id=_fresh_id(w), outcome="done"),
            "hidden",
        ),
        "CountFollowUps": Call(lambda w: resp_pb.CountFollowUpsRequest(unit_id="n1"), "denied"),
    },
    "pulse.correlation.v1.CorrelationService": {
        "GetIngestionStats": Call(lambda w: corr_pb.GetIngestionStatsRequest()),
        "GetScores": Call(lambda w: corr_pb.GetScoresRequest(scope_unit_id="n1"), "denied"),
        "GetTrends": Call(
            lambda w: corr_pb.GetTrendsRequest(unit_id="n1", construct="treatment.fairness"),
            "denied",
        ),
        "GetDashboard": Call(lambda w: corr_pb.GetDashboardRequest(unit_id="n1"), "denied"),
        "RunLinkageReport": Call(
            lambda w: corr_pb.RunLinkageReportRequest(
                scope_unit_id="n1", outcome="csat", options=NO_RESAMPLES
            ),
            "denied",
        ),
        "GetReport": Call(lambda w: corr_pb.GetReportRequest(report_id=_fresh_id(w))),
        "ListReports": Call(lambda w: corr_pb.ListReportsRequest()),
        "ExportReport": Call(
            lambda w: corr_pb.ExportReportRequest(
                report_id=_fresh_id(w), format=corr_pb.EXPORT_FORMAT_JSON
            )
        ),
        "RunChainReport": Call(
            lambda w: corr_pb.RunChainReportRequest(options=NO_RESAMPLES, max_lag=0)
        ),
        "GetChainReport": Call(lambda w: corr_pb.GetChainReportRequest(report_id=_fresh_id(w))),
        "ListChainReports": Call(lambda w: corr_pb.ListChainReportsRequest()),
        "AddAction": Call(lambda w: corr_pb.AddActionRequest()),
        "ListActions": Call(lambda w: corr_pb.ListActionsRequest()),
        "GetAction": Call(lambda w: corr_pb.GetActionRequest(action_id=_fresh_id(w))),
    },
}


def make_stubs(channels: list[grpc.aio.Channel]) -> dict[str, Any]:
    survey, response, correlation = channels
    return {
        "pulse.survey.v1.SurveyService": survey_grpc.SurveyServiceStub(survey),
        "pulse.response.v1.ResponseService": resp_grpc.ResponseServiceStub(response),
        "pulse.correlation.v1.CorrelationService": corr_grpc.CorrelationServiceStub(correlation),
    }


def expected(rule: Rule, role: str | None, scope: str, call: Call) -> str:
    """ "unauthenticated", "denied", "allowed", or the call's out-of-scope behaviour."""
    if role is None:
        return "unauthenticated"
    if role not in rule.roles:
        return "denied"
    if not rule.scoped:
        return "allowed" if not scope else "denied"
    return call.out_of_scope if scope == "south" else "allowed"


def test_every_rpc_has_a_rule_and_a_row_in_this_table() -> None:
    for service, descriptor in DESCRIPTORS.items():
        methods = {method.name for method in descriptor.methods}
        assert set(RULES[service]) == methods, service
        assert set(CALLS[service]) == methods, service
    assert len(POLICY) == sum(len(d.methods) for d in DESCRIPTORS.values())


def test_no_request_carries_a_viewer_or_a_scope_claim() -> None:
    """Identity and scope come from the token only. The only request fields that mention a
    scope are narrowing filters, checked against the token's scope (the table below calls
    each out of scope and sees it refused)."""
    assert "Viewer" not in types_pb2.DESCRIPTOR.message_types_by_name
    narrowing = set()
    for descriptor in DESCRIPTORS.values():
        for method in descriptor.methods:
            request = method.input_type
            for message in (request, *request.nested_types):
                for f in message.fields:
                    assert "viewer" not in f.name, (method.name, f.name)
                    assert f.message_type is None or f.message_type.name != "Viewer"
                    if "scope" in f.name:
                        narrowing.add(f"{method.name}.{f.name}")
    assert narrowing <= {
        "GetScores.scope_unit_id",
        "RunLinkageReport.scope_unit_id",
        "RunChainReport.scope_unit_id",
    }


async def seed(stubs: dict[str, Any], nats_url: str) -> World:
    survey = stubs["pulse.survey.v1.SurveyService"]
    # root > north > {n1, n2}, south, since before HISTORY (imports check the org of the period)
    await survey_kit.make_org(survey, since=date(2025, 1, 1))
    await survey_kit.import_roster(survey, survey_kit.rows({"n1": 2, "south": 2}))
    definition = await survey_kit.published_survey(survey)
    opened = await survey_kit.open_wave(survey, definition.survey_id)
    tokens = await invitation_tokens(nats_url, 4)
    world = World(definition.survey_id, opened.wave.wave_id, tokens[0])

    async def history() -> AsyncIterator[resp_pb.ImportResponsesRequest]:
        yield resp_pb.ImportResponsesRequest(
            header=resp_pb.ImportHeader(
                survey_id=definition.survey_id, survey_version=definition.version
            )
        )
        for line, unit in enumerate(("n1", "south"), start=2):
            row = resp_pb.ImportRow(
                line=line,
                unit_id=unit,
                period=HISTORY,
                kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                answers=employee_answers(),
            )
            yield resp_pb.ImportResponsesRequest(row=row)

    imported = await stubs["pulse.response.v1.ResponseService"].ImportResponses(history())
    assert imported.accepted == 2, imported
    correlation = stubs["pulse.correlation.v1.CorrelationService"]

    async def org_known() -> bool:
        stats = await correlation.GetIngestionStats(corr_pb.GetIngestionStatsRequest())
        return bool(stats.units_known >= 5)

    await eventually(org_known)
    return world


async def call_as(
    stub: Any, method: str, request: Message | None, metadata: Any
) -> tuple[grpc.StatusCode, str, Any]:
    callable_ = getattr(stub, method)
    try:
        if request is None:

            async def nothing() -> AsyncIterator[Message]:
                return
                yield

            reply = await callable_(nothing(), metadata=metadata, timeout=30)
        else:
            reply = await callable_(request, metadata=metadata, timeout=30)
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or "", None
    return grpc.StatusCode.OK, "", reply


def verdict(outcome: str, code: grpc.StatusCode, units: set[str], scope: str) -> bool:
    if outcome == "unauthenticated":
        return code == grpc.StatusCode.UNAUTHENTICATED
    if outcome == "denied":
        return code == grpc.StatusCode.PERMISSION_DENIED
    if outcome == "hidden":
        return code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)
    if code in REFUSALS:
        return False
    if outcome == "narrowed":
        return code == grpc.StatusCode.OK and units <= {"south"}
    if scope == "north" and code == grpc.StatusCode.OK:
        return units <= NORTH
    return True


@pytest.mark.timeout(300)
async def test_every_rpc_with_every_role_in_and_out_of_scope(settings: Settings) -> None:
    async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
        names = dict(zip(DESCRIPTORS, ("survey", "response", "correlation"), strict=True))
        channels = [tools_channel(stack.address(name)) for name in names.values()]
        # Calls without any token: the certificate and nothing else.
        bare_channels = [
            tools_channel(stack.address(name), with_token=False) for name in names.values()
        ]
        stubs, bare = make_stubs(channels), make_stubs(bare_channels)
        try:
            world = await seed(stubs, settings.nats_url or "")
            wrong: list[str] = []
            calls = 0
            for service, methods in CALLS.items():
                for method, spec in methods.items():
                    rule = RULES[service][method]
                    request = spec.build(world)
                    code, details, _ = await call_as(bare[service], method, request, None)
                    calls += 1
                    if not verdict("unauthenticated", code, set(), ""):
                        wrong.append(f"{method} without a token: {code.name} {details}")
                    for role in auth.ROLES:
                        for scope in SCOPES:
                            outcome = expected(rule, role, scope, spec)
                            metadata = caller(f"t-{role}", (role,), scope)
                            code, details, reply = await call_as(
                                stubs[service], method, spec.build(world), metadata
                            )
                            calls += 1
                            units = spec.units(reply) if reply is not None else set()
                            if not verdict(outcome, code, units, scope):
                                wrong.append(
                                    f"{method} as {role} in scope {scope or '(all)'}: expected "
                                    f"{outcome}, got {code.name} {details} {sorted(units)}"
                                )
            print(f"who-can-call-what: {calls} calls, {len(wrong)} unexpected")
            assert not wrong, "\n".join(wrong)
        finally:
            for channel in channels + bare_channels:
                await channel.close()
