"""Reaching people, survey side: the item bank in en/de/es with kind-specific comment items,
surveys that list their languages, interactions that name their survey (in the event or by
channel in PULSE_CHANNEL_SURVEYS) and their language, weekly waves under monthly periods
(the pooled k and the cadence-following contact budget), and the pure rules behind them:
cadences, settings, e-mail templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import nats
import pytest
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common import measures
from pulse_common.config import ConfigError
from pulse_common.messaging import publish_event
from pulse_survey import cadence, items, mail_templates, settings
from pulse_testing.survey import (
    CUSTOMER_ITEMS,
    EMPLOYEE_ITEMS,
    Survey,
    field_of,
    invitation_events,
    make_org,
    published_survey,
    rpc_error,
    running_survey,
)

EMPLOYEE = t.SURVEY_KIND_EMPLOYEE_PULSE
CUSTOMER = t.SURVEY_KIND_CUSTOMER_POST_INTERACTION


def test_every_bank_item_has_english_german_and_spanish_wording() -> None:
    bank = items.bank_seed()
    assert len(bank) >= 22
    for spec in bank:
        wording = spec.wording()
        assert set(wording) >= {"en", "de", "es"}, spec.item_id
        assert len(set(wording.values())) == len(wording), spec.item_id  # really translated
    comments = {spec.item_id: spec.kinds for spec in bank if spec.construct == measures.COMMENT}
    assert comments["ecomment.1"] == (EMPLOYEE,)
    assert EMPLOYEE not in comments["ccomment.1"]


async def test_each_kind_takes_only_its_own_comment_items(survey: Survey) -> None:
    listed = await survey.stub.ListItems(pb.ListItemsRequest(kind=EMPLOYEE))
    ids = {i.item_id for i in listed.items}
    assert "ecomment.1" in ids
    assert "ccomment.1" not in ids
    customer = await survey.stub.ListItems(pb.ListItemsRequest(kind=CUSTOMER))
    assert "ccomment.1" in {i.item_id for i in customer.items}
    assert "ecomment.1" not in {i.item_id for i in customer.items}
    german = await survey.stub.ListItems(pb.ListItemsRequest(language="de"))
    assert len(german.items) == len((await survey.stub.ListItems(pb.ListItemsRequest())).items)
    error = await rpc_error(
        survey.stub.CreateSurvey(
            pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["rec.1", "ccomment.1"])
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "item_ids"


async def test_published_surveys_carry_their_languages_and_translations(survey: Survey) -> None:
    definition = await published_survey(survey.stub, EMPLOYEE, EMPLOYEE_ITEMS)
    assert list(definition.languages) == ["en", "de", "es"]
    fairness = next(i for i in definition.items if i.item_id == "fair.1")
    assert fairness.translations["de"].startswith("Entscheidungen, die mich betreffen")
    # An item with only English narrows the survey to English.
    await survey.stub.CreateItem(
        pb.CreateItemRequest(
            item=t.Item(
                item_id="local.1",
                construct="engagement",
                text="I like Mondays.",
                scale=t.SCALE_LIKERT_5,
                translations={"de": "Ich mag Montage."},
            )
        )
    )
    narrower = await published_survey(survey.stub, EMPLOYEE, ["fair.1", "local.1"])
    assert list(narrower.languages) == ["en", "de"]
    bad = t.Item(
        item_id="local.2",
        construct="engagement",
        text="Fine.",
        scale=t.SCALE_LIKERT_5,
        translations={"no good": "x"},
    )
    error = await rpc_error(survey.stub.CreateItem(pb.CreateItemRequest(item=bad)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "item.translations[no good]"


async def test_interactions_name_their_survey_by_event_or_by_channel(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    async with running_survey(database_url, nats_url, tmp_path) as first:
        await make_org(first.stub)
        call_survey = await published_survey(first.stub, CUSTOMER, CUSTOMER_ITEMS)
        chat_survey = await published_survey(first.stub, CUSTOMER, ["csat.1", "ccomment.1"])
        latest = await published_survey(first.stub, CUSTOMER, ["ces.1"])
    env = {"PULSE_CHANNEL_SURVEYS": f"chat={chat_survey.survey_id}"}
    async with running_survey(database_url, nats_url, tmp_path, **env) as survey:
        now = datetime.now(UTC) - timedelta(minutes=5)

        def event(iid: str, channel: str, survey_id: str = "") -> events_pb2.InteractionCompleted:
            return events_pb2.InteractionCompleted(
                interaction_id=iid,
                unit_id="n1",
                occurred_at=now.isoformat(),
                channel=channel,
                customer_contact=f"{iid}@example.com",
                survey_id=survey_id,
                language="es",
            )

        nc = await nats.connect(survey.nats_url)
        try:
            js = nc.jetstream()
            await publish_event(
                js,
                "pulse.interaction.completed",
                event("i-1", "call", call_survey.survey_id),
                msg_id="e-1",
            )
            await publish_event(
                js, "pulse.interaction.completed", event("i-2", "chat"), msg_id="e-2"
            )
            await publish_event(
                js, "pulse.interaction.completed", event("i-3", "visit"), msg_id="e-3"
            )
        finally:
            await nc.close()
        issued = {e.interaction_id: e for e in await invitation_events(survey, 3)}
        assert issued["i-1"].survey_id == call_survey.survey_id  # named in the event
        assert issued["i-2"].survey_id == chat_survey.survey_id  # PULSE_CHANNEL_SURVEYS
        assert issued["i-3"].survey_id == latest.survey_id  # the latest published
        assert {e.language for e in issued.values()} == {"es"}
        grant = await survey.stub.InspectToken(pb.InspectTokenRequest(token=issued["i-2"].token))
        assert (grant.grant.language, grant.grant.channel) == ("es", "chat")


async def test_weekly_waves_under_monthly_periods_need_the_pooled_k(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    # PULSE_CONTACT_BUDGET_DAYS unset: the budget follows the cadence.
    async with running_survey(
        database_url, nats_url, tmp_path, PULSE_CONTACT_BUDGET_DAYS=""
    ) as survey:
        await make_org(survey.stub)
        small = await published_survey(survey.stub, EMPLOYEE, EMPLOYEE_ITEMS)
        request = pb.ScheduleWaveRequest(
            survey_id=small.survey_id,
            audience_unit_id="north",
            cadence=pb.CADENCE_WEEKLY,
            first_opens_on="2031-03-03",
            count=4,
            open_days=7,
        )
        error = await rpc_error(survey.stub.ScheduleWave(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(error) == "cadence"
        assert "min_group_size of at least 25" in str(error.details())
        created = await survey.stub.CreateSurvey(
            pb.CreateSurveyRequest(
                name="Weekly",
                kind=EMPLOYEE,
                item_ids=EMPLOYEE_ITEMS,
                min_group_size=25,
                min_comment_group_size=25,
            )
        )
        await survey.stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=created.survey.survey_id))
        request.survey_id = created.survey.survey_id
        scheduled = await survey.stub.ScheduleWave(request)
        assert [w.period for w in scheduled.waves] == ["2031-03"] * 4
        # Waves of one survey and audience never overlap.
        request.first_opens_on = "2031-03-20"
        request.count = 1
        clash = await rpc_error(survey.stub.ScheduleWave(request))
        assert clash.code() == grpc.StatusCode.ALREADY_EXISTS
        # Fortnightly waves need 3 x k; monthly waves the survey's own k.
        request.first_opens_on = "2032-01-05"
        request.cadence = pb.CADENCE_FORTNIGHTLY
        request.survey_id = small.survey_id
        error = await rpc_error(survey.stub.ScheduleWave(request))
        assert "at least 15" in str(error.details())
        request.cadence = pb.CADENCE_MONTHLY
        await survey.stub.ScheduleWave(request)


def test_cadences_periods_budgets_and_reminder_rounds() -> None:
    assert cadence.waves_per_period(pb.CADENCE_WEEKLY, "month") == 5
    assert cadence.waves_per_period(pb.CADENCE_FORTNIGHTLY, "month") == 3
    assert cadence.waves_per_period(pb.CADENCE_MONTHLY, "month") == 1
    assert cadence.waves_per_period(pb.CADENCE_WEEKLY, "week") == 1
    assert cadence.pooled_k(5, pb.CADENCE_WEEKLY, "month") == 25
    # The default budget (14 days, not set explicitly) follows the cadence; a set one wins.
    assert cadence.wave_budget_days(14, False, pb.CADENCE_WEEKLY) == 7
    assert cadence.wave_budget_days(14, False, pb.CADENCE_FORTNIGHTLY) == 14
    assert cadence.wave_budget_days(14, False, pb.CADENCE_ONCE) == 14
    assert cadence.wave_budget_days(14, True, pb.CADENCE_WEEKLY) == 14
    closes = date(2031, 3, 10)
    offsets = (3, 1)
    assert cadence.reminder_rounds_due(closes, date(2031, 3, 6), offsets) == 0
    assert cadence.reminder_rounds_due(closes, date(2031, 3, 7), offsets) == 1
    assert cadence.reminder_rounds_due(closes, date(2031, 3, 9), offsets) == 2


def test_delivery_reminder_and_channel_settings_name_the_variable() -> None:
    smtp_env = {
        "PULSE_DELIVERY": "smtp",
        "PULSE_SMTP_HOST": "mail.example.org",
        "PULSE_SMTP_FROM": "pulse@example.org",
    }
    loaded = settings.load_survey_settings(smtp_env).delivery
    assert loaded.smtp is not None
    assert (loaded.smtp.port, loaded.smtp.security) == (587, "starttls")
    assert loaded.smtp.unsubscribe == "mailto:pulse@example.org?subject=unsubscribe"
    for broken, variable in (
        ({"PULSE_SMTP_HOST": ""}, "PULSE_SMTP_HOST"),
        ({"PULSE_SMTP_FROM": "nobody"}, "PULSE_SMTP_FROM"),
        ({"PULSE_SMTP_SECURITY": "ssl3"}, "PULSE_SMTP_SECURITY"),
        ({"PULSE_SMTP_USERNAME": "u"}, "PULSE_SMTP_USERNAME"),
        ({"PULSE_SMTP_RETRY_S": "soon"}, "PULSE_SMTP_RETRY_S"),
        ({"PULSE_SMTP_UNSUBSCRIBE": "http://x"}, "PULSE_SMTP_UNSUBSCRIBE"),
    ):
        with pytest.raises(ConfigError, match=variable):
            settings.load_survey_settings({**smtp_env, **broken})
    assert settings.reminder_policy({}).offsets_days == (3, 1)
    assert settings.reminder_policy({"PULSE_REMINDER_OFFSETS_DAYS": "1,5"}).offsets_days == (5, 1)
    assert settings.reminder_policy({"PULSE_REMINDER_OFFSETS_DAYS": "none"}).offsets_days == ()
    for raw in ("x", "0,1", "2,2"):
        with pytest.raises(ConfigError, match="PULSE_REMINDER_OFFSETS_DAYS"):
            settings.reminder_policy({"PULSE_REMINDER_OFFSETS_DAYS": raw})
    survey_id = "7d0f6c1e-2b1a-4c55-9d7e-3c1f0a9b8e21"
    mapped = settings.load_survey_settings({"PULSE_CHANNEL_SURVEYS": f"Chat={survey_id}"})
    assert mapped.survey_for_channel("chat") == survey_id
    assert mapped.survey_for_channel("call") == ""
    with pytest.raises(ConfigError, match="PULSE_CHANNEL_SURVEYS"):
        settings.load_survey_settings({"PULSE_CHANNEL_SURVEYS": "chat=not-a-survey"})
    assert settings.load_survey_settings({"PULSE_CONTACT_BUDGET_DAYS": "10"}).budget_explicit
    assert not settings.load_survey_settings({}).budget_explicit


@pytest.mark.parametrize("kind", list(measures.KIND_NAMES.values()))
@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_mail_templates_render_every_kind_and_language(kind: int, language: str) -> None:
    rendered = mail_templates.render(
        mail_templates.MailContext(
            kind=kind,
            language=language,
            survey_name="Pulse <script>",
            unit_name="Team & Co",
            channel="call",
            last_day=date(2031, 3, 9),
            k=5,
            period="month",
            link="https://pulse.example/s/abc",
            reminder=False,
        )
    )
    assert rendered.language == (language if language != "fr" else "en")
    assert "https://pulse.example/s/abc" in rendered.plain_text
    assert "<script>" not in rendered.html  # every value escaped in HTML
    assert "Team &amp; Co" in rendered.html or "Pulse &lt;script&gt;" in rendered.html
    assert "2031" in rendered.plain_text  # the last day, written out
    assert "{{" not in rendered.plain_text + rendered.html + rendered.subject
    assert "\n" not in rendered.subject


def test_mail_dates_are_written_in_the_language() -> None:
    def last_day_line(language: str) -> str:
        rendered = mail_templates.render(
            mail_templates.MailContext(
                kind=EMPLOYEE,
                language=language,
                survey_name="Pulse",
                unit_name="N1",
                channel="email",
                last_day=date(2031, 3, 9),
                k=5,
                period="week",
                link="l",
                reminder=True,
            )
        )
        return rendered.plain_text

    assert "9. März 2031" in last_day_line("de")
    assert "der Woche" in last_day_line("de")
    assert "9 de marzo de 2031" in last_day_line("es")
    assert "March 9, 2031" in last_day_line("en")
