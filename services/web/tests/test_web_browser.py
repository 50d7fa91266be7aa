"""Debian's Chromium driven through Playwright against the real stack served by uvicorn:
a survey answered with the keyboard alone, the used-link page, a leader's linkage report
with its charts drawn, and subtree scoping. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_testing.web import (
    PASSWORD,
    SCREENSHOTS,
    WebStack,
    invitation_tokens,
    publish_linked_responses,
    recent_periods,
    serve,
    wait_ingested,
    web_stack,
)
from pulse_web import i18n

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium not installed (apt-get install chromium); .ci/run installs it")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


FOCUSED = """() => {
  const e = document.activeElement;
  return {tag: e.tagName, type: e.type || "", name: e.name || "", id: e.id || ""};
}"""


async def test_survey_answered_with_the_keyboard_alone(database_url: str, nats_url: str) -> None:
    async with (
        web_stack(database_url, nats_url, with_correlation=False) as web,
        serve(web.app) as base,
        chromium() as browser,
    ):
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.goto(f"{base}/s/{web.tokens[1]}")
        await shot(phone, "survey_form_phone")
        await phone.close()

        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        link = f"{base}/s/{web.tokens[0]}"
        await page.goto(link)
        await shot(page, "survey_form")
        answered: set[str] = set()
        for _ in range(150):  # Tab through the page; no mouse anywhere in this flow
            await page.keyboard.press("Tab")
            focus = await page.evaluate(FOCUSED)
            if focus["type"] == "radio" and focus["name"] not in answered:
                answered.add(focus["name"])
                # The first option of an unanswered group takes focus; Space picks it and
                # each ArrowDown moves the choice one step.
                await page.keyboard.press("Space")
                steps = 8 if focus["name"] == "a_enps.1" else 3
                for _ in range(steps):
                    await page.keyboard.press("ArrowDown")
            elif focus["tag"] == "TEXTAREA":
                await page.keyboard.type("The team lead listens and makes time for us.")
            elif focus["tag"] == "BUTTON" and focus["type"] == "submit":
                await shot(page, "survey_form_filled")
                await page.keyboard.press("Enter")
                break
        else:
            raise AssertionError("never reached the submit button with Tab")
        await page.wait_for_url(f"{base}/s/thanks?lang=en")
        assert answered == {"a_rec.1", "a_fair.1", "a_sup.1", "a_voice.2", "a_enps.1"}
        assert await page.locator("h1").inner_text() == "Thank you"
        assert web.tokens[0] not in page.url
        await shot(page, "survey_thanks")

        # The same browser is thanked again; another one is told the link is spent.
        await page.goto(link)
        assert await page.locator("h1").inner_text() == "Thank you"
        elsewhere = await browser.new_page()
        reply = await elsewhere.goto(link)
        assert reply is not None
        assert reply.status == 410
        assert "This survey link is not valid" in await elsewhere.locator("h1").inner_text()
        await shot(elsewhere, "survey_used_link")


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.press("#password", "Enter")
    await page.wait_for_url(f"{base}/dashboard")


CHARTS = """() => Array.from(document.querySelectorAll("canvas")).map(c => ({
  id: c.id, drawn: Chart.getChart(c) !== undefined, width: c.width, height: c.height
}))"""


async def seeded_report_stack(web: WebStack) -> list[str]:
    periods = recent_periods(3)
    published = await publish_linked_responses(web, periods)
    await wait_ingested(web, published)
    return periods


async def test_leader_sees_charts_and_only_their_subtree(database_url: str, nats_url: str) -> None:
    async with web_stack(database_url, nats_url) as web:
        periods = await seeded_report_stack(web)
        async with serve(web.app) as base, chromium() as browser:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"{base}/login")
            await shot(page, "login")
            await sign_in(page, base, "leader")
            await page.goto(f"{base}/dashboard?from={periods[0]}&to={periods[-1]}")
            await shot(page, "dashboard")

            await page.goto(f"{base}/reports")
            await page.select_option("#scope", "root")
            await page.fill("#from", periods[0])
            await page.fill("#to", periods[-1])
            await page.select_option("#outcome", "csat")
            await page.fill("#max_lag", "1")
            await shot(page, "reports")
            async with page.expect_navigation():
                await page.press("#max_lag", "Enter")
            assert "/reports/" in page.url
            report_url = page.url
            assert await page.locator("#verdict-heading").count() == 1
            charts = {c["id"]: c for c in await page.evaluate(CHARTS)}
            assert set(charts) >= {"chart-scatter", "chart-lags", "chart-drivers"}, charts
            for chart in charts.values():
                assert chart["drawn"], chart
                assert chart["width"] > 0, chart
                assert chart["height"] > 0, chart
            await shot(page, "report")

            csv = await page.request.get(f"{report_url}.csv")
            assert csv.status == 200
            assert "attachment" in csv.headers["content-disposition"]
            exported = await page.request.get(f"{report_url}.json")
            assert exported.status == 200

            await page.goto(f"{base}/recognition?unit=n1")
            await shot(page, "recognition")

            scoped = await browser.new_page(viewport={"width": 1200, "height": 900})
            await sign_in(scoped, base, "north_lead")
            await shot(scoped, "dashboard_north")
            for path in ("/recognition?unit=s2", "/dashboard?scope=south"):
                refused = await scoped.goto(base + path)
                assert refused is not None
                assert refused.status == 403, path
                assert await scoped.locator("h1").inner_text() == "Not allowed"
            await shot(scoped, "forbidden")
            # Reports belong to the leader who ran them: another's is simply not there.
            other = await scoped.goto(report_url)
            assert other is not None
            assert other.status == 404


async def test_respondents_get_their_language_in_full(database_url: str, nats_url: str) -> None:
    """German from the invitation (a customer whose CRM record says de), Spanish from the
    browser (an employee with no language on the roster), and the switch on the page."""
    async with (
        web_stack(database_url, nats_url, with_correlation=False) as web,
        serve(web.app) as base,
        chromium() as browser,
    ):
        # The customer survey's next version names itself in German and Spanish too.
        customer = web.customer_survey
        await web.survey.CreateSurvey(
            survey_pb.CreateSurveyRequest(
                survey_id=customer.survey_id,
                name=customer.name,
                kind=customer.kind,
                item_ids=[item.item_id for item in customer.items],
                name_translations={"de": "Nach Ihrem Besuch", "es": "Después de su visita"},
            )
        )
        await web.survey.PublishSurvey(survey_pb.PublishSurveyRequest(survey_id=customer.survey_id))

        recorded: list[str] = []

        async def customer_token(iid: str, language: str) -> str:
            await web.survey.RecordInteraction(
                survey_pb.RecordInteractionRequest(
                    interaction=survey_pb.Interaction(
                        interaction_id=iid,
                        unit_id="n1",
                        occurred_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        channel="call",
                        customer_key=f"K-{iid}",
                        customer_contact=f"{iid}@example.com",
                        language=language,
                    ),
                    survey_id=customer.survey_id,
                )
            )
            recorded.append(iid)
            tokens = await invitation_tokens(
                web.nats_url, len(recorded), kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION
            )
            return tokens[len(recorded) - 1]

        german_token = await customer_token("call-de-1", "de")
        english_only = [m for m in i18n.catalog("de") if len(m) > 12]
        english_items = [item.text for item in web.customer_survey.items]

        # The browser asks for English; the invitation's German wins.
        page = await browser.new_page(viewport={"width": 1000, "height": 900}, locale="en-US")
        await page.goto(f"{base}/s/{german_token}")
        assert await page.get_attribute("html", "lang") == "de"
        text = await page.locator("body").inner_text()
        assert await page.locator("h1").inner_text() == "Nach Ihrem Besuch"
        assert "Zu Ihrem Kontakt (Anruf) mit Team N1" in text
        assert "Wie zufrieden sind Sie insgesamt mit dem Service" in text
        assert "5 – Sehr zufrieden" in text
        assert [m for m in [*english_only, *english_items, customer.name] if m in text] == []
        await shot(page, "survey_form_de")
        await page.click("button[type=submit]")  # nothing answered: errors, in German
        text = await page.locator("body").inner_text()
        assert "Bitte prüfen Sie 3 Antworten" in text
        assert "Bitte beantworten Sie diese Frage." in text
        await shot(page, "survey_errors_de")
        for name, value in (("a_csat.1", "5"), ("a_staff.1", "5"), ("a_nps.1", "10")):
            await page.check(f"input[name='{name}'][value='{value}']")
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/s/thanks?lang=de")
        assert await page.locator("h1").inner_text() == "Vielen Dank"
        assert await page.get_attribute("html", "lang") == "de"
        await shot(page, "survey_thanks_de")
        # The same browser opening the link again is thanked again; another one is told the
        # link is spent, in German too.
        await page.goto(f"{base}/s/{german_token}")
        assert await page.locator("h1").inner_text() == "Vielen Dank"
        elsewhere = await browser.new_page(locale="de-DE")
        used = await elsewhere.goto(f"{base}/s/{german_token}")
        assert used is not None
        assert used.status == 410
        assert await elsewhere.locator("h1").inner_text() == "Dieser Umfragelink ist ungültig"
        await shot(elsewhere, "survey_used_link_de")

        # A customer whose CRM knows no language, in a Spanish browser.
        spanish_token = await customer_token("call-es-1", "")
        context = await browser.new_context(viewport={"width": 1000, "height": 900}, locale="es-ES")
        spanish = await context.new_page()
        await spanish.goto(f"{base}/s/{spanish_token}")
        assert await spanish.get_attribute("html", "lang") == "es"
        assert await spanish.locator("h1").inner_text() == "Después de su visita"
        text = await spanish.locator("body").inner_text()
        assert "Sobre su llamada con Team N1" in text
        assert "¿Qué probabilidad hay de que nos recomiende" in text
        english_only = [m for m in i18n.catalog("es") if len(m) > 12]
        assert [m for m in [*english_only, *english_items, customer.name] if m in text] == []
        await shot(spanish, "survey_form_es")

        # An employee without a roster language, in the same Spanish browser, and the switch.
        await spanish.goto(f"{base}/s/{web.tokens[2]}")
        assert await spanish.get_attribute("html", "lang") == "es"
        text = await spanish.locator("body").inner_text()
        team = re.search(r"Para su equipo: (Team [NS]\d)", text)
        assert team is not None
        assert "Las decisiones que me afectan se toman de forma justa." in text
        assert "Totalmente de acuerdo" in text
        employee_items = [item.text for item in web.employee_survey.items]
        assert [m for m in english_only + employee_items if m in text] == []
        await shot(spanish, "survey_form_employee_es")
        # The switch on the page: English, then German.
        await spanish.click("nav.language-switch >> text=English")
        assert await spanish.get_attribute("html", "lang") == "en"
        assert f"For your team: {team.group(1)}" in await spanish.locator("body").inner_text()
        await spanish.click("nav.language-switch >> text=Deutsch")
        assert await spanish.get_attribute("html", "lang") == "de"
        assert f"Für Ihr Team: {team.group(1)}" in await spanish.locator("body").inner_text()
        await context.close()
