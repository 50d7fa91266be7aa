"""Property 13's valid requests: one per RPC of the three services, pointing at the fault
suite's ``f13`` org, survey, wave and tokens, so that the sweep (every field in turn set to
a hostile value) reaches each field's own validation. A new RPC without a template is
swept from an empty request (and listed as ``untemplated`` in the suite's line)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from pulse_testing.faults.fuzz import Rpc
from pulse_testing.faults.load import Wave

VIEWER = {"viewer_id": "f13-fuzzer"}  # dropped where requests no longer carry a viewer
EMPLOYEE = "SURVEY_KIND_EMPLOYEE_PULSE"


def templates(
    wave: Wave, draft: str, tokens: Iterator[str]
) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """A valid request per RPC (a list of messages for a client stream); called once per
    request, so that Submit gets a fresh token and key each time."""
    unit, other = wave.units[1], wave.units[2]
    today = date.today()
    period = wave.period
    since = (today - timedelta(days=90)).isoformat()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    answers = [
        {"item_id": "rec.1", "score": 4},
        {"item_id": "fair.1", "score": 3},
        {"item_id": "enps.1", "score": 8},
        {"item_id": "ecomment.1", "text": "fine"},
    ]
    one: dict[str, dict[str, Any]] = {
        "survey.CreateUnit": {
            "unit_id": "f13-new",
            "name": "New",
            "parent_id": wave.root,
            "unit_type": "UNIT_TYPE_FRONT_LINE",
            "effective_from": since,
        },
        "survey.UpdateUnit": {
            "unit_id": unit,
            "name": "Renamed",
            "parent_id": wave.root,
            "effective_from": today.isoformat(),
        },
        "survey.MergeUnits": {
            "source_unit_id": other,
            "target_unit_id": unit,
            "effective_from": today.isoformat(),
        },
        "survey.ListUnits": {"as_of": today.isoformat(), "root_unit_id": wave.root},
        "survey.ListItems": {"construct": "treatment.fairness", "language": "en", "kind": EMPLOYEE},
        "survey.CreateItem": {
            "item": {
                "item_id": "f13.item",
                "construct": "treatment.fairness",
                "text": "Fair?",
                "language": "en",
                "scale": "SCALE_LIKERT_5",
                "item_version": 1,
                "kinds": [EMPLOYEE],
            }
        },
        "survey.CreateSurvey": {
            "name": "Fuzz",
            "kind": EMPLOYEE,
            "item_ids": ["rec.1", "fair.1"],
            "language": "en",
        },
        "survey.PublishSurvey": {"survey_id": draft},
        "survey.GetSurvey": {"survey_id": wave.survey_id, "version": 1},
        "survey.ListSurveys": {"kind": EMPLOYEE},
        "survey.ScheduleWave": {
            "survey_id": wave.survey_id,
            "audience_unit_id": wave.root,
            "cadence": "CADENCE_MONTHLY",
            "first_opens_on": (today + timedelta(days=1)).isoformat(),
            "count": 1,
            "open_days": 7,
        },
        "survey.OpenWave": {"wave_id": wave.wave_id},
        "survey.BackfillWave": {
            "survey_id": wave.survey_id,
            "audience_unit_id": wave.root,
            "opens_on": (today - timedelta(days=400)).isoformat(),
            "open_days": 7,
            "token_valid_days": 1,
            "reason": "fuzz: a past period",
        },
        "survey.CloseWave": {"wave_id": str(uuid.uuid4())},
        "survey.ListWaves": {"survey_id": wave.survey_id, "status": "WAVE_STATUS_OPEN"},
        "survey.SendReminders": {"wave_id": wave.wave_id},
        "survey.GetResponseRates": {"wave_id": wave.wave_id, "viewer": VIEWER},
        "survey.RecordInteraction": {
            "interaction": {
                "interaction_id": "f13-i1",
                "unit_id": unit,
                "occurred_at": now,
                "channel": "call",
                "customer_key": "c1",
                "customer_contact": "c1@example.test",
            }
        },
        "survey.ListInvitations": {"wave_id": wave.wave_id, "limit": 10},
        "survey.InspectToken": {"token": wave.tokens[0]},
        "survey.RedeemToken": {
            "token": wave.tokens[1],
            "redemption_key": "f13-redemption-key-0001",
        },
        "survey.RedeemTokens": {
            "redemptions": [{"token": wave.tokens[2], "redemption_key": "f13-redemption-key-0002"}]
        },
        "response.GetForm": {"token": wave.tokens[0], "idempotency_key": "f13-form-key-000001"},
        "response.CountResponses": {
            "wave_id": wave.wave_id,
            "survey_id": wave.survey_id,
            "period": period,
            "viewer": VIEWER,
        },
        "response.ListComments": {
            "unit_id": unit,
            "period": period,
            "survey_id": wave.survey_id,
            "viewer": VIEWER,
        },
        "response.ListRecognition": {
            "unit_id": unit,
            "period_from": period,
            "period_to": period,
            "viewer": VIEWER,
            "limit": 10,
        },
        "response.ModerateRecognition": {
            "entry_id": str(uuid.uuid4()),
            "status": "RECOGNITION_STATUS_APPROVED",
            "viewer": VIEWER,
        },
        "survey.SetServes": {
            "serving_unit_id": other,
            "served_unit_id": unit,
            "valid_from": since,
        },
        "survey.ListServes": {"as_of": today.isoformat(), "serving_unit_id": other},
        "response.ListImports": {"limit": 10},
        "response.ListFollowUps": {"unit_id": unit, "limit": 10},
        "response.CloseFollowUp": {"follow_up_id": str(uuid.uuid4()), "outcome": "called back"},
        "response.CountFollowUps": {"unit_id": unit, "period_from": period, "period_to": period},
        "correlation.GetIngestionStats": {},
        "correlation.RunChainReport": {
            "scope_unit_id": wave.root,
            "period_from": period,
            "period_to": period,
            "service_measure": "internal.csat",
            "mediator": "treatment.fairness",
            "outcome": "csat",
            "max_lag": 1,
            "options": {"confidence_level": 0.95, "method": "pearson", "random_seed": 1},
        },
        "correlation.AddAction": {
            "unit_id": unit,
            "measure": "treatment.fairness",
            "title": "Weekly one-to-ones",
            "owner": "Team lead",
            "start_date": today.isoformat(),
            "outcome": "",
        },
        "correlation.ListActions": {"unit_id": unit, "limit": 10},
        "correlation.GetAction": {
            "action_id": str(uuid.uuid4()),
            "window": 3,
            "confidence_level": 0.95,
        },
        "correlation.GetDashboard": {
            "unit_id": wave.root,
            "period_from": period,
            "period_to": period,
            "constructs": ["treatment.fairness"],
        },
        "correlation.GetScores": {
            "viewer": VIEWER,
            "scope_unit_id": wave.root,
            "period_from": period,
            "period_to": period,
            "constructs": ["treatment.fairness"],
        },
        "correlation.GetTrends": {
            "viewer": VIEWER,
            "unit_id": unit,
            "construct": "treatment.fairness",
            "period_from": period,
            "period_to": period,
        },
        "correlation.RunLinkageReport": {
            "viewer": VIEWER,
            "scope_unit_id": wave.root,
            "period_from": period,
            "period_to": period,
            "predictors": ["treatment.fairness"],
            "outcome": "csat",
            "max_lag": 1,
            "options": {"confidence_level": 0.95, "method": "pearson", "random_seed": 1},
        },
        "correlation.GetReport": {"viewer": VIEWER, "report_id": str(uuid.uuid4())},
        "correlation.ListReports": {"viewer": VIEWER, "limit": 10},
        "correlation.GetChainReport": {"report_id": str(uuid.uuid4())},
        "correlation.ListChainReports": {"limit": 10},
        "correlation.ExportReport": {
            "viewer": VIEWER,
            "report_id": str(uuid.uuid4()),
            "format": "EXPORT_FORMAT_JSON",
        },
    }
    streams: dict[str, list[dict[str, Any]]] = {
        "survey.ImportRoster": [
            {"options": {"as_of": today.isoformat()}},
            {
                "row": {
                    "employee_id": "F13-E99",
                    "email": "f13.99@example.test",
                    "unit_id": unit,
                    "start_date": since,
                    "line": 2,
                }
            },
        ],
        "response.ImportResponses": [
            {
                "header": {
                    "survey_id": wave.survey_id,
                    "survey_version": 1,
                    "source_name": "f13.csv",
                }
            },
            {
                "row": {
                    "line": 2,
                    "unit_id": unit,
                    "period": period,
                    "kind": EMPLOYEE,
                    "answers": answers[:3],
                }
            },
        ],
    }
    found: dict[str, Callable[[], list[dict[str, Any]]]] = {
        name: _always([body]) for name, body in one.items()
    }
    found |= {name: _always(bodies) for name, bodies in streams.items()}

    def submit() -> list[dict[str, Any]]:
        key = uuid.uuid4().hex
        return [
            {"token": next(tokens), "answers": answers, "idempotency_key": key, "client_id": "f13"}
        ]

    found["response.Submit"] = submit
    return found


def _always(bodies: list[dict[str, Any]]) -> Callable[[], list[dict[str, Any]]]:
    return lambda: bodies


def _known(body: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    """``body`` without the fields the message does not have (an RPC changed since)."""
    kept: dict[str, Any] = {}
    for name, value in body.items():
        field = descriptor.fields_by_name.get(name)
        if field is None:
            continue
        if field.message_type is not None and not field.message_type.GetOptions().map_entry:
            if isinstance(value, list):
                value = [_known(v, field.message_type) for v in value]
            else:
                value = _known(value, field.message_type)
        kept[name] = value
    return kept


def requests_of(rpc: Rpc, bodies: list[dict[str, Any]]) -> list[Message]:
    descriptor = rpc.method.input_type
    return [json_format.ParseDict(_known(body, descriptor), rpc.request_type()) for body in bodies]
