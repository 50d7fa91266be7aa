"""Regression tests of the failures the issue lists that no property test covers directly
(each fails on the code before its fix; the README says how that was checked):

- token burned, answer lost: a respondent's submit fails between the redemption of the
  link and the commit of the answers; opening the link again must give the form (not "this
  link was used"), and sending it again must store the answers once;
- a consumer dies silently: a failed publish to the dead-letter subject must not end the
  consumer (the messages after the poison are still counted);
- NATS: ``PULSE_NATS_URL`` with several URLs (the first one dead) starts; a service started
  while NATS is down exits with a message naming NATS instead of hanging.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import httpx
import nats
from pulse_cli.deadletter_commands import read_dead_letters
from pulse_common import subjects
from pulse_common.embedded import free_port, pid_alive
from pulse_common.messaging import publish
from pulse_testing.faults import spawn
from pulse_testing.faults.load import Respondents, open_wave, reconcile, report
from pulse_testing.faults.stack import FaultStack

FORM_ANSWERS = {"a_rec.1": "4", "a_fair.1": "3", "a_enps.1": "8", "a_ecomment.1": "Fine"}


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


async def terminate_blocked_inserts(stack: FaultStack, until: asyncio.Task[httpx.Response]) -> int:
    """End the session of every accept-time INSERT of an employee answer (into the holding
    area, blocked by our lock) until ``until``
    is done: each submit attempt (the web's client retries) fails after the link was
    redeemed and before anything committed. Returns how many were ended."""
    admin = await stack.db("response")
    ended = 0
    try:
        while not until.done():
            pids = await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'INSERT INTO held_responses%'"
            )
            for row in pids:
                await admin.execute("SELECT pg_terminate_backend($1)", row["pid"])
                ended += 1
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    return ended


async def test_token_burned_answer_lost_the_respondent_can_send_again(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    web = f"http://{stack.state.addresses['web']}"
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f16", {"f16-a": 1})
    link = f"{web}/s/{wave.tokens[0]}"
    async with httpx.AsyncClient(timeout=30) as browser:
        form = await browser.get(link)
        assert form.status_code == 200
        fields = {
            "csrf": hidden(form.text, "csrf"),
            "idempotency_key": hidden(form.text, "idempotency_key"),
            **FORM_ANSWERS,
        }
        lock = await stack.db("response")
        try:
            async with lock.transaction():
                await lock.execute("LOCK TABLE held_responses IN ACCESS EXCLUSIVE MODE")
                sent = asyncio.create_task(browser.post(link, data=fields))
                cut = await terminate_blocked_inserts(stack, sent)
            failed = await sent
        finally:
            await lock.close()
        again = await browser.get(link)  # the respondent opens the link again
        resent_fields = fields
        if again.status_code == 200:
            resent_fields = {
                **fields,
                "csrf": hidden(again.text, "csrf"),
                "idempotency_key": hidden(again.text, "idempotency_key"),
            }
        resent = await browser.post(link, data=resent_fields, follow_redirects=False)
        later = await browser.get(link)
    respondents = Respondents(stubs)
    respondents.tally.submitted = 1
    stored = await reconcile(stack, wave, respondents.tally, wait_s=20)
    report(
        "token-burned-answer-lost",
        submitted=1,
        ok=int(resent.status_code == 303),
        counted=stored.counted,
        lost=1 - stored.persisted,
        duplicated=max(0, stored.persisted - 1),
        sessions_cut=cut,
        first_submit_status=failed.status_code,
        reopened_link_status=again.status_code,
        resent_status=resent.status_code,
        after_status=later.status_code,
    )
    assert cut >= 1
    assert failed.status_code == 503  # the respondent is told it failed, and why
    assert "could not be saved" in failed.text
    assert again.status_code == 200  # the form again, not "this link was used" (410)
    assert resent.status_code == 303
    assert resent.headers["location"].startswith("/s/thanks")
    assert later.status_code == 200  # and now: thank you, already received
    assert (stored.persisted, stored.counted) == (1, 1)


async def test_consumer_survives_a_failed_dead_letter_publish(fault_stack: FaultStack) -> None:
    """The correlation service cannot get its dead letter acknowledged (the proxy loses the
    PubAck): it must keep the poison for a later try, dead-letter it then, stay up (same
    process, SERVING) and go on counting the rest."""
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f17", {"f17-a": 6})
        await asyncio.to_thread(stack.through_proxy, "correlation")
        pid = stack.pid("correlation")
        lost_before = stack.proxy.rules.pubacks_lost
        stack.proxy.lose_pubacks("pulse-correlation", 1, subjects.DEAD_LETTER_PREFIX)
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            await publish(
                js,
                subjects.RESPONSE_RECORDED,
                b"\xff not an event",
                msg_id="f17-poison",
                headers={"Pulse-Type": "pulse.events.v1.ResponseRecorded"},
            )
            # The publish waits for its lost PubAck (5 s), then the poison is handled again:
            # done when the consumer has nothing pending or unacknowledged.
            deadline = time.monotonic() + 45
            await asyncio.sleep(1)
            while True:
                info = await js.consumer_info(subjects.STREAM, "correlation-responses")
                if info.num_ack_pending == 0 and info.num_pending == 0:
                    break
                assert time.monotonic() < deadline, f"the poison was never settled: {info}"
                await asyncio.sleep(0.3)
            letters = [
                letter
                for letter in await read_dead_letters(js)
                if letter.original_msg_id == "f17-poison"
            ]
        finally:
            await nc.close()
        respondents = Respondents(stubs)
        await respondents.submit_all(wave.tokens)
        outcome = await reconcile(stack, wave, respondents.tally, wait_s=60)
        health = await asyncio.to_thread(stack.status)
    report(
        "consumer-survives-dead-letter-failure",
        **outcome.figures(respondents.tally),
        dead_letter_pubacks_lost=stack.proxy.rules.pubacks_lost - lost_before,
        correlation_health=health.get("correlation"),
        same_process=stack.pid("correlation") == pid and pid_alive(pid),
    )
    assert stack.proxy.rules.pubacks_lost - lost_before == 1
    assert len(letters) == 1  # dead-lettered once (the retry's publish was a duplicate)
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert outcome.counted == len(wave.tokens)
    assert health.get("correlation") == "SERVING"
    assert pid_alive(pid)


def run_service(env: dict[str, str], timeout_s: float, log: Path) -> tuple[int | None, str, float]:
    """``python -m pulse_survey`` until it exits, says it serves or ``timeout_s`` passes
    (then it is killed); (exit code or None, its output, seconds)."""
    started = time.monotonic()
    pid = spawn.spawn([sys.executable, "-m", "pulse_survey"], {**os.environ, **env}, log)
    code = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # until it exits, or says it serves
        code = spawn.wait(pid, 0.2)
        if code is not None or "survey listening on" in log.read_text(errors="replace"):
            break
    if code is None:
        os.kill(pid, signal.SIGKILL)
        spawn.wait(pid, 10)
    return code, log.read_text(errors="replace"), time.monotonic() - started


def test_nats_url_list_and_bounded_start_up(fault_stack: FaultStack, tmp_path: Path) -> None:
    stack = fault_stack
    base = {
        **stack.env,
        **stack.state.env(),
        "PULSE_SURVEY_ADDR": f"127.0.0.1:{free_port()}",
        "PULSE_STARTUP_TIMEOUT_S": "3",
        "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    }
    dead = f"nats://127.0.0.1:{free_port()}"
    # Several URLs, the first one dead: the service starts (and is stopped once it serves).
    listed = {**base, "PULSE_NATS_URL": f"{dead},{stack.nats_url}"}
    code, listed_err, _ = run_service(listed, 30, tmp_path / "listed.log")
    # NATS down: a clear message naming it, well within the timeout plus a margin.
    down = {**base, "PULSE_NATS_URL": dead}
    down_code, down_err, down_s = run_service(down, 30, tmp_path / "down.log")
    report(
        "nats-urls-and-start-up",
        url_list_started=code is None and "survey listening on" in listed_err,
        down_exit_code=down_code,
        down_exit_s=f"{down_s:.1f}",
        down_message_names_nats="cannot reach NATS" in down_err,
    )
    assert code is None, listed_err[-2000:]  # still serving when stopped
    assert "survey listening on" in listed_err
    assert down_code not in (None, 0), down_err[-2000:]
    assert "cannot reach NATS" in down_err
    assert down_s < 20


async def test_a_restarted_service_is_reachable_through_the_web_at_once(
    fault_stack: FaultStack,
) -> None:
    """Found in CI: after the response service was down for a dozen seconds, the web front
    answered 503 for seconds after the service was SERVING again (gRPC's reconnect backoff
    had grown towards its 120 s default). The channels cap it (``RECONNECT_BACKOFF_MS``): a
    link opened as soon as the service is back gives the form."""
    stack = fault_stack
    web = f"http://{stack.state.addresses['web']}"
    down_s = 12.0
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f19", {"f19-a": 1})
    link = f"{web}/s/{wave.tokens[0]}"
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(link)).status_code == 200
        await asyncio.to_thread(stack.signal, "response", signal.SIGTERM)
        await asyncio.to_thread(stack.wait_exit, "response")
        await asyncio.sleep(down_s)
        stack.start("response")
        await stack.wait_status("SERVING", timeout_s=90, names=("response",))
        back_at = time.monotonic()
        refused = 0
        while (await browser.get(link)).status_code != 200:
            refused += 1
            assert time.monotonic() - back_at < 30, "the web never reached the service again"
            await asyncio.sleep(0.05)
        first_ok_s = time.monotonic() - back_at
    report(
        "restarted-service-reachable",
        down_s=f"{down_s:.0f}",
        first_ok_after_serving_s=f"{first_ok_s:.2f}",
        refused_meanwhile=refused,
    )
    assert first_ok_s < 3


async def test_sigterm_while_submits_are_stuck_loses_none(fault_stack: FaultStack) -> None:
    """The CI failure of property 14: a submit still in flight when the response service's
    shutdown grace ends is cancelled (the client sees CANCELLED). Made certain here: the
    submits wait on a lock while the service is SIGTERMed with a short grace. The respondent
    must treat it like UNAVAILABLE and send again; nothing may be lost or doubled."""
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f18", {"f18-a": 8})
    await asyncio.to_thread(stack.signal, "response", signal.SIGTERM)
    await asyncio.to_thread(stack.wait_exit, "response")
    await asyncio.to_thread(stack.restart, "response", PULSE_SHUTDOWN_GRACE_S="0.5")
    async with stack.stubs() as stubs:
        respondents = Respondents(stubs, give_up_s=90)
        lock = await stack.db("response")
        watch = await stack.db("response")
        try:
            async with lock.transaction():
                await lock.execute("LOCK TABLE held_responses IN ACCESS EXCLUSIVE MODE")
                load = asyncio.create_task(respondents.submit_all(wave.tokens))
                deadline = time.monotonic() + 20
                # Watched from outside the lock's transaction (pg_stat_activity is read once
                # per transaction).
                while not await watch.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO held_responses%'"
                ):
                    assert time.monotonic() < deadline, "the submits never reached the lock"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # let the others arrive too
                await asyncio.to_thread(stack.signal, "response", signal.SIGTERM)
                await asyncio.to_thread(stack.wait_exit, "response")
        finally:
            await lock.close()
            await watch.close()
        await asyncio.to_thread(stack.restart, "response")
        tally = await load
        outcome = await reconcile(stack, wave, tally)
    report(
        "sigterm-stuck-submits",
        **outcome.figures(tally),
        codes=",".join(f"{k}:{v}" for k, v in sorted(tally.codes.items())) or "none",
        gave_up=len(tally.failed),
    )
    assert tally.failed == {}
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert outcome.persisted == outcome.counted == len(wave.tokens)
