"""Who may call what: every RPC of the three services and the roles allowed to call it.

An RPC missing here is refused to everybody (PERMISSION_DENIED): a new RPC must be added
with its roles, and the role-table test fails until it is. ``scoped`` RPCs read data of
units and answer only within the caller token's scope subtree (the servicer checks the
unit it is asked about and narrows lists). Every other RPC acts on the whole organisation,
so a token limited to a subtree is refused there (PERMISSION_DENIED): nothing that does not
check the scope can be reached with a scoped token. Health and reflection need a client
certificate but no caller token (``OPEN_SERVICES``).

README "Who can call what" renders this table for people."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_common.auth import ADMIN, ANALYST, LEADER, RESPONDENT_FRONT, RESPONSE

SURVEY = "pulse.survey.v1.SurveyService"
RESPONSE_SERVICE = "pulse.response.v1.ResponseService"
CORRELATION = "pulse.correlation.v1.CorrelationService"
OPEN_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scoped: bool = False


def _rule(*roles: str, scoped: bool = False) -> Rule:
    return Rule(frozenset(roles), scoped)


_ADMIN = _rule(ADMIN)
_CONFIG_READ = _rule(ADMIN, ANALYST)
_LEADER_READ = _rule(LEADER, ANALYST, scoped=True)

RULES: dict[str, dict[str, Rule]] = {
    SURVEY: {
        "CreateUnit": _ADMIN,
        "UpdateUnit": _ADMIN,
        "MergeUnits": _ADMIN,
        "ListUnits": _rule(ADMIN, ANALYST, LEADER, RESPONSE, scoped=True),
        "ImportRoster": _ADMIN,
        "SetServes": _ADMIN,
        "ListServes": _CONFIG_READ,
        # Leaders read item wordings to name item-level drivers (bank texts, no unit data).
        "ListItems": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "CreateItem": _ADMIN,
        "CreateSurvey": _ADMIN,
        "PublishSurvey": _ADMIN,
        "GetSurvey": _rule(ADMIN, ANALYST, RESPONSE),
        # Leaders of any scope pick the survey whose comments they read: names and ids hold
        # no unit's data, so a scoped token may list them (the list is not narrowed).
        "ListSurveys": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "ScheduleWave": _ADMIN,
        "OpenWave": _ADMIN,
        "CloseWave": _ADMIN,
        # Issue 19: a wave of a past period, audited (``wave_backfills``).
        "BackfillWave": _ADMIN,
        "ListWaves": _CONFIG_READ,
        "SendReminders": _ADMIN,
        "GetResponseRates": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "RecordInteraction": _ADMIN,
        "ListInvitations": _ADMIN,
        # Only the response service turns a survey link into a form and an answer.
        "InspectToken": _rule(RESPONSE),
        "RedeemToken": _rule(RESPONSE),
        "RedeemTokens": _rule(RESPONSE),
    },
    RESPONSE_SERVICE: {
        "GetForm": _rule(RESPONDENT_FRONT),
        "Submit": _rule(RESPONDENT_FRONT),
        "ImportResponses": _ADMIN,
        "ListImports": _ADMIN,
        "CountResponses": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "ListComments": _LEADER_READ,
        "ListRecognition": _LEADER_READ,
        "ModerateRecognition": _rule(LEADER, scoped=True),
        # Detractor follow-up: the team's leaders see and close their units' follow-ups.
        "ListFollowUps": _rule(ADMIN, LEADER, scoped=True),
        "CloseFollowUp": _rule(ADMIN, LEADER, scoped=True),
        "CountFollowUps": _rule(ADMIN, ANALYST, LEADER, scoped=True),
    },
    CORRELATION: {
        "GetIngestionStats": _CONFIG_READ,
        "GetScores": _LEADER_READ,
        "GetTrends": _LEADER_READ,
        "GetDashboard": _LEADER_READ,
        "RunLinkageReport": _LEADER_READ,
        # The chain report and the action log check the caller's scope (issue 16): the
        # served units / the action's unit must lie in it, lists are narrowed to it.
        "RunChainReport": _rule(LEADER, ANALYST, scoped=True),
        "GetChainReport": _LEADER_READ,
        "ListChainReports": _LEADER_READ,
        "AddAction": _rule(ADMIN, LEADER, scoped=True),
        "ListActions": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "GetAction": _rule(ADMIN, ANALYST, LEADER, scoped=True),
        "GetReport": _LEADER_READ,
        "ListReports": _LEADER_READ,
        "ExportReport": _LEADER_READ,
    },
}

POLICY: dict[str, Rule] = {
    f"/{service}/{method}": rule
    for service, methods in RULES.items()
    for method, rule in methods.items()
}


def is_open(method: str) -> bool:
    """Health and reflection: certificate only, no caller token."""
    return any(method.startswith(f"/{service}/") for service in OPEN_SERVICES)


def rule_for(method: str) -> Rule | None:
    return POLICY.get(method)
