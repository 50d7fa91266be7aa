"""A leader's Monday in Debian's Chromium (Playwright, ``executable_path``) against the real
stack served by uvicorn: the summary landing page, drill-down to a team, a linkage report,
comments and the CSV downloads, at desktop width and at 375 px. Screenshots go to
artifacts/screenshots/ (dashboard_*.png)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulse_testing.web import (
    PASSWORD,
    SCREENSHOTS,
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
# Codes that must never reach a label a leader reads.
INTERNAL = re.compile(r"\b(treatment\.\w+|top2box|sup\.1|fair\.1|csat\.1|below_k|rolled_up)\b")

CHARTS = """() => Array.from(document.querySelectorAll("canvas")).map(c => {
  const chart = Chart.getChart(c);
  if (!chart) { return {id: c.id, drawn: false}; }
  const values = chart.data.datasets.flatMap(d => d.data).map(v =>
    v === null || v === undefined ? null : (typeof v === "object" && !Array.isArray(v) ? v.y : v));
  const scales = Object.values(chart.scales).map(s => ({id: s.id, title: s.options.title.text,
    min: s.min, max: s.max}));
  return {id: c.id, drawn: true, values: values.flat(), scales: scales,
    labels: (chart.data.labels || []).concat(chart.data.datasets.map(d => d.label || ""))};
})"""


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


async def check_page(page: Any, width: int, labels: str = "main") -> list[dict[str, Any]]:
    """No internal code in the text (``labels``: which elements), no horizontal overflow,
    every chart drawn with data and labelled axes."""
    for text in await page.locator(labels).all_inner_texts():
        assert not INTERNAL.search(text), INTERNAL.search(text)
    overflow = await page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"page is {overflow} px wide at {width} px"
    charts: list[dict[str, Any]] = await page.evaluate(CHARTS)
    for chart in charts:
        assert chart["drawn"], chart["id"]
        assert any(v is not None for v in chart["values"]), f"blank chart {chart['id']}"
        for label in chart["labels"]:
            assert not INTERNAL.search(str(label)), (chart["id"], label)
        for scale in chart["scales"]:
            assert scale["title"], (chart["id"], scale["id"])  # every axis says what it shows
    return charts


async def comment_as_team_n1(base: str, tokens: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        answered = 0
        for token in tokens:
            form = await http.get(f"/s/{token}")
            if "Team N1" not in form.text or answered == 5:
                continue
            fields = dict(re.findall(r'name="(csrf|idempotency_key)" value="([^"]*)"', form.text))
            answers = {"a_rec.1": "4", "a_fair.1": "3", "a_sup.1": "5", "a_voice.2": "4"}
            answers["a_enps.1"] = "9"
            answers["a_ecomment.1"] = "The new rota gives us time to help customers properly."
            done = await http.post(f"/s/{token}", data={**fields, **answers})
            assert done.status_code in (200, 303)
            answered += 1
        assert answered == 5


async def test_a_leaders_monday_at_desktop_and_phone_width(
    database_url: str, nats_url: str
) -> None:
    async with web_stack(
        database_url,
        nats_url,
        people_per_team=5,
        PULSE_MIN_COMMENT_GROUP_SIZE="5",
        PULSE_WEB_SUBMIT_RATE_LIMIT="1000",
    ) as web:
        periods = recent_periods(3)
        published = await publish_linked_responses(web, periods, small=("s4", periods[-1], 3))
        await wait_ingested(web, published)
        async with serve(web.app) as base, chromium() as browser:
            await comment_as_team_n1(base, web.tokens)
            for width, suffix in ((1280, ""), (375, "_375")):
                context = await browser.new_context(
                    viewport={"width": width, "height": 900}, accept_downloads=True
                )
                page = await context.new_page()
                await page.goto(f"{base}/login")
                await page.fill("#username", "leader")
                await page.fill("#password", PASSWORD)
                await page.press("#password", "Enter")
                await page.wait_for_url(f"{base}/dashboard")
                charts = await check_page(page, width)
                assert {c["id"] for c in charts} >= {"chart-trends", "chart-trend", "chart-link"}
                trend = next(c for c in charts if c["id"] == "chart-trend")
                y = next(s for s in trend["scales"] if s["id"] == "y")
                assert (y["min"], y["max"]) == (0, 100)
                assert all(0 <= v <= 100 for v in trend["values"] if v is not None)
                assert await page.locator(".tile").count() >= 6
                await shot(page, f"dashboard_landing{suffix}")

                await page.click('#children-heading ~ div a[href="/dashboard?scope=south"]')
                await page.wait_for_url(f"{base}/dashboard?scope=south")
                await check_page(page, width)
                # S4 is too small this period; a sibling hides so S4 cannot be subtracted.
                small = page.locator('td.heat-suppressed[title*="counted in South"]').first
                assert (await small.inner_text()).startswith("too few responses")
                guard = page.locator('td.heat-suppressed[title*="worked out by subtraction"]')
                assert (await guard.first.inner_text()).startswith("protects a small group")
                await shot(page, f"dashboard_division{suffix}")

                await page.goto(f"{base}/dashboard?scope=n1")
                await check_page(page, width)
                assert await page.locator("nav.crumbs li").count() == 3
                await shot(page, f"dashboard_team{suffix}")

                async with page.expect_download() as download_info:
                    await page.click("text=trends of Team N1")
                download = await download_info.value
                saved = await download.path()
                assert saved is not None
                content = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8")
                assert content.startswith("Unit,Unit id,Period,Measure,Measure code")
                assert "Team N1,n1," in content
                assert ",Fairness,treatment.fairness," in content

                await page.goto(f"{base}/comments?unit=n1")
                await check_page(page, width)
                assert await page.locator(".comments-list li").count() == 5
                await shot(page, f"dashboard_comments{suffix}")
                async with page.expect_download() as download_info:
                    await page.click("text=these comments (CSV)")
                assert (await download_info.value).suggested_filename == "comments-n1.csv"

                if width > 375:
                    await page.goto(f"{base}/reports")
                    await page.select_option("#scope", "root")
                    async with page.expect_navigation():
                        await page.click("form[action='/reports'] button[type=submit]")
                    report_url = page.url
                else:
                    await page.goto(report_url)
                await page.wait_for_selector("#chart-drivers")
                # The report's labels: headings, table heads and captions, chart labels.
                # (Its item-level reliability notes name items by id: the verdict's issue.)
                labels = "main h1, main h2, main h3, main th, main caption, main label"
                charts = await check_page(page, width, labels)
                assert all(c["drawn"] for c in charts)
                await shot(page, f"dashboard_report{suffix}")
                await context.close()
