"""Properties 5 and 15: PostgreSQL restarted mid-load, and PostgreSQL frozen (SIGSTOP).

Property 5 is the issue's first failure: clients saw INTERNAL instead of UNAVAILABLE (so
nobody retried), the survey consumers' held connection was never replaced (new invitations
and interactions went to the dead-letter subject) and health stayed SERVING throughout."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import grpc
import grpc.aio
import httpx
import nats
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_cli.context import Stubs
from pulse_common import subjects
from pulse_common.messaging import publish_event
from pulse_testing.faults.load import (
    Respondents,
    answers,
    dead_letter_count,
    delivered_tokens,
    open_wave,
    reconcile,
    report,
)
from pulse_testing.faults.stack import GRPC_SERVICES, FaultStack, full_scale


class HealthLog:
    """Samples every service's health every 0.2 s while running."""

    def __init__(self, stack: FaultStack) -> None:
        self.stack = stack
        self.seen: list[tuple[float, dict[str, str]]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            status = await asyncio.to_thread(self.stack.status)
            self.seen.append((time.monotonic(), status))
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def statuses_between(self, start: float, end: float) -> set[str]:
        return {
            status
            for moment, found in self.seen
            if start <= moment <= end
            for name, status in found.items()
            if name in GRPC_SERVICES
        }


async def web_healthz(stack: FaultStack, until: int, within_s: float) -> int:
    """The web front's /healthz status once it is ``until`` (or the last one seen)."""
    url = f"http://{stack.state.addresses['web']}/healthz"
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            status = (await http.get(url)).status_code
            if status == until or time.monotonic() > deadline:
                return status
            await asyncio.sleep(0.2)


async def customer_survey(stubs: Stubs, name: str) -> str:
    draft = await stubs.survey.CreateSurvey(
        survey_pb.CreateSurveyRequest(
            name=name,
            kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
            item_ids=["csat.1", "staff.1"],
            language="en",
        ),
        timeout=30,
    )
    await stubs.survey.PublishSurvey(
        survey_pb.PublishSurveyRequest(survey_id=draft.survey.survey_id), timeout=30
    )
    return str(draft.survey.survey_id)


async def publish_interactions(
    stack: FaultStack, unit_id: str, survey_id: str, tag: str, count: int
) -> None:
    """``pulse.interaction.completed`` events, as a CRM publishes them."""
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for n in range(count):
            event = events_pb2.InteractionCompleted(
                interaction_id=f"{tag}-{n}",
                unit_id=unit_id,
                occurred_at=now,
                channel="call",
                customer_key=f"{tag}-customer-{n}",
                customer_contact=f"{tag}.{n}@example.test",
                survey_id=survey_id,
            )
            await publish_event(
                js, subjects.INTERACTION_COMPLETED, event, msg_id=f"interaction:{tag}-{n}"
            )
    finally:
        await nc.close()


async def test_postgres_restart_mid_load(fault_stack: FaultStack) -> None:
    stack = fault_stack
    # Respondents arrive at a steady rate; PostgreSQL goes down a second in, mid-load.
    # Down longer than the channels' transparent retries (4 attempts, backoff from 0.1 s)
    # can bridge, so some Submits are told to retry: a fast refusal is otherwise hidden.
    people, per_s, down_s = (2000, 100.0, 5.0) if full_scale() else (240, 60.0, 4.0)
    teams = {f"f05-t{i}": people // 3 + (i < people % 3) for i in range(3)}
    health = HealthLog(stack)
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f05", teams)
        customer = await customer_survey(stubs, "After your call f05")
        dead_before = await dead_letter_count(stack.nats_url)
        pids = {name: stack.pid(name) for name in GRPC_SERVICES}
        respondents = Respondents(stubs, give_up_s=120)
        health.start()
        load = asyncio.create_task(respondents.submit_all(wave.tokens, per_s=per_s))
        await asyncio.sleep(1.0)
        ok_before = len(respondents.tally.ok)
        stopped_at = time.monotonic()
        await asyncio.to_thread(stack.stop_postgres)
        # Interactions arriving while the database is down are retried, not dead-lettered.
        await publish_interactions(stack, "f05-t0", customer, "f05-during", 8)
        web_down = await web_healthz(stack, until=503, within_s=down_s)
        await asyncio.sleep(max(0.0, down_s - (time.monotonic() - stopped_at)))
        await asyncio.to_thread(stack.start_postgres)
        started_at = time.monotonic()
        tally = await load
        recovered_s = await stack.wait_status("SERVING", timeout_s=30)
        web_up = await web_healthz(stack, until=200, within_s=10)
        # Invitations still flow: a new wave, and interactions after the restart.
        later = await open_wave(stack, stubs, "f05b", {"f05b-t0": 10})
        await publish_interactions(stack, "f05-t0", customer, "f05-after", 10)
        customers = await delivered_tokens(stack, customer, 18, timeout_s=60)
        outcome = await reconcile(stack, wave, tally)
        dead_letters = await dead_letter_count(stack.nats_url) - dead_before
        await health.stop()
    during = health.statuses_between(stopped_at, started_at)
    report(
        "postgres-restart",
        **outcome.figures(tally),
        ok_before_restart=ok_before,
        told_failed=tally.told_failed,
        codes=",".join(f"{k}:{v}" for k, v in sorted(tally.codes.items())) or "none",
        burned=tally.burned,
        health_during=",".join(sorted(during)),
        serving_again_s=f"{recovered_s:.1f}",
        invitations_after=f"{len(later.tokens)}/10",
        customer_invitations=f"{len(customers)}/18",
        dead_letters=dead_letters,
        web_healthz=f"{web_down}/{web_up}",
        restarted_services=sum(stack.pid(name) != pid for name, pid in pids.items()),
    )
    assert not tally.failed, tally.failed
    assert set(tally.codes) <= {"UNAVAILABLE", "DEADLINE_EXCEEDED"}, tally.codes
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.persisted == outcome.counted == len(wave.tokens)
    assert 0 < ok_before < len(wave.tokens) // 2  # the restart came mid-load
    assert tally.told_failed > 0  # ... and met submissions, which were retried
    assert "NOT_SERVING" in during
    assert recovered_s < 10
    assert len(customers) == 18
    assert dead_letters == 0
    assert (web_down, web_up) == (503, 200)  # the web's readiness follows its upstreams
    assert {name: stack.pid(name) for name in GRPC_SERVICES} == pids


async def test_postgres_frozen_gives_deadline_exceeded_then_recovers(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    frozen_s = 15.0 if full_scale() else 4.0
    deadline_s = 2.0
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f15", {"f15-a": 10})
        keys = {token: uuid.uuid4().hex for token in wave.tokens}

        async def timed_submit(token: str, n: int) -> tuple[str, float]:
            request = resp_pb.SubmitRequest(
                token=token, answers=answers(n), idempotency_key=keys[token]
            )
            started = time.monotonic()
            try:
                await stubs.response.Submit(request, timeout=deadline_s)
            except grpc.aio.AioRpcError as error:
                return error.code().name, time.monotonic() - started
            return "OK", time.monotonic() - started

        await asyncio.to_thread(stack.freeze_postgres)
        frozen_at = time.monotonic()
        try:
            during = await asyncio.gather(
                *(timed_submit(token, n) for n, token in enumerate(wave.tokens[:5]))
            )
            not_serving_s = await stack.wait_status("NOT_SERVING", timeout_s=10)
            await asyncio.sleep(max(0.0, frozen_s - (time.monotonic() - frozen_at)))
        finally:
            await asyncio.to_thread(stack.thaw_postgres)
        thawed_at = time.monotonic()
        recovered_s = -1.0
        while time.monotonic() - thawed_at < 30:
            code, _ = await timed_submit(wave.tokens[5], 5)
            if code == "OK":
                recovered_s = time.monotonic() - thawed_at
                break
            await asyncio.sleep(0.2)
        serving_s = await stack.wait_status("SERVING", timeout_s=30)
        respondents = Respondents(stubs)
        for n, token in enumerate(wave.tokens):
            await respondents.submit(token, n, key=keys[token])
        outcome = await reconcile(stack, wave, respondents.tally)
    slowest = max(elapsed for _, elapsed in during)
    report(
        "postgres-sigstop",
        calls=len(during),
        deadline_exceeded=sum(code == "DEADLINE_EXCEEDED" for code, _ in during),
        slowest_s=f"{slowest:.2f}",
        deadline_s=deadline_s,
        not_serving_after_s=f"{not_serving_s:.1f}",
        frozen_s=frozen_s,
        first_ok_after_thaw_s=f"{recovered_s:.1f}",
        serving_after_thaw_s=f"{serving_s:.1f}",
        **outcome.figures(respondents.tally),
    )
    assert {code for code, _ in during} == {"DEADLINE_EXCEEDED"}
    assert slowest <= deadline_s + 0.5
    assert 0 <= recovered_s <= 10
    assert serving_s <= 10
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(respondents.tally.ok) == outcome.persisted == len(wave.tokens)
