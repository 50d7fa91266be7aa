"""Issue 13: the adversaries of ``make test-anonymity``, each printing one line
``linkage <name>: matched=<m> of <n> chance=<c>``. A run of employees in teams of 5-12 (60
by default, 200 with ``PULSE_FAULT_SCALE=1``) answers one wave, half one by one and half 16
at a time; the response service runs with the real batching (k = the survey's 5). The
bound (``pulse_testing.anonymity``): inside a shuffled batch no linkage beats a random
pairing, which gets 1 right per batch on average, so ``matched`` must stay within the
number of batches plus a 99.9 % margin."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import pytest
from pulse.response.v1 import response_service_pb2 as response_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_testing import anonymity as anon
from pulse_testing import anonymity_streams as streams
from pulse_testing.response import Harness, outbox_drained

pytestmark = pytest.mark.anonymity


async def _run(h: Harness) -> anon.Run:
    teams = anon.team_sizes(anon.invitees())
    await anon.build_org(h, teams)
    run = await anon.open_wave(h, teams)
    await anon.answer_all(h, run)
    return run


async def test_database_reader(batching: tuple[Harness, list[str]]) -> None:
    """From a dump of every table of every database, system columns included, the best
    linkage of redemptions to answers matches no more than chance within the batches."""
    h, databases = batching
    run = await _run(h)
    rows = await anon.dump(databases)
    matched, n, batches = anon.database_reader(rows, run)
    anon.linkage_line("database reader", matched, n, batches)
    assert n == len(run.response_of)
    assert batches <= -(-n // anon.K) + len(run.teams)  # batches of >= k, but each team's last
    assert matched <= anon.chance_bound(batches)
    # Nothing in any table holds a token, a redemption's response or a raw comment.
    dumped = "\n".join(r.text for r in rows)
    assert not [t for t in run.response_of if t in dumped]
    assert len([r for r in rows if r.table.endswith(".comments")]) == n
    assert "1234567" not in dumped
    idempotency = anon.of_table(rows, "idempotency")
    assert len(idempotency) == n
    assert not [r for r in idempotency if any(rid in r.text for rid in run.response_of.values())]
    # Every answer shares its transaction (hence its commit time) with >= k of its team,
    # except the last batch of a team, written when the wave closed.
    per_batch = Counter((str(r.values["unit_id"]), r.xid) for r in anon.of_table(rows, "responses"))
    small = [size for size in per_batch.values() if size < anon.K]
    assert len(small) <= len(run.teams)


async def test_stream_reader(batching: tuple[Harness, list[str]]) -> None:
    """A reader of the shared stream, who also saw the order in which people submitted,
    pairs that order with the order of the response events: no better than chance; and,
    once the invitations are delivered, no message of any stream (the delivery stream
    included, read with the operator's tools user) holds a token or an address."""
    h, databases = batching
    run = await _run(h)
    await _drained(h)
    await streams.delivered(h, len(run.token_team))
    everything = await streams.every_stream(h.nats_url)
    assert {m.subject.split(".")[0] for m in everything} <= {"pulse", "delivery"}
    assert not [m for m in everything if m.subject.startswith("delivery.")]
    messages = [m for m in everything if m.subject.startswith("pulse.")]
    rows = await anon.dump(databases)
    _, _, batches = anon.database_reader(rows, run)
    matched, n = streams.stream_reader(messages, run)
    anon.linkage_line("stream reader", matched, n, batches)
    assert n == len(run.response_of)
    assert matched <= anon.chance_bound(batches)
    payloads = b"\n".join(m.data + repr(m.headers).encode() for m in everything)
    assert not [t for t in run.token_team if t.encode() in payloads]
    assert b"@example.com" not in payloads
    assert not [m for m in messages if m.subject.startswith("pulse.invitation")]


async def test_rotation(batching: tuple[Harness, list[str]]) -> None:
    """Which optional items a person was asked is stored nowhere: matching each answered
    item set to the people of the team whose recorded set equals it finds nobody."""
    h, databases = batching
    teams = {"r0": 8, "r1": 6}
    await anon.build_org(h, teams)
    run = await anon.open_wave(h, teams, rotation=2)
    rng = random.Random(3)
    optional: set[str] = set()
    for token in run.token_team:
        form = await h.response.GetForm(response_pb.GetFormRequest(token=token))
        optional |= {i.item_id for i in form.definition.items if not i.required}
        reply = await h.response.Submit(
            response_pb.SubmitRequest(
                token=token,
                answers=anon.asked_answers(form.items, rng),
                idempotency_key=uuid.uuid4().hex,
            )
        )
        run.response_of[token] = reply.response_id
    await h.survey.CloseWave(survey_pb.CloseWaveRequest(wave_id=run.wave_id))
    await _written(h, len(run.token_team))
    rows = await anon.dump(databases)
    matched, n = anon.rotation_reader(rows, run, sorted(optional))
    chance = sum(1.0 for _ in teams)  # one random guess per team is right on average
    anon.linkage_line("rotation", matched, n, chance)
    assert n == sum(teams.values())
    assert matched <= anon.chance_bound(int(chance))
    columns = [r for r in rows if r.table.endswith(".invitations")]
    assert not [c for c in columns if "item" in " ".join(c.values)]


async def _drained(h: Harness) -> None:
    await outbox_drained(h.pool, timeout_s=30)


async def _written(h: Harness, n: int) -> None:
    for _ in range(150):
        held = await h.pool.fetchval("SELECT count(*) FROM held_responses")
        written = await h.pool.fetchval("SELECT count(*) FROM responses")
        if not held and written == n:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("answers were not written after the wave closed")
