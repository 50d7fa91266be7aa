"""Issue 22 over HTTP against the real services: leaders' form and filter errors stay on
their page beside the field, in words, keeping what was typed; an unknown scope is an error;
the report page reads without developer messages; the respondent form's error summary leads
to inputs; the favicon; static files compressed and cached, pages never."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
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

DEVELOPER = re.compile(r"need at least|not computed:|\(got \d+\)|period_from|scope_unit_id")


@pytest.fixture
async def web(database_url: str, nats_url: str) -> AsyncIterator[WebStack]:
    async with web_stack(database_url, nats_url, people_per_team=1) as stack:
        yield stack


def client_for(web: WebStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.app), base_url="http://testserver"
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert match
    return match.group(1)


def summary_targets(html: str) -> list[str]:
    summary = html[html.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    return re.findall(r'<a href="#([^"]+)"', summary)


async def sign_in(http: httpx.AsyncClient, username: str) -> None:
    csrf = hidden((await http.get("/login")).text, "csrf")
    reply = await http.post(
        "/login", data={"csrf": csrf, "username": username, "password": PASSWORD}
    )
    assert reply.status_code == 303


async def test_leader_forms_keep_input_and_show_errors_beside_fields(web: WebStack) -> None:
    async with client_for(web) as http:
        await sign_in(http, "leader")
        csrf = hidden((await http.get("/reports")).text, "csrf")
        form = {"csrf": csrf, "scope": "", "from": "March", "to": "2026-13"}
        bad = await http.post("/reports", data={**form, "outcome": "csat", "max_lag": "9"})
        # The form again (not an error page), every problem beside its field, in words.
        assert bad.status_code == 422
        assert "<h1>Linkage reports</h1>" in bad.text
        assert title(bad.text).startswith("Error: ")
        assert summary_targets(bad.text) == ["from", "to", "max_lag"]
        assert 'id="error-summary" autofocus' in bad.text
        for name in ("from", "to", "max_lag"):
            assert f'<p class="field-error" id="{name}-error">' in bad.text
            assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', bad.text)
        assert "From period: Must be a month like" in bad.text
        assert "Largest lag: Must be a whole number from 0 to 6" in bad.text
        # What was typed is still there.
        assert 'name="from" value="March"' in bad.text
        assert 'name="to" value="2026-13"' in bad.text
        assert 'name="max_lag" value="9"' in bad.text
        assert not DEVELOPER.search(bad.text)

        # An unknown scope is an error (never silently the whole organisation).
        unknown = await http.post(
            "/reports",
            data={"csrf": csrf, "scope": "ZZZ-not-a-unit", "outcome": "csat", "max_lag": "1"},
        )
        assert unknown.status_code == 422
        assert summary_targets(unknown.text) == ["scope"]
        assert "&#39;ZZZ-not-a-unit&#39; is not a unit of the organisation" in unknown.text
        reports = await http.get("/reports")
        assert "ZZZ" not in reports.text  # no report was stored for it
        # The unit picker is an indented tree: a division's teams follow it, one step in.
        picker = re.findall(r'<option value="(\w+)">(\xa0*)', reports.text)
        order = [unit for unit, _ in picker]
        assert order.index("north") < order.index("n1") < order.index("south")
        depth = {unit: len(pad) for unit, pad in picker}
        assert depth["n1"] == depth["north"] + 3 == depth["root"] + 6

        # The dashboard's filters: the same, on the dashboard itself.
        page = await http.get("/dashboard", params={"from": "last month", "construct": "BAD!"})
        assert page.status_code == 422
        assert title(page.text).startswith("Error: Dashboard")
        assert summary_targets(page.text) == ["from", "construct"]
        assert 'name="from" value="last month"' in page.text
        assert "Measure: Is not a measure code like treatment.fairness" in page.text
        nowhere = await http.get("/dashboard", params={"scope": "nope"})
        assert nowhere.status_code == 422
        assert summary_targets(nowhere.text) == ["scope"]
        assert '<details class="scope-picker" open>' in nowhere.text

    async with client_for(web) as http:
        # A leader scoped to the north still gets 403 outside it, known unit or not.
        await sign_in(http, "north_lead")
        assert (await http.get("/dashboard", params={"scope": "south"})).status_code == 403
        assert (await http.get("/dashboard", params={"scope": "nope"})).status_code == 403
        csrf = hidden((await http.get("/reports")).text, "csrf")
        outside = {"csrf": csrf, "scope": "south", "outcome": "csat", "max_lag": "1"}
        assert (await http.post("/reports", data=outside)).status_code == 403


async def test_a_one_team_report_reads_in_words(web: WebStack) -> None:
    published = await publish_linked_responses(web, recent_periods(3))
    await wait_ingested(web, published)
    async with client_for(web) as http:
        await sign_in(http, "leader")
        csrf = hidden((await http.get("/reports")).text, "csrf")
        run = await http.post(
            "/reports", data={"csrf": csrf, "scope": "n1", "outcome": "csat", "max_lag": "1"}
        )
        assert run.status_code == 303, run.text
        report = await http.get(run.headers["location"])
        assert report.status_code == 200
        # The analyst's export keeps the library's words; the leader's page has sentences.
        exported = await http.get(run.headers["location"] + ".json")
        assert "not computed: need at least" in exported.text, exported.text
        assert not DEVELOPER.search(report.text), DEVELOPER.search(report.text)
        assert "could not be computed: not enough data" in report.text

        # The tidy export: a zip of one CSV per table, a README column dictionary, the JSON.
        download = await http.get(run.headers["location"] + ".zip")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            names = set(archive.namelist())
            assert {"README.md", "report.json", "report.csv", "estimates.csv"} <= names
            assert json.loads(archive.read("report.json")) == exported.json()
            readme = archive.read("README.md").decode()
            for name in names - {"README.md", "report.json"}:
                header = next(csv.reader(io.StringIO(archive.read(name).decode())))
                assert f"## {name}" in readme
                for column in header:
                    assert f"- {column}: " in readme, (name, column)
            report_row = list(csv.DictReader(io.StringIO(archive.read("report.csv").decode())))
            assert report_row[0]["Scope unit id"] == "n1"
            assert report_row[0]["Outcome"] == "Customer satisfaction (CSAT)"


async def test_respondent_error_summary_leads_to_the_inputs(web: WebStack) -> None:
    async with client_for(web) as http:
        form = await http.get(f"/s/{web.tokens[0]}")
        empty = {"csrf": hidden(form.text, "csrf")}
        empty["idempotency_key"] = hidden(form.text, "idempotency_key")
        bad = await http.post(f"/s/{web.tokens[0]}", data=empty)
        assert bad.status_code == 422
        assert title(bad.text).startswith("Error: ")
        assert 'id="error-summary" autofocus' in bad.text
        targets = summary_targets(bad.text)
        assert len(targets) == 4  # the required items left empty
        for target in targets:  # each link leads to an input, not a label
            assert re.search(rf'<(input|textarea)[^>]*id="{target}"', bad.text), target
        assert not re.search(r"<fieldset[^>]*aria-required", bad.text)
        assert re.search(r'<input type="radio"[^>]*required aria-invalid="true"', bad.text)


async def test_favicon_and_static_files_are_compressed_and_cached(web: WebStack) -> None:
    async with client_for(web) as http:
        icon = await http.get("/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"
        assert icon.headers["cache-control"] == "public, max-age=3600"

        page = await http.get("/login", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in page.headers  # pages: never compressed (BREACH)
        assert page.headers["cache-control"] == "no-store"
        chart_js = re.search(r'href="(/static/style\.css\?v=\w+)"', page.text)
        assert chart_js
        css = await http.get(chart_js.group(1), headers={"accept-encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers["content-encoding"] == "gzip"
        assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert int(css.headers["content-length"]) < len(css.content) / 2
        again = await http.get(chart_js.group(1), headers={"if-none-match": css.headers["etag"]})
        assert again.status_code == 304
