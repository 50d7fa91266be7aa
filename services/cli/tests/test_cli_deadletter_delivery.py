"""``pulse deadletter`` also covers the invitation delivery stream: a delivery dead letter
(``delivery.deadletter.<consumer>`` on PULSE_DELIVERY, raw token and all) is listed with its
stream, shown with its token hidden, and replayed through the real delivery adapter, after
which neither the dead letter nor the replayed message is left on the stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from pulse.events.v1 import events_pb2
from pulse_cli.deadletter_commands import (
    HIDDEN,
    decoded,
    get_dead_letter,
    read_dead_letters,
    replay,
)
from pulse_common import subjects
from pulse_common.messaging import ORIGINAL_MSG_ID_HEADER, publish
from pulse_testing.stack import stream_messages
from pulse_testing.survey import (
    import_roster,
    make_org,
    open_wave,
    published_survey,
    rows,
    running_survey,
)

CONSUMER = "delivery-log"


def _read(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _lines(path: Path, at_least: int) -> list[str]:
    for _ in range(100):
        lines = _read(path)
        if len(lines) >= at_least:
            return lines
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} lines in {path}")


async def test_a_delivery_dead_letter_is_listed_shown_hidden_and_replayed(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    async with running_survey(database_url, nats_url, tmp_path) as survey:
        await make_org(survey.stub)
        await import_roster(survey.stub, rows({"n1": 1}))
        definition = await published_survey(survey.stub)
        await open_wave(survey.stub, definition.survey_id)
        await _lines(survey.delivery_log, 1)
        [(_, data)] = await stream_messages(nats_url, subjects.INVITATION_ISSUED, 1)
        token = events_pb2.InvitationIssued.FromString(data).token
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            # A dead letter as the delivery consumer writes one when it gives up (here with
            # an id its ledger never claimed, so that the replay is delivered again).
            await publish(
                js,
                subjects.dead_letter_subject(CONSUMER, subjects.DELIVERY_STREAM),
                data,
                msg_id="dlq:test",
                headers={
                    "Pulse-Original-Subject": subjects.INVITATION_ISSUED,
                    "Pulse-Error": "database down",
                    "Pulse-Consumer": CONSUMER,
                    "Pulse-Type": "pulse.events.v1.InvitationIssued",
                    ORIGINAL_MSG_ID_HEADER: "never-handled",
                },
            )
            [letter] = await read_dead_letters(js)
            assert (letter.stream, letter.consumer) == (subjects.DELIVERY_STREAM, CONSUMER)
            assert letter.original_subject == subjects.INVITATION_ISSUED
            assert await read_dead_letters(js, CONSUMER) == [letter]
            assert await read_dead_letters(js, streams=(subjects.STREAM,)) == []
            shown = await get_dead_letter(js, letter.seq, subjects.DELIVERY_STREAM)
            document = decoded(shown)
            assert isinstance(document, dict)
            assert document["token"] == HIDDEN
            assert token not in str(document)
            assert document["contact"] == "n1.0@example.com"

            done = await replay(js, letter)
            assert (done.published, done.removed, done.stream) == (
                True,
                True,
                subjects.DELIVERY_STREAM,
            )
            lines = await _lines(survey.delivery_log, 2)
            assert [line.split("\t")[2].rsplit("/s/", 1)[1] for line in lines] == [token] * 2
            for _ in range(50):
                if not (await js.stream_info(subjects.DELIVERY_STREAM)).state.messages:
                    break
                await asyncio.sleep(0.1)
            assert (await js.stream_info(subjects.DELIVERY_STREAM)).state.messages == 0
            assert await read_dead_letters(js) == []
        finally:
            await nc.close()
