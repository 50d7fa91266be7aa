"""Who the web lets in, and how it keys its limits: server-side sessions that sign-out
revokes (a copied cookie opens nothing afterwards), sign-in that takes as long for an
unknown user as for a wrong password, and rate limits on the real client address behind a
trusted proxy (per address high enough for an office, per survey link tight)."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pulse_common.auth import TokenSource
from pulse_testing.security import credential_of
from pulse_testing.web import PASSWORD, WebStack, web_stack
from pulse_web import accounts
from pulse_web.client_address import client_address, parse_networks
from pulse_web.sessions import SessionStore


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def test_the_real_client_address_only_behind_a_trusted_proxy() -> None:
    proxies = parse_networks("10.0.0.1, 192.168.0.0/16")
    # No trusted proxy, or a peer that is not one: the header is the client's invention.
    assert client_address("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"
    # From the proxy: the right-most address that is not a proxy of ours.
    assert client_address("10.0.0.1", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7"
    assert client_address("10.0.0.1", "1.2.3.4, 198.51.100.7, 192.168.4.4", proxies) == (
        "198.51.100.7"
    )
    assert client_address("10.0.0.1", None, proxies) == "10.0.0.1"
    with pytest.raises(ValueError, match="not an IP"):
        parse_networks("10.0.0.1, proxy.example")


def test_sessions_expire_and_are_revoked() -> None:
    now = [0.0]
    store = SessionStore(max_age_s=100, idle_s=10, clock=lambda: now[0])
    tokens = TokenSource(credential_of("web"), roles=frozenset({"leader"}), scope="north")
    sid = store.create("north_lead", tokens)
    assert tokens._token  # signed at sign-in
    now[0] = 9
    session = store.get(sid)
    assert session is not None
    assert session.username == "north_lead"
    now[0] = 25  # idle for 16 s
    assert store.get(sid) is None
    sid = store.create("north_lead", tokens)
    store.revoke(sid)
    assert store.get(sid) is None
    assert store.get("forged") is None
    assert store.get(None) is None


def test_an_unknown_user_costs_as_much_as_a_wrong_password() -> None:
    encoded = accounts.hash_password(PASSWORD, iterations=60_000)
    known = {"lead": accounts.Account("lead", encoded, "")}
    decoy = accounts.decoy_hash(known)
    assert accounts.iterations_of(decoy) == 60_000

    def timed(username: str) -> float:
        start = time.perf_counter()
        assert accounts.authenticate(known, username, "wrong", decoy) is None
        return time.perf_counter() - start

    unknown = statistics.median(timed("nobody") for _ in range(7))
    wrong = statistics.median(timed("lead") for _ in range(7))
    print(f"sign-in: unknown user {unknown * 1000:.1f} ms, wrong password {wrong * 1000:.1f} ms")
    assert 0.5 < unknown / wrong < 2.0


@pytest.fixture
async def web(database_url: str, nats_url: str) -> AsyncIterator[WebStack]:
    async with web_stack(
        database_url,
        nats_url,
        PULSE_WEB_SUBMIT_RATE_LIMIT="3",
        PULSE_WEB_TOKEN_RATE_LIMIT="2",
        PULSE_WEB_TRUSTED_PROXIES="127.0.0.1",
    ) as stack:
        yield stack


def client(web: WebStack, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=web.app, client=(peer, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_sign_out_revokes_the_session_for_good(web: WebStack) -> None:
    async with client(web) as http:
        login = await http.get("/login")
        signed_in = await http.post(
            "/login",
            data={"csrf": hidden(login.text, "csrf"), "username": "leader", "password": PASSWORD},
        )
        assert signed_in.status_code == 303
        copied = dict(http.cookies)
        board = await http.get("/recognition")
        assert board.status_code == 200
        out = await http.post("/logout", data={"csrf": hidden(board.text, "csrf")})
        assert out.status_code == 303
    # The cookie as it was before sign-out, replayed by someone who copied it.
    async with client(web) as thief:
        thief.cookies.update(copied)
        replay = await thief.get("/recognition")
        assert replay.status_code == 303
        assert replay.headers["location"].startswith("/login")
    # A cookie not signed with the deployment's secret is ignored.
    async with client(web) as forger:
        forger.cookies.set("pulse_session", "eyJzaWQiOiAiYWRtaW4ifQ==.forged.sig")
        assert (await forger.get("/recognition")).status_code == 303


async def test_limits_key_on_the_real_address_and_on_the_link(web: WebStack) -> None:
    async def post(http: httpx.AsyncClient, token: str, forwarded: str = "") -> int:
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        reply = await http.post(f"/s/{token}", data={"csrf": "x"}, headers=headers)
        return reply.status_code

    first, second = web.tokens[:2]
    async with client(web) as proxy:  # the web's trusted proxy (127.0.0.1)
        # One link: two tries, then the link's own limit.
        assert [await post(proxy, first, "198.51.100.1") for _ in range(3)] == [403, 403, 429]
        # The same office address on other links: its own, higher limit (3 here).
        assert await post(proxy, second, "198.51.100.1") == 429  # 4th from this address
        # Another client behind the same proxy is not held back by the first.
        assert await post(proxy, second, "198.51.100.2") == 403
    async with client(web, "203.0.113.5") as direct:  # not a proxy: its header is ignored
        links = web.tokens[3:7]
        statuses = [await post(direct, t, f"10.9.9.{i}") for i, t in enumerate(links)]
        assert statuses == [403, 403, 403, 429]  # one address, whatever it claims
