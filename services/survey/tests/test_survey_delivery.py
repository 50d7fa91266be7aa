"""The default delivery adapter: invitations.log gets one clickable line per mailing, once,
from the real pulse.invitation.issued stream."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import nats
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.subjects import INVITATION_ISSUED, STREAM
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


async def test_a_redelivered_invitation_is_logged_once(survey: Survey, tmp_path: Path) -> None:
    await make_org(survey.stub)
    await import_roster(survey.stub, rows({"n1": 1}))
    definition = await published_survey(survey.stub)
    await open_wave(survey.stub, definition.survey_id)
    # A second adapter (own durable, own ledger rows) handed the same real message twice,
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
            INVITATION_ISSUED, durable=f"t{uuid.uuid4().hex[:8]}", stream=STREAM
        )
        [msg] = await sub.fetch(1, timeout=5)
        await adapter.handle(msg)
        await adapter.handle(msg)
    finally:
        await nc.close()
    [line] = read_lines(path)
    assert line[2].startswith("https://pulse.example/s/")


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
