"""The leaders' dashboard over HTTP against the real services: the summary landing page,
drill-down one level per page, words instead of codes, intervals inside their scale, CSV
downloads, comments, and no 5xx when four leaders use it at once."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pulse_testing.web import (
    PASSWORD,
    WebStack,
    publish_linked_responses,
    recent_periods,
    wait_ingested,
    web_stack,
)
from pulse_web.accounts import hash_password

LEADERS = ("leader", "north_lead", "south_lead", "team_lead")


def accounts() -> str:
    encoded = hash_password(PASSWORD, iterations=10_000)
    scopes = {"leader": "", "north_lead": "north", "south_lead": "south", "team_lead": "n1"}
    return ";".join(f"{name}:{encoded}:{scope}" for name, scope in scopes.items())


@pytest.fixture
async def web(database_url: str, nats_url: str) -> AsyncIterator[WebStack]:
    async with web_stack(
        database_url,
        nats_url,
        people_per_team=5,
        PULSE_WEB_ACCOUNTS=accounts(),
        PULSE_MIN_COMMENT_GROUP_SIZE="5",
        PULSE_WEB_SUBMIT_RATE_LIMIT="1000",
    ) as stack:
        periods = recent_periods(3)
        published = await publish_linked_responses(
            web=stack, periods=periods, small=("s4", periods[-1], 3)
        )
        await wait_ingested(stack, published)
        yield stack


def client_for(web: WebStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.app), base_url="http://testserver"
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def sign_in(http: httpx.AsyncClient, username: str) -> None:
    csrf = hidden((await http.get("/login")).text, "csrf")
    reply = await http.post(
        "/login", data={"csrf": csrf, "username": username, "password": PASSWORD}
    )
    assert reply.status_code == 303


def visible_text(html: str) -> list[str]:
    """Text between tags outside scripts (what a reader sees, including hidden helpers)."""
    body = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return [t.strip() for t in re.findall(r">([^<]+)<", body) if t.strip()]


def chart_data(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html)
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_landing_drill_down_words_and_intervals(web: WebStack) -> None:
    async with client_for(web) as http:
        await sign_in(http, "leader")
        landing = await http.get("/dashboard")
        assert landing.status_code == 200, landing.text
        html = landing.text
        assert "<h1>Root" in html
        for name in ("Fairness", "Manager support", "Customer satisfaction (CSAT)"):
            assert f'<span class="tile-name">{name}</span>' in html
        assert "since" in html  # changes against the previous period
        # No internal code in any text a leader reads.
        for text in visible_text(html):
            assert not re.search(r"\b(treatment\.\w+|sup\.1|fair\.1|csat\.1|below_k)\b", text), text
        # One level per page: the two divisions, never the teams below them.
        assert 'href="/dashboard?scope=north"' in html
        assert 'href="/dashboard?scope=south"' in html
        assert "Team N1" not in html.split('id="children-heading"')[1].split("</table>")[0]
        charts = chart_data(html)
        trend = charts["trend"]
        assert isinstance(trend, dict)
        bounds = [v for v in trend["low"] + trend["high"] if v is not None]
        assert bounds, "the trend has an interval"
        assert all(0 <= v <= 100 for v in bounds)
        assert trend["min"] == 0
        assert trend["max"] == 100
        trends = charts["trends"]
        assert isinstance(trends, dict)
        assert trends["lines"]
        assert {line["label"] for line in trends["lines"]} >= {"Fairness", "Manager support"}

        north = await http.get("/dashboard", params={"scope": "north"})
        assert north.status_code == 200
        assert '<nav aria-label="Where you are"' in north.text
        assert 'href="/dashboard?scope=root">Root</a>' in north.text
        assert 'href="/dashboard?scope=n1">Team N1</a>' in north.text
        team = await http.get("/dashboard", params={"scope": "n1"})
        assert team.status_code == 200
        assert 'id="children-heading"' not in team.text  # a team has no level below

        south = await http.get("/dashboard", params={"scope": "south"})
        assert "not shown: fewer than 5 responses; counted in South" in south.text
        bad = await http.get("/dashboard", params={"construct": "Robert'); DROP"})
        assert bad.status_code == 422
        assert "construct" in bad.text


async def test_heatmap_trends_and_comments_download(web: WebStack) -> None:
    # Five people of team N1 answer with a comment: at the comment threshold (5).
    async with client_for(web) as http:
        answered = 0
        for token in web.tokens:
            form = await http.get(f"/s/{token}")
            if "Team N1" not in form.text:
                continue
            answers = {
                "csrf": hidden(form.text, "csrf"),
                "idempotency_key": hidden(form.text, "idempotency_key"),
                "a_rec.1": "4",
                "a_fair.1": "3",
                "a_sup.1": "5",
                "a_voice.2": "4",
                "a_enps.1": "9",
                "a_ecomment.1": f"Shift handover works well, call me on 0612345678 ({answered}).",
            }
            done = await http.post(f"/s/{token}", data=answers)
            assert done.status_code in (200, 303), done.text
            answered += 1
        assert answered == 5

    async with client_for(web) as http:
        await sign_in(http, "north_lead")
        heat = await http.get("/dashboard/heatmap.csv", params={"scope": "north"})
        assert heat.status_code == 200
        assert heat.headers["content-type"].startswith("text/csv")
        table = rows_of(heat.text)
        assert table[0][:5] == ["Unit", "Unit id", "Period", "Measure", "Measure code"]
        units = {row[1] for row in table[1:]}
        assert units == {"north", "n1", "n2", "n3", "n4"}
        fairness = [row for row in table[1:] if row[4] == "treatment.fairness"]
        assert fairness
        assert all(row[3] == "Fairness" for row in fairness)
        shown = [row for row in fairness if row[9] == "yes"]
        assert shown
        assert all(0 <= float(row[6]) <= float(row[5]) <= float(row[7]) <= 100 for row in shown)
        trends = rows_of((await http.get("/dashboard/trends.csv", params={"scope": "n2"})).text)
        assert {row[1] for row in trends[1:]} == {"n2"}
        assert (
            await http.get("/dashboard/heatmap.csv", params={"scope": "south"})
        ).status_code == 403

        page = await http.get("/comments", params={"unit": "n1"})
        assert page.status_code == 200, page.text
        assert page.text.count("Shift handover works well") == 5
        assert "0612345678" not in page.text  # redacted by the response service
        other = await http.get("/comments", params={"unit": "n2"})
        assert "Not shown: comments are shown only for groups of at least 5 responses" in other.text
        download = await http.get("/comments.csv", params={"unit": "n1"})
        comments = rows_of(download.text)
        assert comments[0] == ["Period", "Unit", "Unit id", "Survey", "Comment", "Shown"]
        assert sum("Shift handover" in row[4] for row in comments[1:]) == 5
        assert comments[1][0] == web.period  # newest period first
        assert (await http.get("/comments", params={"unit": "s1"})).status_code == 403


async def test_four_concurrent_leaders_never_get_a_5xx(web: WebStack) -> None:
    pages = [
        ("/dashboard", {}),
        ("/dashboard", {"scope": "north"}),
        ("/dashboard", {"scope": "n1"}),
        ("/dashboard/heatmap.csv", {}),
        ("/dashboard/trends.csv", {}),
        ("/comments", {}),
        ("/reports", {}),
    ]
    statuses: list[tuple[str, str, int]] = []

    async def leader(name: str) -> None:
        async with client_for(web) as http:
            await sign_in(http, name)
            for _ in range(2):
                replies = await asyncio.gather(*(http.get(path, params=p) for path, p in pages))
                statuses.extend((name, r.request.url.path, r.status_code) for r in replies)

    await asyncio.gather(*(leader(name) for name in LEADERS))
    assert len(statuses) == len(LEADERS) * 2 * len(pages)
    assert not [s for s in statuses if s[2] >= 500], statuses
    # Each leader sees their own scope; a scope above it is refused, not an error.
    assert {s[2] for s in statuses} <= {200, 403}
