"""Property 13: hostile and random inputs on every RPC get only mapped status codes, never
UNKNOWN or INTERNAL, and health stays SERVING. Also the regression test of the issue's
"garbage in, INTERNAL out" (a NUL byte in string fields, period 0000-01, dates in year
9999, raw bytes that are no protobuf).

Three passes over every RPC the descriptors list:
1. the sweep: from a valid request per RPC (``TEMPLATES``; an empty one for an RPC added
   later), every scalar field in turn set to every hostile value (NUL and control
   characters, periods and dates out of range, 5,000 characters, int and float extremes,
   unknown enum numbers), so that each field's own validation is reached;
2. Hypothesis: random request messages (any field set or not, random or hostile values);
3. raw bytes that are no request message.

Named ``zz`` to run last in the folder: it writes whatever it is allowed to write into the
shared stack (units, items, a roster sync)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_cli.context import Stubs
from pulse_testing.faults.fuzz import (
    UNMAPPED,
    Rpc,
    all_rpcs,
    call_code,
    field_paths,
    hostile_values,
    messages,
    raw_code,
    with_value,
)
from pulse_testing.faults.load import Wave, open_wave, report
from pulse_testing.faults.stack import GRPC_SERVICES, FaultStack, full_scale

T = TypeVar("T")
VIEWER = {"viewer_id": "f13-fuzzer"}
EMPLOYEE = "SURVEY_KIND_EMPLOYEE_PULSE"
RAW = (b"\xff", b"\x0a\xff\xff\xff\xff", b"\x08", b"\x12\x05ab", bytes(range(256)))


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


def mutated(
    rpc: Rpc, base: list[Message], path: tuple[str, ...], field: Any, value: Any
) -> list[Message]:
    """``base`` with the field at ``path`` set to ``value`` in the message holding it (a
    client stream's header or row)."""
    holder = (
        next((i for i, m in enumerate(base) if m.HasField(path[0])), 0)
        if rpc.streaming and len(path) > 1
        else 0
    )
    result = list(base)
    result[holder] = with_value(base[holder], path, field, value)
    return result


@pytest.fixture(scope="module")
def fuzz_org(fault_stack: FaultStack) -> dict[str, Any]:
    """The org, survey, wave and tokens the templates point at."""

    async def build() -> dict[str, Any]:
        async with fault_stack.stubs() as stubs:
            wave = await open_wave(fault_stack, stubs, "f13", {"f13-a": 120, "f13-b": 5})
            draft = await stubs.survey.CreateSurvey(
                survey_pb.CreateSurveyRequest(
                    name="Fuzz draft",
                    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                    item_ids=["rec.1"],
                    language="en",
                ),
                timeout=30,
            )
        return {
            "wave": wave,
            "draft": draft.survey.survey_id,
            "pids": {n: fault_stack.pid(n) for n in GRPC_SERVICES},
        }

    return asyncio.run(build())


class LoopThread:
    """An event loop of its own in a thread, with the stack's stubs open, so that a plain
    (Hypothesis-driven) test function can make async calls."""

    def __init__(self, stack: FaultStack) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._context = stack.stubs()
        self.stubs: Stubs = self.run(self._context.__aenter__())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def close(self) -> None:
        self.run(self._context.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


FOUND: dict[str, Any] = {"codes": Counter(), "unmapped": [], "calls": 0}


def record(rpc: Rpc, what: str, code: str) -> None:
    FOUND["calls"] += 1
    FOUND["codes"][code] += 1
    if code in UNMAPPED:
        FOUND["unmapped"].append(f"{rpc.name} {what}: {code}")


async def test_every_field_of_every_rpc_with_hostile_values(
    fault_stack: FaultStack, fuzz_org: dict[str, Any]
) -> None:
    wave: Wave = fuzz_org["wave"]
    tokens = iter(wave.tokens_of("f13-a")[10:])
    made = templates(wave, fuzz_org["draft"], tokens)
    swept = 0
    async with fault_stack.stubs() as stubs:
        for rpc in all_rpcs():
            make = made.get(rpc.name, lambda: [{}])
            # The template itself: accepted, or refused only for the state it meets (a
            # random id NOT_FOUND, a second create ALREADY_EXISTS), never as malformed.
            baseline = await call_code(stubs, rpc, requests_of(rpc, make()))
            record(rpc, "template", baseline)
            FOUND.setdefault("baseline", {})[rpc.name] = baseline
            for path, field in field_paths(rpc.method.input_type):
                for value in hostile_values(field):
                    request = mutated(rpc, requests_of(rpc, make()), path, field, value)
                    code = await call_code(stubs, rpc, request)
                    record(rpc, f"{'.'.join(path)}={value!r:.30}", code)
                    swept += 1
    FOUND["swept"] = swept
    FOUND["untemplated"] = sorted(rpc.name for rpc in all_rpcs() if rpc.name not in made)
    assert FOUND["unmapped"] == [], "\n".join(FOUND["unmapped"])
    malformed = {n: c for n, c in FOUND["baseline"].items() if c == "INVALID_ARGUMENT"}
    assert malformed == {}, malformed  # a template that is itself refused tests nothing


@pytest.fixture(scope="module")
def loop_thread(fault_stack: FaultStack) -> Iterator[LoopThread]:
    thread = LoopThread(fault_stack)
    try:
        yield thread
    finally:
        thread.close()


RPCS = all_rpcs()


@settings(
    max_examples=2000 if full_scale() else 150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_requests_to_every_rpc(loop_thread: LoopThread, data: st.DataObject) -> None:
    rpc = data.draw(st.sampled_from(RPCS), label="rpc")
    count = data.draw(st.integers(0, 3)) if rpc.streaming else 1
    requests = [data.draw(messages(rpc.method.input_type), label="request") for _ in range(count)]
    code = loop_thread.run(call_code(loop_thread.stubs, rpc, requests))
    record(rpc, f"random {[str(r)[:60] for r in requests]}", code)
    FOUND["examples"] = FOUND.get("examples", 0) + 1
    assert code not in UNMAPPED, f"{rpc.name}: {code} for {requests}"


async def test_bytes_that_are_no_request_then_health(
    fault_stack: FaultStack, fuzz_org: dict[str, Any]
) -> None:
    raw_calls = 0
    for rpc in all_rpcs():
        channel = fault_stack.channel(rpc.service)
        try:
            for payload in RAW:
                code = await raw_code(channel, rpc, payload)
                record(rpc, f"raw {payload[:8]!r}", code)
                raw_calls += 1
        finally:
            await channel.close()
    health = await asyncio.to_thread(fault_stack.status)
    restarted = [n for n, pid in fuzz_org["pids"].items() if fault_stack.pid(n) != pid]
    codes = FOUND["codes"]
    report(
        "fuzz",
        rpcs=len(all_rpcs()),
        calls=FOUND["calls"],
        swept=FOUND.get("swept", 0),
        random_examples=FOUND.get("examples", 0),
        raw=raw_calls,
        unknown=codes["UNKNOWN"],
        internal=codes["INTERNAL"],
        invalid_argument=codes["INVALID_ARGUMENT"],
        ok=codes["OK"],
        other_codes=",".join(
            sorted(c for c in codes if c not in ("UNKNOWN", "INTERNAL", "INVALID_ARGUMENT", "OK"))
        ),
        health=",".join(sorted(set(health.values()))),
        untemplated=",".join(FOUND.get("untemplated", [])) or "none",
        templates_ok=sum(c == "OK" for c in FOUND.get("baseline", {}).values()),
    )
    assert FOUND["unmapped"] == [], "\n".join(FOUND["unmapped"][:50])
    assert set(health.values()) == {"SERVING"}
    assert restarted == []
