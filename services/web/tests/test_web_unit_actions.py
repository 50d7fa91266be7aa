"""A unit's "acting on it" page over HTTP against the real services: an action recorded
through the web appears with its before/after and comparison; a customer's bottom-box answer
with consent appears as one open follow-up, closed through the page with its outcome and
counted per period; a lead scoped to another division is refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.types.v1 import types_pb2
from pulse_testing.web import PASSWORD, WebStack, customer_tokens, web_stack


@pytest.fixture
async def web(database_url: str, nats_url: str) -> AsyncIterator[WebStack]:
    async with web_stack(database_url, nats_url, people_per_team=1) as stack:
        yield stack


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


async def test_actions_and_follow_ups_on_the_unit_page(web: WebStack) -> None:
    (token,) = await customer_tokens(web, 1, unit_id="n1")
    await web.response.Submit(
        resp_pb.SubmitRequest(
            token=token,
            answers=[
                types_pb2.Answer(item_id="csat.1", score=1),
                types_pb2.Answer(item_id="staff.1", score=2),
                types_pb2.Answer(item_id="nps.1", score=8),
            ],
            idempotency_key=uuid.uuid4().hex,
            contact_consent=True,
            contact="call me on 555 0101",
        )
    )
    transport = httpx.ASGITransport(app=web.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await sign_in(http, "leader")
        page = await http.get("/units/n1/actions")
        assert page.status_code == 200, page.text
        assert "No actions recorded for this team yet." in page.text
        assert "call me on 555 0101" in page.text
        added = await http.post(
            "/units/n1/actions",
            data={
                "csrf": hidden(page.text, "csrf"),
                "measure": "treatment.support",
                "title": "Weekly one-to-ones",
                "owner": "Team lead",
                "start_date": "2026-04-01",
            },
        )
        assert added.status_code == 303
        page = await http.get("/units/n1/actions")
        assert "Weekly one-to-ones" in page.text
        assert "Manager support" in page.text
        assert "No comparison for treatment.support" in page.text  # no employee answers yet
        assert web.correlation is not None
        listed = await web.correlation.ListActions(corr_pb.ListActionsRequest(unit_id="n1"))
        assert [a.title for a in listed.actions] == ["Weekly one-to-ones"]

        follow_up_id = hidden(page.text, "follow_up_id")
        closed = await http.post(
            "/units/n1/follow-ups/close",
            data={
                "csrf": hidden(page.text, "csrf"),
                "follow_up_id": follow_up_id,
                "outcome": "Called back, apologised",
            },
        )
        assert closed.status_code == 303
        page = await http.get("/units/n1/actions")
        assert "No open follow-ups." in page.text
        assert re.search(r"<td>\d{4}-\d{2}</td><td>1</td><td>1</td>", page.text)
        # The dashboard counts it too, rolled up to the page and the division it sits in.
        board = await http.get("/dashboard")
        assert board.status_code == 200, board.text
        assert "Detractor follow-ups" in board.text
        row = r"<td>{}</td><td>{}</td><td>1</td><td>1</td><td>0</td></tr>"
        north = re.search(r'scope=north">North</a></th>' + row.format(r"\d", r"\d"), board.text)
        assert north, board.text
        assert 'scope=south">South</a></th>' + "<td>0</td>" * 5 in board.text
        refused = await http.post(
            "/units/n1/actions",
            data={"csrf": "bad", "measure": "csat", "title": "x", "owner": "o"},
        )
        assert refused.status_code == 403
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await sign_in(http, "north_lead")
        assert (await http.get("/units/n1/actions")).status_code == 200
        assert (await http.get("/units/s1/actions")).status_code == 403


async def test_the_chain_page_says_when_there_is_not_enough_data(web: WebStack) -> None:
    transport = httpx.ASGITransport(app=web.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await sign_in(http, "leader")
        page = await http.get("/chain", params={"mediator": "treatment.fairness"})
        assert page.status_code == 200, page.text
        assert "Not enough data" in page.text
        assert '<option value="treatment.fairness" selected>' in page.text
        assert "Indirect path" in page.text
        exported = await http.get("/chain.json")
        assert exported.status_code == 200
        assert exported.json()["verdict"]["level"] == "not_enough_data"
        bad = await http.get("/chain", params={"mediator": "mood"})
        assert bad.status_code == 422
        assert "mediator" in bad.text
        # Every run is stored: opened again and downloaded from its own address.
        stored_id = re.search(r'href="/chain/reports/([0-9a-f-]{36})"', page.text)
        assert stored_id, "the chain page links its stored report"
        org_report = stored_id.group(1)
        again = await http.get(f"/chain/reports/{org_report}")
        assert again.status_code == 200, again.text
        assert "Stored chain reports you can read" in again.text
        as_csv = await http.get(f"/chain/reports/{org_report}.csv")
        assert as_csv.status_code == 200
        assert "# links" in as_csv.text
        assert (await http.get(f"/chain/reports/{org_report}.xml")).status_code == 404
        assert (await http.get("/chain/reports/not-an-id")).status_code == 422
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await sign_in(http, "north_lead")
        assert (await http.get("/chain", params={"scope": "south"})).status_code == 403
        # A report on the whole organisation is not the north lead's to read ...
        assert (await http.get(f"/chain/reports/{org_report}")).status_code == 404
        assert (await http.get(f"/chain/reports/{org_report}.json")).status_code == 404
        north = await http.get("/chain", params={"scope": "north"})
        assert north.status_code == 200, north.text
        north_id = re.search(r'Stored as <a href="/chain/reports/([0-9a-f-]{36})"', north.text)
        assert north_id
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        # ... while the north lead's report is shared with the leader whose scope holds it.
        await sign_in(http, "leader")
        shared = await http.get(f"/chain/reports/{north_id.group(1)}")
        assert shared.status_code == 200, shared.text
