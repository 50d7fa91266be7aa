"""Debian's Chromium driven through Playwright against the real stack served by uvicorn:
a survey answered with the keyboard alone, the used-link page, a leader's linkage report
with its charts drawn, and subtree scoping. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pulse_testing.web import (
    PASSWORD,
    SCREENSHOTS,
    WebStack,
    publish_linked_responses,
    recent_periods,
    serve,
    wait_ingested,
    web_stack,
)

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
        await page.wait_for_url(f"{base}/s/thanks")
        assert answered == {"a_rec.1", "a_fair.1", "a_sup.1", "a_voice.2", "a_enps.1"}
        assert await page.locator("h1").inner_text() == "Thank you"
        assert web.tokens[0] not in page.url
        await shot(page, "survey_thanks")

        reply = await page.goto(link)
        assert reply is not None
        assert reply.status == 410
        assert "This survey link is not valid" in await page.locator("h1").inner_text()
        await shot(page, "survey_used_link")


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
