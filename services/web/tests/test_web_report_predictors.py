"""Issue 22: the web report form offers every predictor the service accepts, grouped and by
name, the internal-service measures (``internal.*``) included; a report with an internal
predictor runs from the form; a predictor the form does not offer, or the outcome itself,
is an error beside the field that keeps what was ticked."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pulse_common.measures import INTERNAL_OUTCOMES, TREATMENT_CONSTRUCTS, human_name
from pulse_testing.web import PASSWORD, WebStack, web_stack


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


def ticked(html: str) -> list[str]:
    return re.findall(r'name="predictors" value="([^"]+)" checked', html)


async def sign_in(http: httpx.AsyncClient) -> None:
    csrf = hidden((await http.get("/login")).text, "csrf")
    reply = await http.post(
        "/login", data={"csrf": csrf, "username": "leader", "password": PASSWORD}
    )
    assert reply.status_code == 303


async def test_a_report_with_an_internal_predictor_runs_from_the_form(web: WebStack) -> None:
    async with client_for(web) as http:
        await sign_in(http)
        page = (await http.get("/reports")).text
        # Grouped, by name: the employee constructs, then the internal-service measures.
        offered = re.findall(r'name="predictors" value="([^"]+)"', page)
        assert offered[: len(TREATMENT_CONSTRUCTS)] == list(TREATMENT_CONSTRUCTS)
        assert offered[-len(INTERNAL_OUTCOMES) :] == list(INTERNAL_OUTCOMES)
        assert "<legend>Internal customers: how the teams a unit serves rate its service" in page
        assert f">{human_name('internal.csat')}</label>" in page
        assert "Customer satisfaction (CSAT), internal service" in page
        assert 'id="predictors"' in page  # the first checkbox: the error summary's target
        assert ticked(page) == []  # none ticked: the default report
        csrf = hidden(page, "csrf")

        run = await http.post(
            "/reports",
            data={
                "csrf": csrf,
                "scope": "",
                "outcome": "csat",
                "max_lag": "1",
                "predictors": ["internal.csat", "treatment.support"],
            },
        )
        assert run.status_code == 303, run.text
        exported = (await http.get(run.headers["location"] + ".json")).json()
        assert exported["predictors"] == ["internal.csat", "treatment.support"]
        assert exported["outcome"] == "csat"
        report = await http.get(run.headers["location"])
        assert report.status_code == 200

        # The outcome cannot predict itself; a code the form does not offer is refused. The
        # form comes back with the error beside the field and the boxes as they were ticked.
        for sent, words in (
            (["internal.csat"], "is the outcome; it cannot also predict it"),
            (["treatment.support", "happiness"], "is not one of the measures offered here"),
        ):
            bad = await http.post(
                "/reports",
                data={
                    "csrf": csrf,
                    "scope": "",
                    "outcome": "internal.csat" if sent == ["internal.csat"] else "csat",
                    "max_lag": "1",
                    "predictors": sent,
                },
            )
            assert bad.status_code == 422
            assert '<p class="field-error" id="predictors-error">' in bad.text
            assert words in bad.text
            assert '<a href="#predictors">Predictors: ' in bad.text
            assert ticked(bad.text) == [code for code in sent if code != "happiness"]
        listing = (await http.get("/reports")).text
        assert listing.count("/reports/") - page.count("/reports/") == 1  # only the good run
