"""E-mail delivery through a real SMTP server (aiosmtpd on loopback): one message per
person in their language, plain text + HTML, List-Unsubscribe; reminders only to those who
have not answered (by hand and at the configured offsets, never past the contact budget);
bounces and temporary failures recorded per invitation."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.uow import Database
from pulse_survey import wave_scheduler
from pulse_survey.context import Deps
from pulse_survey.settings import load_survey_settings
from pulse_survey.tokens import contact_pseudonym
from pulse_testing.smtp import MailServer
from pulse_testing.survey import (
    Survey,
    import_roster,
    make_org,
    open_wave,
    published_survey,
    running_survey,
)

LINK = re.compile(r"http://127\.0\.0\.1:8080/s/([A-Za-z0-9_-]+)")


def roster(people: list[tuple[str, str]]) -> list[pb.ImportRosterRequest]:
    """(email, language) pairs, all in unit n1."""
    return [
        pb.ImportRosterRequest(
            row=pb.RosterRow(
                employee_id=f"E-{index}",
                email=address,
                unit_id="n1",
                line=index + 2,
                language=language,
            )
        )
        for index, (address, language) in enumerate(people)
    ]


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return str(plain.get_content()), str(html.get_content())


def token_of(message: EmailMessage) -> str:
    match = LINK.search(parts(message)[0])
    assert match is not None
    return match.group(1)


async def statuses(survey: Survey, wave_id: str) -> list[str]:
    listed = await survey.stub.ListInvitations(pb.ListInvitationsRequest(wave_id=wave_id))
    return sorted(i.delivery_status for i in listed.invitations)


PEOPLE = [
    ("ana@example.com", "es"),
    ("bernd@example.com", "de"),
    ("chris@example.com", ""),
    ("dana@example.com", "en"),
    ("eli@example.com", "de-CH"),
]


async def test_a_wave_mails_each_person_once_in_their_language_and_reminds_only_the_silent(
    database_url: str, nats_url: str, tmp_path: Path, mail_server: MailServer
) -> None:
    async with running_survey(database_url, nats_url, tmp_path, **mail_server.env()) as survey:
        await make_org(survey.stub)
        await import_roster(survey.stub, roster(PEOPLE))
        definition = await published_survey(survey.stub)
        opened = await open_wave(survey.stub, definition.survey_id)
        assert opened.invitations_issued == 5
        assert "delivery-smtp" in survey.durables

        received = await mail_server.wait_for(5)
        assert sorted(m["To"] for m in received) == sorted(a for a, _ in PEOPLE)
        by_address = {m["To"]: m for m in received}
        german = by_address["bernd@example.com"]
        assert german["Subject"] == "Pulse: Wie läuft die Arbeit?"
        assert german["Content-Language"] == "de"
        assert by_address["eli@example.com"]["Content-Language"] == "de"  # de-CH -> de
        assert by_address["ana@example.com"]["Subject"] == "Pulse: ¿cómo va el trabajo?"
        assert by_address["chris@example.com"]["Subject"] == "Pulse: how is work going?"
        plain, html = parts(german)
        assert "Die Umfrage dauert etwa drei Minuten" in plain
        assert 'href="http://127.0.0.1:8080/s/' in html
        assert '<html lang="de">' in html
        for message in received:
            assert message["From"] == "pulse@example.org"
            assert message["List-Unsubscribe"] == "<mailto:pulse@example.org?subject=unsubscribe>"
            assert message["Auto-Submitted"] == "auto-generated"
            assert message.is_multipart()
        # Every link works, and each person got a different one.
        tokens = {address: token_of(message) for address, message in by_address.items()}
        assert len(set(tokens.values())) == 5
        for address in ("ana@example.com", "bernd@example.com"):
            grant = await survey.stub.RedeemToken(
                pb.RedeemTokenRequest(token=tokens[address], redemption_key=f"answer-{address}")
            )
            assert grant.grant.wave_id == opened.wave.wave_id
        german_grant = await survey.stub.InspectToken(
            pb.InspectTokenRequest(token=tokens["eli@example.com"])
        )
        assert german_grant.grant.language == "de-CH"
        assert await statuses(survey, opened.wave.wave_id) == ["sent"] * 5

        # A reminder round by hand: only the three who have not answered.
        await survey.pool.execute(
            "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
        )
        reminded = await survey.stub.SendReminders(
            pb.SendRemindersRequest(wave_id=opened.wave.wave_id)
        )
        assert (reminded.reminders_sent, reminded.held_back_by_contact_budget) == (3, 0)
        received = await mail_server.wait_for(8)
        reminders = received[5:]
        assert sorted(m["To"] for m in reminders) == [
            "chris@example.com",
            "dana@example.com",
            "eli@example.com",
        ]
        assert {m["Subject"] for m in reminders} == {
            "Reminder: Pulse is still open",
            "Erinnerung: Pulse ist noch offen",
        }
        # The reminder's fresh link works too.
        fresh = token_of(mail_server.to("dana@example.com")[1])
        assert fresh != tokens["dana@example.com"]
        await survey.stub.InspectToken(pb.InspectTokenRequest(token=fresh))


async def test_reminders_at_the_offsets_skip_who_answered_and_who_was_asked_since(
    database_url: str, nats_url: str, tmp_path: Path, mail_server: MailServer
) -> None:
    env = mail_server.env(PULSE_REMINDER_OFFSETS_DAYS="3,1", PULSE_MAX_REMINDERS="2")
    async with running_survey(database_url, nats_url, tmp_path, **env) as survey:
        await make_org(survey.stub)
        people = [(f"p{index}@example.com", "") for index in range(5)]
        await import_roster(survey.stub, roster(people))
        definition = await published_survey(survey.stub)
        opened = await open_wave(survey.stub, definition.survey_id)  # open 7 days
        wave_id = opened.wave.wave_id
        received = await mail_server.wait_for(5)
        tokens = {m["To"]: token_of(m) for m in received}
        await survey.stub.RedeemToken(
            pb.RedeemTokenRequest(token=tokens["p0@example.com"], redemption_key="answer-p0")
        )
        # p1 was asked by another survey after the wave's invitation: a reminder would
        # break the contact budget.
        secret = survey.settings.hmac_secret
        await survey.pool.execute(
            "UPDATE survey.contact_log SET last_contacted_on = last_contacted_on + 1"
            " WHERE contact_pseudonym = $1",
            contact_pseudonym(secret, "p1@example.com"),
        )
        settings = load_survey_settings(survey.settings.extra, survey.settings)
        start = datetime.now(UTC)

        async def tick_on(day: int) -> None:
            moment = start + timedelta(days=day)
            deps = Deps(Database(survey.pool), settings, clock=lambda: moment)
            await wave_scheduler.tick(deps)

        await tick_on(1)  # nothing due yet (closes in 7 days; first offset: 3 days before)
        assert len(await mail_server.wait_for(6, timeout_s=1)) == 5
        await tick_on(4)  # 3 days before closing: round 1
        round_one = (await mail_server.wait_for(8))[5:]
        assert sorted(m["To"] for m in round_one) == [f"p{i}@example.com" for i in (2, 3, 4)]
        await tick_on(4)  # the same day again: nothing more
        assert len(await mail_server.wait_for(9, timeout_s=1)) == 8
        await tick_on(6)  # 1 day before closing: round 2, again only the silent
        round_two = (await mail_server.wait_for(11))[8:]
        assert sorted(m["To"] for m in round_two) == [f"p{i}@example.com" for i in (2, 3, 4)]
        assert all(m["Subject"].startswith("Reminder:") for m in round_one + round_two)
        await tick_on(6)
        assert len(await mail_server.wait_for(12, timeout_s=1)) == 11
        wave = (await survey.stub.ListWaves(pb.ListWavesRequest())).waves[0]
        assert wave.reminder_rounds == 2
        # At most PULSE_MAX_REMINDERS: a further round by hand reaches nobody.
        more = await survey.stub.SendReminders(pb.SendRemindersRequest(wave_id=wave_id))
        assert more.reminders_sent == 0


async def test_bounces_and_failures_are_recorded_per_invitation(
    database_url: str, nats_url: str, tmp_path: Path, mail_server: MailServer
) -> None:
    mail_server.refuse["gone@example.com"] = "550 5.1.1 No such user here"
    mail_server.fail_data["flaky@example.com"] = ["451 4.3.0 Try again later"]
    mail_server.fail_data["full@example.com"] = ["452 4.2.2 Mailbox full"] * 10
    env = mail_server.env(PULSE_SMTP_MAX_TRIES="3")
    async with running_survey(database_url, nats_url, tmp_path, **env) as survey:
        await make_org(survey.stub)
        people = [(a, "") for a in ("gone@example.com", "flaky@example.com", "full@example.com")]
        await import_roster(survey.stub, roster([*people, ("ok@example.com", "")]))
        definition = await published_survey(survey.stub)
        opened = await open_wave(survey.stub, definition.survey_id)
        received = await mail_server.wait_for(2)
        # The flaky server took the mail on its second try; the refused address never.
        assert sorted(m["To"] for m in received) == ["flaky@example.com", "ok@example.com"]
        for _ in range(100):
            if "pending" not in await statuses(survey, opened.wave.wave_id):
                break
            await asyncio.sleep(0.1)
        listed = await survey.stub.ListInvitations(
            pb.ListInvitationsRequest(wave_id=opened.wave.wave_id)
        )
        assert sorted(i.delivery_status for i in listed.invitations) == [
            "bounced",
            "failed",
            "sent",
            "sent",
        ]
        details = {i.delivery_status: i.delivery_detail for i in listed.invitations}
        assert details["bounced"].startswith("550")
        assert details["failed"].startswith("452")
        rows = await survey.pool.fetch(
            "SELECT status, attempts FROM survey.deliveries ORDER BY status, attempts"
        )
        assert [(r["status"], r["attempts"]) for r in rows] == [
            ("bounced", 1),
            ("failed", 3),
            ("sent", 1),
            ("sent", 2),
        ]
        assert mail_server.attempts["gone@example.com"] == 1  # a bounce is not retried


async def test_customer_invitations_name_the_service_in_the_customers_language(
    database_url: str, nats_url: str, tmp_path: Path, mail_server: MailServer
) -> None:
    async with running_survey(database_url, nats_url, tmp_path, **mail_server.env()) as survey:
        await make_org(survey.stub)
        await published_survey(
            survey.stub,
            kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
            item_ids=["csat.1", "staff.1", "ccomment.1"],
        )
        reply = await survey.stub.RecordInteraction(
            pb.RecordInteractionRequest(
                interaction=pb.Interaction(
                    interaction_id="call-1",
                    unit_id="n1",
                    occurred_at=datetime.now(UTC).isoformat(),
                    channel="call",
                    customer_key="C-1",
                    customer_contact="kunde@example.com",
                    language="de",
                )
            )
        )
        assert reply.decision == pb.INTERACTION_DECISION_INVITED
        [message] = await mail_server.wait_for(1)
        assert message["Subject"] == "Wie war es? Ihr Anruf bei N1"
        assert "Vielen Dank für Ihren Kontakt (Anruf) mit N1." in parts(message)[0]
