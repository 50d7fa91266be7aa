"""The default delivery adapter: invitations.log gets one clickable line per mailing, once,
from the real delivery.invitation.issued stream, which keeps no delivered message."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.js.errors
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.subjects import DELIVERY_STREAM, INVITATION_ISSUED
from pulse_common.uow import Database
from pulse_survey.delivery_consumer import DeliveryConsumer
from pulse_survey.delivery_log import LogAdapter
from pulse_testing.survey import (
    Survey,
    import_roster,
    make_org,
    open_wave,
    published_survey,
    rows,
    running_survey,
)

BASE = "http://127.0.0.1:8080"
DURABLE = "delivery-log"


def read_lines(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text("utf-8").splitlines()]


async def log_lines(path: Path, at_least: int, timeout_s: float = 10.0) -> list[list[str]]:
    """The log's lines split into fields, once at least ``at_least`` are there."""
    for _ in range(int(timeout_s / 0.1)):
        if len(read_lines(path)) >= at_least:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # let any surplus line land, to assert exact counts
    return read_lines(path)


async def test_opening_a_wave_logs_one_working_link_per_invitation(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 3, "n2": 2}))
    definition = await published_survey(stub)
    opened = await open_wave(stub, definition.survey_id)
    assert opened.invitations_issued == 5
    assert DURABLE in survey.durables

    lines = await log_lines(survey.delivery_log, 5)
    assert len(lines) == 5
    assert survey.delivery_log.stat().st_mode & 0o777 == 0o600  # live tokens inside
    assert sorted(fields[1] for fields in lines) == sorted(
        [f"n1.{i}@example.com" for i in range(3)] + [f"n2.{i}@example.com" for i in range(2)]
    )
    for when, _, url, survey_id, kind in lines:
        assert when.endswith("Z")
        assert url.startswith(f"{BASE}/s/")
        assert (survey_id, kind) == (definition.survey_id, "invitation")
    # The link works: its token is one the service redeems.
    token = lines[0][2].removeprefix(f"{BASE}/s/")
    grant = await stub.RedeemToken(pb.RedeemTokenRequest(token=token, redemption_key="key-12345"))
    assert grant.grant.wave_id == opened.wave.wave_id

    # Reminders are logged as such, for the four who have not answered.
    await survey.pool.execute(
        "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
    )
    sent = await stub.SendReminders(pb.SendRemindersRequest(wave_id=opened.wave.wave_id))
    assert sent.reminders_sent == 4
    lines = await log_lines(survey.delivery_log, 9)
    assert [fields[4] for fields in lines].count("reminder") == 4
    assert len(lines) == 9


async def test_a_redelivered_invitation_is_logged_once(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    # No adapter of the service's own (it would deliver and delete the message first).
    async with running_survey(database_url, nats_url, tmp_path, PULSE_DELIVERY="none") as survey:
        await make_org(survey.stub)
        await import_roster(survey.stub, rows({"n1": 1}))
        definition = await published_survey(survey.stub)
        await open_wave(survey.stub, definition.survey_id)
        # An adapter (own durable, own ledger rows) handed the same real message twice,
        # as JetStream does after a lost ack.
        path = tmp_path / "other" / "invitations.log"
        adapter = DeliveryConsumer(
            Database(survey.pool),
            LogAdapter(path),
            "https://pulse.example",
            "month",
            durable="delivery-test",
        )
        nc = await nats.connect(survey.nats_url)
        try:
            sub = await nc.jetstream().pull_subscribe(
                INVITATION_ISSUED, durable=f"t{uuid.uuid4().hex[:8]}", stream=DELIVERY_STREAM
            )
            [msg] = await sub.fetch(1, timeout=5)
            await adapter.handle(msg)
            await adapter.handle(msg)
        finally:
            await nc.close()
    [line] = read_lines(path)
    assert line[2].startswith("https://pulse.example/s/")


async def delivery_stream(nats_url: str, empty: bool, timeout_s: float = 10.0) -> list[Message]:
    """Every message left on the delivery stream (as the tools user reads it), once it is
    ``empty`` (or holds something) or ``timeout_s`` passed."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for _ in range(int(timeout_s / 0.1)):
            state = (await js.stream_info(DELIVERY_STREAM)).state
            if (state.messages == 0) == empty:
                break
            await asyncio.sleep(0.1)
        found: list[Message] = []
        seq = 0
        while True:
            try:
                raw = await js.get_msg(
                    DELIVERY_STREAM, seq=seq + 1, next=True, subject="delivery.>"
                )
            except nats.js.errors.NotFoundError:
                return found
            seq = int(raw.seq or 0)
            found.append(Message(raw.subject or "", raw.data or b""))
    finally:
        await nc.close()


@dataclass(frozen=True)
class Message:
    subject: str
    data: bytes


async def test_a_delivered_mailing_leaves_no_token_on_the_stream(survey: Survey) -> None:
    """Issue 13: once the adapter has delivered a mailing (invitation or reminder), its
    message, raw token and address, is deleted from the delivery stream."""
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 3}))
    definition = await published_survey(stub)
    opened = await open_wave(stub, definition.survey_id)
    await log_lines(survey.delivery_log, 3)
    assert await delivery_stream(survey.nats_url, empty=True) == []
    await survey.pool.execute(
        "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
    )
    await stub.SendReminders(pb.SendRemindersRequest(wave_id=opened.wave.wave_id))
    lines = await log_lines(survey.delivery_log, 6)
    assert [fields[4] for fields in lines].count("reminder") == 3
    assert await delivery_stream(survey.nats_url, empty=True) == []


async def test_an_undeliverable_message_is_dead_lettered_on_the_delivery_stream(
    survey: Survey,
) -> None:
    """A message the adapter can never handle (here: no contact) is copied whole to
    ``delivery.deadletter.delivery-log`` (for ``pulse deadletter replay``, until the
    stream's max_age) and the original is deleted: one copy, never on ``pulse.>``."""
    poison = events_pb2.InvitationIssued(
        invitation_id="inv-x", token="raw-token-of-nobody", link_path="/s/raw-token-of-nobody"
    )
    nc = await nats.connect(survey.nats_url)
    try:
        await nc.jetstream().publish(INVITATION_ISSUED, poison.SerializeToString())
    finally:
        await nc.close()
    left = await delivery_stream(survey.nats_url, empty=False)
    for _ in range(100):
        if [m.subject for m in left] == [f"delivery.deadletter.{DURABLE}"]:
            break
        await asyncio.sleep(0.1)
        left = await delivery_stream(survey.nats_url, empty=False)
    assert [m.subject for m in left] == [f"delivery.deadletter.{DURABLE}"]
    assert events_pb2.InvitationIssued.FromString(left[0].data).token == poison.token


async def test_delivery_none_runs_no_adapter(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    async with running_survey(database_url, nats_url, tmp_path, PULSE_DELIVERY="none") as survey:
        assert DURABLE not in survey.durables
        await make_org(survey.stub)
        await import_roster(survey.stub, rows({"n1": 1}))
        definition = await published_survey(survey.stub)
        await open_wave(survey.stub, definition.survey_id)
        await asyncio.sleep(0.5)
        assert read_lines(survey.delivery_log) == []
