"""axe-core (npm ``axe-core``, installed by the project's ``npm ci``) in Debian's Chromium
against the real stack: no WCAG 2.1 AA violation on any page a leader or a respondent meets,
at 1366 and 375 px, including the forms' error states; no horizontal page scroll at 320 and
375 px; after a failed submit the title says "Error", focus is on the error summary and
what was typed is still there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pulse_testing.web import (
    PASSWORD,
    customer_tokens,
    publish_linked_responses,
    recent_periods,
    serve,
    wait_ingested,
    web_stack,
)

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
HAVE_AXE = AXE.exists()
# The rules of WCAG 2.0 and 2.1, levels A and AA (axe-core's tags).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""
WIDTH = "() => document.documentElement.scrollWidth"
FOCUSED = "() => document.activeElement ? document.activeElement.id : ''"


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium not installed (apt-get install chromium); .ci/run installs it")
    if not HAVE_AXE:
        pytest.skip("axe-core not installed: run `make setup` (npm ci)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Audit:
    """Runs axe-core on each page visited; collects every violation to report them all."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.found: list[str] = []
        self.source = AXE.read_text(encoding="utf-8")

    async def check(self, page: Any, name: str) -> None:
        await page.evaluate(self.source)  # evaluated by the browser's devtools, not the page
        for violation in await page.evaluate(RUN_AXE, WCAG_AA):
            self.found.append(f"{name} @ {self.width}px: {violation}")
        scroll = await page.evaluate(WIDTH)
        if scroll > self.width + 1:
            self.found.append(f"{name} @ {self.width}px: the page is {scroll} px wide")


async def sign_in(page: Any, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", "leader")
    await page.fill("#password", PASSWORD)
    await page.press("#password", "Enter")
    await page.wait_for_url(f"{base}/dashboard")


async def failed_submit(page: Any, audit: Audit, name: str) -> None:
    """An empty survey sent: the error state, its title and where focus went."""
    await page.click("form.survey button[type=submit]")
    await page.wait_for_selector("#error-summary")
    assert (await page.title()).startswith("Error: "), await page.title()
    assert await page.evaluate(FOCUSED) == "error-summary"
    await audit.check(page, name + " error")
    # The summary's first link puts focus on the first input of its question.
    first = page.locator("#error-summary a").first
    target = (await first.get_attribute("href") or "#").removeprefix("#")
    await first.click()
    assert await page.evaluate(FOCUSED) == target


@pytest.mark.parametrize("width", [1366, 375])
async def test_no_wcag_aa_violation_on_any_page(
    database_url: str, nats_url: str, width: int
) -> None:
    async with web_stack(database_url, nats_url, people_per_team=1) as web:
        periods = recent_periods(3)
        published = await publish_linked_responses(web, periods, small=("s4", periods[-1], 3))
        await wait_ingested(web, published)
        customer = (await customer_tokens(web, 1))[0]
        async with serve(web.app) as base, chromium() as browser:
            # The audit finds what it should: a page with an unlabelled image fails it.
            canary = await browser.new_page()
            await canary.set_content('<html lang="en"><title>t</title><img src="x.png"></html>')
            known = Audit(1366)
            await known.check(canary, "canary")
            assert any("image-alt" in line for line in known.found), known.found
            await canary.close()
            problems: list[str] = []
            audit = Audit(width)
            context = await browser.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            await page.goto(f"{base}/login")
            await audit.check(page, "sign-in")
            await sign_in(page, base)
            await audit.check(page, "dashboard")
            await page.goto(f"{base}/dashboard?scope=south")
            await audit.check(page, "drill-down")
            await page.goto(f"{base}/reports")
            await audit.check(page, "reports")

            # A report form error keeps what was typed, beside its field.
            await page.fill("#from", "March")
            await page.fill("#to", periods[-1])
            await page.click("form[action='/reports'] button[type=submit]")
            await page.wait_for_selector("#error-summary")
            assert (await page.title()).startswith("Error: ")
            assert await page.evaluate(FOCUSED) == "error-summary"
            assert await page.input_value("#from") == "March"
            assert await page.input_value("#to") == periods[-1]
            assert "Must be a month like" in await page.inner_text("#from-error")
            await audit.check(page, "reports error")

            await page.goto(f"{base}/reports")
            await page.select_option("#scope", "root")
            async with page.expect_navigation():
                await page.click("form[action='/reports'] button[type=submit]")
            await page.wait_for_selector("#chart-drivers")
            await audit.check(page, "report")
            report_path = page.url.removeprefix(base)
            await page.goto(f"{base}/recognition?unit=n1")
            await audit.check(page, "recognition")
            if width == 375:
                await page.set_viewport_size({"width": 320, "height": 800})
                for path in ("/dashboard", "/dashboard?scope=south", "/reports", report_path):
                    await page.goto(base + path)
                    scroll = await page.evaluate(WIDTH)
                    if scroll > 321:
                        problems.append(f"{path} @ 320px: the page is {scroll} px wide")
            await context.close()

            respondent = await browser.new_context(viewport={"width": width, "height": 900})
            page = await respondent.new_page()
            for name, token in (("employee form", web.tokens[0]), ("customer form", customer)):
                await page.goto(f"{base}/s/{token}")
                await audit.check(page, name)
                await failed_submit(page, audit, name)
            await page.goto(f"{base}/s/thanks")
            await audit.check(page, "thank-you")
            await page.goto(f"{base}/s/{'x' * 43}")
            await audit.check(page, "used link")
            if width == 375:
                await page.set_viewport_size({"width": 320, "height": 800})
                for path in (f"/s/{web.tokens[0]}", f"/s/{customer}", "/s/thanks"):
                    await page.goto(base + path)
                    scroll = await page.evaluate(WIDTH)
                    if scroll > 321:
                        problems.append(f"{path} @ 320px: the page is {scroll} px wide")
            await respondent.close()
            problems.extend(audit.found)
            assert not problems, "\n".join(problems)
