"""Property 12, no linkage, as far as it can be tested before the anonymity issue (13):
the answer store has no column that names a person, a token or a time; the
``pulse.response.recorded`` events carry only the fields the contract allows; no value of
the survey database (redemption keys) equals one of the response database (idempotency
keys); and a reader of both databases who pairs each redemption with the response written
right after it (transaction ids) finds no more than chance, because employee answers are
written in shuffled batches of at least k per team (issue 13; the response service runs
here with the real batching, ``PULSE_ANSWER_BATCH_K=0``, and the wave is closed after the
last answer so the rest of each team is written)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import signal
from collections.abc import AsyncIterator

import pytest
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import subjects
from pulse_testing.faults.load import Respondents, Wave, open_wave, reconcile, report
from pulse_testing.faults.stack import FaultStack
from pulse_testing.stack import stream_messages

IDENTITY = re.compile(r"email|employee|person|pseudonym|token|invitation|contact|redeem")
ANSWER_TABLES = ("responses", "response_scores", "comments")
EVENT_FIELDS = {
    "response_id",
    "survey_id",
    "survey_version",
    "kind",
    "unit_id",
    "period",
    "answers",
    "channel",
    "source",
    "wave_id",
}
TEAM = 8


async def one_by_one(stack: FaultStack, shared: dict[str, object]) -> tuple[Wave, Respondents]:
    if "wave" not in shared:
        async with stack.stubs() as stubs:
            wave = await open_wave(stack, stubs, "f12", {"f12-a": TEAM, "f12-b": TEAM})
            respondents = Respondents(stubs, concurrency=1)  # one respondent at a time
            await respondents.submit_all(wave.tokens)
            await stubs.survey.CloseWave(
                survey_pb.CloseWaveRequest(wave_id=wave.wave_id), timeout=30
            )
            await _held_written(stack)
            outcome = await reconcile(stack, wave, respondents.tally)
            assert outcome.counted == 2 * TEAM
        shared.update(wave=wave, respondents=respondents)
    return shared["wave"], shared["respondents"]  # type: ignore[return-value]


async def _held_written(stack: FaultStack, timeout_s: float = 60.0) -> None:
    """Until the close has written every held answer (reconcile would settle on the
    batches written so far and call the rest lost)."""
    db = await stack.db("response")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while await db.fetchval("SELECT count(*) FROM held_responses"):
            assert loop.time() < deadline, "held answers were not written after the close"
            await asyncio.sleep(0.2)
    finally:
        await db.close()


async def _restart_response(stack: FaultStack, **env: str) -> None:
    await asyncio.to_thread(stack.signal, "response", signal.SIGTERM)
    await asyncio.to_thread(stack.wait_exit, "response")
    await asyncio.to_thread(stack.restart, "response", **env)


@pytest.fixture(scope="module")
async def linkage_run(fault_stack: FaultStack) -> AsyncIterator[dict[str, object]]:
    """The response service with the real batching (k = the survey's) for this module."""
    await _restart_response(fault_stack, PULSE_ANSWER_BATCH_K="0")
    yield {}
    await _restart_response(fault_stack)


async def test_write_order_does_not_link_redemptions_to_answers(
    fault_stack: FaultStack, linkage_run: dict[str, object]
) -> None:
    """The database reader's attack: pair each redeemed invitation with the response whose
    transaction id follows its redemption's, and count the right pairs."""
    stack = fault_stack
    wave, respondents = await one_by_one(stack, linkage_run)
    survey_db = await stack.db("survey")
    response_db = await stack.db("response")
    try:
        redeemed = await survey_db.fetch(
            "SELECT i.invitation_id::text AS id, i.xmin::text::bigint AS xid, t.token_hash"
            " FROM invitations i JOIN invitation_tokens t USING (invitation_id)"
            " WHERE i.wave_id = $1::uuid AND i.redeemed",
            wave.wave_id,
        )
        answered = await response_db.fetch(
            "SELECT response_id::text AS id, xmin::text::bigint AS xid FROM responses"
            " WHERE unit_id = ANY($1)",
            list(wave.units),
        )
    finally:
        await survey_db.close()
        await response_db.close()
    # Ground truth (known to the test only): which response each token's respondent got.
    truth = {
        hashlib.sha256(token.encode()).hexdigest(): response_id
        for token, response_id in respondents.tally.ok.items()
    }
    invitation_of = {row["id"]: row["token_hash"] for row in redeemed}
    events = sorted(
        [(row["xid"], "redeem", row["id"]) for row in redeemed]
        + [(row["xid"], "answer", row["id"]) for row in answered]
    )
    matched = 0
    last_redeemed: str | None = None
    for _, kind, ident in events:
        if kind == "redeem":
            last_redeemed = ident
        elif last_redeemed is not None:
            matched += truth.get(invitation_of[last_redeemed]) == ident
    linkage_run["write_order"] = f"{matched}/{len(answered)}(chance~{len(answered) // TEAM})"
    report("write-order-linkage", matched=matched, of=len(answered), chance=f"1/{TEAM} per team")
    # Chance pairs about one respondent per team of TEAM.
    assert matched <= 2 * len(answered) // TEAM


async def test_nothing_in_the_stores_or_events_names_a_person(
    fault_stack: FaultStack, linkage_run: dict[str, object]
) -> None:
    stack = fault_stack
    wave, respondents = await one_by_one(stack, linkage_run)
    response_db = await stack.db("response")
    survey_db = await stack.db("survey")
    try:
        columns = await response_db.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'response' AND table_name = ANY($1)",
            list(ANSWER_TABLES),
        )
        keys = {
            bytes(r["key_hash"]).hex()
            for r in await response_db.fetch("SELECT key_hash FROM idempotency")
        }
        redemptions = {
            str(r["redemption_key_hash"])
            for r in await survey_db.fetch(
                "SELECT redemption_key_hash FROM invitations WHERE redemption_key_hash IS NOT NULL"
            )
        }
    finally:
        await response_db.close()
        await survey_db.close()
    identity = [
        f"{c['table_name']}.{c['column_name']}"
        for c in columns
        if IDENTITY.search(c["column_name"])
    ]
    timed = [
        f"{c['table_name']}.{c['column_name']}"
        for c in columns
        if "time" in c["data_type"] or c["data_type"] == "date"
    ]
    extra_fields: set[str] = set()
    leaking_events = 0
    ours = set(respondents.tally.ok_ids)
    for msg_id, data in await stream_messages(
        stack.nats_url, subjects.RESPONSE_RECORDED, timeout_s=2
    ):
        if msg_id not in ours:
            continue
        event = events_pb2.ResponseRecorded.FromString(data)
        extra_fields |= {f.name for f, _ in event.ListFields()} - EVENT_FIELDS
        leaking_events += any(token.encode() in data for token in wave.tokens) or b"@" in data
    joinable = keys & redemptions
    report(
        "no-linkage",
        respondents=len(ours),
        identity_columns=len(identity),
        time_columns=len(timed),
        event_extra_fields=len(extra_fields),
        events_with_token_or_contact=leaking_events,
        joinable_key_values=len(joinable),
        write_order=linkage_run.get("write_order", "not run"),
    )
    assert identity == []
    assert timed == []
    assert extra_fields == set()
    assert leaking_events == 0
    assert joinable == set()
    assert redemptions  # the survey side did record redemptions (the check is not vacuous)
