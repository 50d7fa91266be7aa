"""The web front over HTTP against the real survey + response (+ correlation) services:
forms, validation, CSRF, tokens, rate limits, sign-in and subtree scoping."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pulse_testing.web import (
    PASSWORD,
    WebStack,
    customer_tokens,
    publish_linked_responses,
    recent_periods,
    wait_ingested,
    web_stack,
)


@pytest.fixture
async def web(database_url: str, nats_url: str) -> AsyncIterator[WebStack]:
    async with web_stack(
        database_url, nats_url, people_per_team=1, PULSE_WEB_SUBMIT_RATE_LIMIT="6"
    ) as stack:
        yield stack


def client_for(web: WebStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.app), base_url="http://testserver"
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def valid_answers(html: str) -> dict[str, str]:
    return {
        "csrf": hidden(html, "csrf"),
        "idempotency_key": hidden(html, "idempotency_key"),
        "a_rec.1": "4",
        "a_fair.1": "3",
        "a_sup.1": "5",
        "a_voice.2": "4",
        "a_enps.1": "9",
        "a_ecomment.1": "Good team.",
    }


async def test_respondent_form_validation_csrf_and_single_use(web: WebStack) -> None:
    token = web.tokens[0]
    async with client_for(web) as http:
        page = await http.get(f"/s/{token}")
        assert page.status_code == 200
        html = page.text
        # Accessible structure: a fieldset + legend per scored item, labelled radios, a
        # labelled textarea, required marked, and the privacy promise stated.
        assert html.count("<fieldset") == 5
        assert html.count("<legend>") == 5
        assert re.search(r'name="a_fair.1" id="q2-1" value="1"\s+required', html)
        assert not re.search(r"<fieldset[^>]*aria-required", html)  # not allowed on a fieldset
        assert re.search(r'<input type="radio" name="a_enps.1" id="q5-0"', html)
        assert re.search(r'<label for="q5-0"[^>]*>0 – Not at all likely</label>', html)
        assert re.search(r'<label for="q6-text"', html)
        assert 'id="q6-text"' in html
        assert "not your name, e-mail address or the time you answered" in html
        assert '<html lang="en">' in html
        assert "at least 5 people" in html
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "<script" not in html  # the form needs no JavaScript

        # A missing required answer: 422, the form again with the message by the field.
        answers = valid_answers(html)
        del answers["a_fair.1"]
        answers["a_enps.1"] = "11"
        bad = await http.post(f"/s/{token}", data=answers)
        assert bad.status_code == 422
        assert 'id="q2-error"' in bad.text
        assert "Please answer this question." in bad.text
        assert 'id="q5-error"' in bad.text
        assert "Please choose one of the options." in bad.text
        assert 'value="Good team."' not in bad.text
        assert ">Good team.</textarea>" in bad.text
        # The answers given are kept (rec.1 = 4 stays checked).
        assert re.search(r'id="q1-4" value="4"\s+checked', bad.text)

        # No CSRF token (or one minted for another link): 403, nothing submitted.
        no_csrf = dict(valid_answers(html), csrf="")
        assert (await http.post(f"/s/{token}", data=no_csrf)).status_code == 403
        other = dict(
            valid_answers(html), csrf=hidden((await http.get(f"/s/{web.tokens[1]}")).text, "csrf")
        )
        assert (await http.post(f"/s/{token}", data=other)).status_code == 403

        done = await http.post(f"/s/{token}", data=valid_answers(html))
        assert done.status_code == 303
        assert done.headers["location"] == "/s/thanks?lang=en"
        thanks = await http.get("/s/thanks")
        assert thanks.status_code == 200
        assert "Thank you" in thanks.text

        # The browser that answered (it holds the form's idempotency key) is thanked again.
        same_browser = await http.get(f"/s/{token}")
        assert same_browser.status_code == 200
        assert "Thank you" in same_browser.text
    async with client_for(web) as elsewhere:
        # Anyone else: the link is spent, the one invalid-link page, as for an unknown token.
        used = await elsewhere.get(f"/s/{token}")
        unknown = await elsewhere.get("/s/" + "x" * 43)
        assert used.status_code == unknown.status_code == 410
        assert used.text == unknown.text
        assert "This survey link is not valid" in used.text
        forged = dict(valid_answers(html), csrf=hidden(html, "csrf"))
        forged["idempotency_key"] = "k" * 32  # not the key the answers were sent with
        again = await elsewhere.post(f"/s/{token}", data=forged)
        assert again.status_code == 410


async def test_the_form_speaks_the_respondents_language(web: WebStack) -> None:
    token = web.tokens[1]
    async with client_for(web) as http:
        german = await http.get(f"/s/{token}", headers={"accept-language": "de-DE,de;q=0.9"})
        assert '<html lang="de">' in german.text
        assert re.search(r"Für Ihr Team: Team [NS]\d", german.text)
        assert "Ihre Privatsphäre" in german.text
        assert (
            "Entscheidungen, die mich betreffen, werden auf faire Weise getroffen." in german.text
        )
        assert "1 – Stimme überhaupt nicht zu" in german.text
        # The switch on the page wins over the browser.
        assert f'href="/s/{token}?lang=es"' in german.text
        spanish = await http.get(f"/s/{token}?lang=es", headers={"accept-language": "de"})
        assert '<html lang="es">' in spanish.text
        assert "Su privacidad" in spanish.text
        # A refused answer comes back in the form's language.
        data = {**valid_answers(spanish.text), "lang": "es"}
        del data["a_rec.1"]
        refused = await http.post(f"/s/{token}", data=data)
        assert refused.status_code == 422
        assert "Por favor, responda a esta pregunta." in refused.text
        assert "Revise 1 respuesta" in refused.text
        data["a_rec.1"] = "4"
        data["idempotency_key"] = hidden(refused.text, "idempotency_key")
        done = await http.post(f"/s/{token}", data=data)
        assert done.headers["location"] == "/s/thanks?lang=es"
        thanks = await http.get(done.headers["location"])
        assert '<html lang="es">' in thanks.text
        assert "Sus respuestas se han guardado." in thanks.text
    async with client_for(web) as other:  # another browser: the link is spent
        used = await other.get(f"/s/{token}", headers={"accept-language": "es"})
        assert used.status_code == 410
        assert '<html lang="es">' in used.text
        assert "Este enlace de encuesta no es válido" in used.text


async def test_submissions_are_rate_limited(web: WebStack) -> None:
    async with client_for(web) as http:
        statuses = [
            (await http.post(f"/s/{web.tokens[2]}", data={"csrf": "x"})).status_code
            for _ in range(7)
        ]
    assert statuses[:6] == [403] * 6
    assert statuses[6] == 429


async def test_leaders_sign_in_and_stay_in_their_subtree(web: WebStack) -> None:
    async with client_for(web) as http:
        first = await http.get("/dashboard")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/login?next=")
        login_page = await http.get("/login")
        csrf = hidden(login_page.text, "csrf")
        wrong = await http.post(
            "/login", data={"csrf": csrf, "username": "north_lead", "password": "nope"}
        )
        assert wrong.status_code == 401
        no_csrf = await http.post("/login", data={"username": "north_lead", "password": PASSWORD})
        assert no_csrf.status_code == 403
        signed_in = await http.post(
            "/login",
            data={
                "csrf": csrf,
                "username": "north_lead",
                "password": PASSWORD,
                "next": "/dashboard",
            },
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/dashboard"
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert "samesite=lax" in signed_in.headers["set-cookie"].lower()

        own = await http.get("/dashboard", params={"scope": "n1"})
        assert own.status_code == 200, own.text
        assert "north_lead" in own.text
        for path, params in (
            ("/dashboard", {"scope": "south"}),
            ("/dashboard", {"scope": "root"}),
            ("/recognition", {"unit": "s1"}),
        ):
            refused = await http.get(path, params=params)
            assert refused.status_code == 403, (path, params)
            assert "Not allowed" in refused.text
        board = await http.get("/recognition", params={"unit": "north"})
        assert board.status_code == 200
        assert "Recognition board" in board.text

        out = await http.post("/logout", data={"csrf": hidden(board.text, "csrf")})
        assert out.status_code == 303
        assert (await http.get("/recognition")).status_code == 303  # back to sign-in


async def test_customers_share_praise_that_reaches_the_board_only_after_approval(
    web: WebStack,
) -> None:
    threshold = web.stack.settings.min_comment_group_size
    tokens = await customer_tokens(web, threshold)
    for index, token in enumerate(tokens):
        # Each customer on their own connection (the rate limit is per client).
        transport = httpx.ASGITransport(app=web.app, client=(f"10.0.0.{index + 1}", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await http.get(f"/s/{token}")
            assert page.status_code == 200, page.text
            assert "Share my comment with the team (anonymously)" in page.text
            assert '<input type="checkbox" name="share_comment"' in page.text
            assert "the month of your contact" in page.text
            # The customer page names the service, not "your team".
            assert "About the service you received from Team N1" in page.text
            assert "For your team" not in page.text
            data = {
                "csrf": hidden(page.text, "csrf"),
                "idempotency_key": hidden(page.text, "idempotency_key"),
                "a_csat.1": "5",
                "a_staff.1": "5",
                "a_nps.1": "10",
                "a_ccomment.1": f"Anna was so patient with me, visit {index}.",
                "share_comment": "yes",
            }
            done = await http.post(f"/s/{token}", data=data)
            assert done.status_code == 303, done.text
    async with client_for(web) as http:
        await sign_in(http, "north_lead")
        board = await http.get("/recognition", params={"unit": "n1"})
        assert board.status_code == 200
        # Nothing on the board yet: every story waits for a team lead.
        assert "No approved stories yet." in board.text
        queued = re.findall(r'name="entry_id" value="([^"]+)"', board.text)
        assert len(queued) == threshold
        # Names of people are always redacted, in the queue already.
        assert "[name] was so patient with me, visit 3." in board.text
        assert "Anna" not in board.text
        csrf = hidden(board.text, "csrf")

        async def decide(entry_id: str, decision: str) -> httpx.Response:
            return await http.post(
                "/recognition/moderate",
                data={"csrf": csrf, "entry_id": entry_id, "decision": decision, "unit": "n1"},
            )

        for entry_id, decision in zip(
            queued[:4], ["approve", "approve", "hide", "report"], strict=True
        ):
            reply = await decide(entry_id, decision)
            assert reply.status_code == 303
            assert reply.headers["location"] == "/recognition?unit=n1"
        board = await http.get("/recognition", params={"unit": "n1"})
        queue_part = board.text.split('id="queue-heading"')[1]
        board_part = board.text.split('id="queue-heading"')[0]
        assert board_part.count("<blockquote>") == 2
        assert queue_part.count('name="entry_id"') == threshold - 4
        # A forged form (no session CSRF) changes nothing.
        forged = await http.post(
            "/recognition/moderate",
            data={"csrf": "x", "entry_id": queued[5], "decision": "approve"},
        )
        assert forged.status_code == 403
        # The organisation-wide page shows the approved stories only.
        done_right = await http.get("/service-done-right")
        assert done_right.status_code == 200
        assert done_right.text.count("<blockquote>") == 2
        assert "Team N1" in done_right.text


async def sign_in(http: httpx.AsyncClient, username: str) -> None:
    csrf = hidden((await http.get("/login")).text, "csrf")
    reply = await http.post(
        "/login", data={"csrf": csrf, "username": username, "password": PASSWORD}
    )
    assert reply.status_code == 303


async def test_dashboard_reports_and_downloads(web: WebStack) -> None:
    periods = recent_periods(3)
    published = await publish_linked_responses(web, periods, small=("s4", periods[-1], 3))
    await wait_ingested(web, published)
    async with client_for(web) as http:
        await sign_in(http, "leader")
        page = await http.get("/dashboard", params={"from": periods[0], "to": periods[-1]})
        assert page.status_code == 200, page.text
        assert '<table class="heatmap">' in page.text
        assert 'id="heat-heading"' in page.text
        assert "Fairness by unit and period" in page.text
        assert '<script type="application/json" id="chart-data">' in page.text
        # One level per page; a small team's number says why it is not shown, in words.
        south = await http.get("/dashboard", params={"scope": "south"})
        assert south.status_code == 200, south.text
        assert "too few responses" in south.text
        assert "not shown: fewer than 5 responses; counted in South" in south.text

        listing = await http.get("/reports")
        # The form starts from the one default report (pulse_common.measures.REPORT_DEFAULTS),
        # measures named as leaders read them.
        assert '<option value="csat" selected>Customer satisfaction (CSAT)</option>' in listing.text
        assert 'name="max_lag" value="1"' in listing.text
        run = await http.post(
            "/reports",
            data={
                "csrf": hidden(listing.text, "csrf"),
                "scope": "root",
                "from": periods[0],
                "to": periods[-1],
                "outcome": "csat",
                "max_lag": "1",
            },
        )
        assert run.status_code == 303, run.text
        report_path = run.headers["location"]
        report = await http.get(report_path)
        assert report.status_code == 200, report.text
        assert report.text.index('id="verdict-heading"') < report.text.index('id="chart-scatter"')
        for canvas in ("chart-scatter", "chart-lags", "chart-drivers"):
            assert f'id="{canvas}"' in report.text
        assert "ICC(2)" in report.text
        assert "Linkage report: Customer satisfaction (CSAT)" in report.text
        # The default report relates the units' data (the treatment constructs with answers).
        reported = re.search(r"(\d+) units reported", report.text)
        assert reported is not None
        assert int(reported.group(1)) >= 4, report.text[:2000]
        assert '"points":[{"x":' in report.text
        csv = await http.get(report_path + ".csv")
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        exported = await http.get(report_path + ".json")
        assert exported.status_code == 200
        assert exported.json()
        assert report_path.rsplit("/", 1)[1] in (await http.get("/reports")).text

    async with client_for(web) as http:
        await sign_in(http, "north_lead")
        assert (await http.get("/dashboard", params={"scope": "n2"})).status_code == 200
        csrf = hidden((await http.get("/reports")).text, "csrf")
        south = await http.post(
            "/reports", data={"csrf": csrf, "scope": "south", "outcome": "csat", "max_lag": "0"}
        )
        assert south.status_code == 403
        # Reports are shared within a scope: a report on the whole organisation is not for
        # a division's lead, so it does not exist for her ...
        assert (await http.get(report_path)).status_code == 404
        assert (await http.get(report_path + ".csv")).status_code == 404
        run = await http.post(
            "/reports", data={"csrf": csrf, "scope": "north", "outcome": "csat", "max_lag": "0"}
        )
        assert run.status_code == 303, run.text
        north_path = run.headers["location"]

    async with client_for(web) as http:
        # ... while her report on the north division opens for the organisation's leader.
        await sign_in(http, "leader")
        shared = await http.get(north_path)
        assert shared.status_code == 200, shared.text
        assert north_path.rsplit("/", 1)[1] in (await http.get("/reports")).text
