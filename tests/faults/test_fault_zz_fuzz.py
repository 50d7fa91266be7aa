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
from collections import Counter
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
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
from pulse_testing.faults.fuzz_templates import requests_of, templates
from pulse_testing.faults.load import Wave, open_wave, report
from pulse_testing.faults.stack import GRPC_SERVICES, FaultStack, full_scale

T = TypeVar("T")
RAW = (b"\xff", b"\x0a\xff\xff\xff\xff", b"\x08", b"\x12\x05ab", bytes(range(256)))


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
