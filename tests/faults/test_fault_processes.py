"""Properties 1, 2, 3, 4 and 14: NATS killed during submits, the correlation service killed
during ingestion, a crash between commit and ack, lost publish acknowledgements, and
SIGTERM of the response service under load. Every accepted answer is counted exactly once."""

from __future__ import annotations

import asyncio
import signal
import time

import nats
from pulse_common import subjects
from pulse_testing.faults.load import (
    Respondents,
    Wave,
    open_wave,
    reconcile,
    report,
)
from pulse_testing.faults.stack import FaultStack, full_scale
from pulse_testing.stack import stream_messages

CORRELATION_RESPONSES = "correlation-responses"


async def stream_copies(stack: FaultStack, response_ids: set[str]) -> int:
    """How many ``pulse.response.recorded`` messages carry these responses (1 each is right)."""
    found = await stream_messages(stack.nats_url, subjects.RESPONSE_RECORDED, timeout_s=2)
    return sum(msg_id in response_ids for msg_id, _ in found)


def teams_of(prefix: str, people: int, size: int = 100) -> dict[str, int]:
    teams = {f"{prefix}-t{i}": size for i in range(people // size)}
    if people % size:
        teams[f"{prefix}-t{len(teams)}"] = people % size
    return teams


async def test_nats_killed_during_submits(fault_stack: FaultStack) -> None:
    stack = fault_stack
    people, per_s, down_s = (10_000, 200.0, 10.0) if full_scale() else (300, 60.0, 3.0)
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f01", teams_of("f01", people))
        respondents = Respondents(stubs, give_up_s=300)
        load = asyncio.create_task(respondents.submit_all(wave.tokens, per_s=per_s))
        await asyncio.sleep(1.0)
        ok_before = len(respondents.tally.ok)
        command = await asyncio.to_thread(stack.kill_nats)
        killed_at = time.monotonic()
        not_serving_s = await stack.wait_status("NOT_SERVING", timeout_s=10)
        await asyncio.sleep(max(0.0, down_s - (time.monotonic() - killed_at)))
        await asyncio.to_thread(stack.start_nats, command)
        ok_at_restart = len(respondents.tally.ok)
        tally = await load
        serving_s = await stack.wait_status("SERVING", timeout_s=30)
        outcome = await reconcile(stack, wave, tally, wait_s=300)
        copies = await stream_copies(stack, tally.ok_ids)
    report(
        "nats-sigkill",
        **outcome.figures(tally),
        nats_down_s=down_s,
        ok_before_kill=ok_before,
        ok_while_down=ok_at_restart - ok_before,
        not_serving_after_s=f"{not_serving_s:.1f}",
        serving_after_restart_s=f"{serving_s:.1f}",
        stream_copies=copies,
        told_failed=tally.told_failed,
    )
    assert not tally.failed, tally.failed
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.counted == people
    assert copies == people
    assert ok_at_restart - ok_before > 0  # submits went on while NATS was down


async def counted_now(stack: FaultStack, wave: Wave) -> int:
    db = await stack.db("correlation")
    try:
        return int(
            await db.fetchval(
                "SELECT coalesce(sum(n), 0) FROM agg_population WHERE unit_id = ANY($1)",
                list(wave.units),
            )
        )
    finally:
        await db.close()


async def test_correlation_killed_repeatedly_during_ingestion(fault_stack: FaultStack) -> None:
    stack = fault_stack
    people, kills = (3_000, 5) if full_scale() else (300, 2)
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f02", teams_of("f02", people))
        # Everything is accepted while the correlation service is down, then ingested
        # between kills: each kill lands mid-ingestion.
        await asyncio.to_thread(stack.kill, "correlation")
        tally = await Respondents(stubs).submit_all(wave.tokens)
        at_kill: list[int] = []
        for _ in range(kills):
            before = await counted_now(stack, wave)
            await asyncio.to_thread(stack.start, "correlation")
            deadline = time.monotonic() + 60
            while (now := await counted_now(stack, wave)) == before:  # ingestion resumed
                assert time.monotonic() < deadline, "the correlation service counts nothing"
                await asyncio.sleep(0.01)
            await asyncio.to_thread(stack.kill, "correlation")
            at_kill.append(now)
        await asyncio.to_thread(stack.restart, "correlation")
        outcome = await reconcile(stack, wave, tally, wait_s=300)
    report(
        "correlation-sigkill",
        **outcome.figures(tally),
        kills=kills,
        counted_at_kills="/".join(map(str, at_kill)),
    )
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.counted == people
    assert any(0 < n < people for n in at_kill), at_kill  # killed mid-ingestion at least once


async def test_crash_between_commit_and_ack(fault_stack: FaultStack) -> None:
    """The correlation service commits each response but its acks never reach NATS (the
    proxy loses them); then it is SIGKILLed: JetStream redelivers every message after the
    ack wait, and the processed-message ledger makes the redeliveries change nothing."""
    stack = fault_stack
    people = 1_000 if full_scale() else 60
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f03", teams_of("f03", people))
        await asyncio.to_thread(stack.through_proxy, "correlation")
        stack.proxy.lose_acks("pulse-correlation")
        try:
            tally = await Respondents(stubs).submit_all(wave.tokens)
            committed = await reconcile(stack, wave, tally, wait_s=120)
            assert committed.counted == people  # every response committed, no ack arrived
            acks_lost = stack.proxy.rules.acks_lost
            await asyncio.to_thread(stack.kill, "correlation")
        finally:
            stack.proxy.lose_acks("pulse-correlation", lose=False)
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            before = await js.consumer_info(subjects.STREAM, CORRELATION_RESPONSES)
            await asyncio.to_thread(stack.restart, "correlation")
            deadline = time.monotonic() + 60
            while True:  # the redeliveries are handled (and acked this time)
                info = await js.consumer_info(subjects.STREAM, CORRELATION_RESPONSES)
                if info.num_ack_pending == 0 and info.num_pending == 0:
                    break
                assert time.monotonic() < deadline, info
                await asyncio.sleep(0.3)
        finally:
            await nc.close()
        outcome = await reconcile(stack, wave, tally)
    # Deliveries since the crash: every committed-but-unacknowledged message came again.
    redelivered = info.delivered.consumer_seq - before.delivered.consumer_seq
    report(
        "crash-between-commit-and-ack",
        **outcome.figures(tally),
        acks_lost=acks_lost,
        redelivered=redelivered,
    )
    assert acks_lost >= people
    assert redelivered >= people
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.counted == people


async def test_lost_publish_acknowledgements(fault_stack: FaultStack) -> None:
    """The response service's outbox relay publishes, JetStream stores, the PubAck is lost
    on the way back: the relay publishes again with the same Nats-Msg-Id and JetStream
    keeps one copy."""
    stack = fault_stack
    people, lost = (1_000, 10) if full_scale() else (40, 2)
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f04", teams_of("f04", people))
        await asyncio.to_thread(stack.through_proxy, "response")
        stack.proxy.lose_pubacks("pulse-response", lost)
        try:
            tally = await Respondents(stubs).submit_all(wave.tokens)
            outcome = await reconcile(stack, wave, tally, wait_s=120)
        finally:
            stack.proxy.lose_pubacks("pulse-response", 0)
        copies = await stream_copies(stack, tally.ok_ids)
    report(
        "lost-puback",
        **outcome.figures(tally),
        pubacks_lost=stack.proxy.rules.pubacks_lost,
        stream_copies=copies,
    )
    assert stack.proxy.rules.pubacks_lost == lost
    assert copies == people
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.counted == people


async def test_sigterm_under_load_loses_no_accepted_submission(fault_stack: FaultStack) -> None:
    stack = fault_stack
    people, per_s = (3_000, 100.0) if full_scale() else (300, 60.0)
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f14", teams_of("f14", people))
        respondents = Respondents(stubs, give_up_s=300)
        load = asyncio.create_task(respondents.submit_all(wave.tokens, per_s=per_s))
        await asyncio.sleep(1.5)
        ok_before = len(respondents.tally.ok)
        terminated_at = time.monotonic()
        await asyncio.to_thread(stack.signal, "response", signal.SIGTERM)
        await asyncio.to_thread(stack.wait_exit, "response")
        exited_s = time.monotonic() - terminated_at
        ok_at_exit = len(respondents.tally.ok)
        await asyncio.to_thread(stack.restart, "response")
        tally = await load
        outcome = await reconcile(stack, wave, tally, wait_s=300)
    report(
        "sigterm-under-load",
        **outcome.figures(tally),
        ok_before_sigterm=ok_before,
        ok_when_exited=ok_at_exit,
        exit_s=f"{exited_s:.1f}",
        told_failed=tally.told_failed,
    )
    assert not tally.failed, tally.failed
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert len(tally.ok) == outcome.counted == people
    assert ok_at_exit < people  # the service went away mid-load
    assert tally.told_failed > 0  # ... and those it turned away were retried
