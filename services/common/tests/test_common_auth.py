"""Caller tokens: what a credential may mint, what the services accept, and what they refuse
(expired, foreign, over-claiming, too long-lived, revoked)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
import pytest
from pulse_common import auth, errors
from pulse_common.auth import Credential
from pulse_common.issuers import IssuerRegistry
from pulse_common.provision import ensure_embedded_auth, register, unregister


@pytest.fixture
def registry(tmp_path: Path) -> IssuerRegistry:
    ensure_embedded_auth(tmp_path)
    return IssuerRegistry(tmp_path / "auth" / "issuers.json", check_every_s=0)


def credential(tmp_path: Path, name: str) -> Credential:
    return Credential.load(tmp_path / "auth" / f"{name}.json")


def test_a_token_proves_its_caller(tmp_path: Path, registry: IssuerRegistry) -> None:
    web = credential(tmp_path, "web")
    caller = registry.verify(web.mint(subject="north_lead", roles=["leader"], scope="north"))
    assert caller == auth.Caller("web", "north_lead", frozenset({"leader"}), "north")
    assert caller.viewer_id == "web:north_lead"


def test_a_key_cannot_mint_a_role_it_was_not_given(
    tmp_path: Path, registry: IssuerRegistry
) -> None:
    web = credential(tmp_path, "web")
    with pytest.raises(ValueError, match="may grant"):
        web.mint(roles=["admin"])
    # Forged by hand with the web's own key: signed correctly, still refused.
    forged = jwt.encode(
        {
            "iss": "web",
            "sub": "mallory",
            "aud": "pulse",
            "roles": ["admin"],
            "scope": "",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        web.key,
        algorithm="EdDSA",
        headers={"kid": "web"},
    )
    with pytest.raises(errors.Unauthenticated, match="may not grant"):
        registry.verify(forged)
    response = credential(tmp_path, "response")
    with pytest.raises(ValueError, match="may grant"):
        response.mint(roles=["leader"])


def test_bad_tokens_are_unauthenticated(tmp_path: Path, registry: IssuerRegistry) -> None:
    operator = credential(tmp_path, "operator")
    stranger = Credential.create("operator", ["admin"])  # same name, unknown key
    expired = operator.mint(ttl_s=60, now=time.time() - 3600)
    too_long = jwt.encode(
        {
            "iss": "operator",
            "sub": "op",
            "aud": "pulse",
            "roles": ["admin"],
            "scope": "",
            "iat": int(time.time()),
            "exp": int(time.time()) + auth.MAX_TTL_S + 60,
        },
        operator.key,
        algorithm="EdDSA",
        headers={"kid": "operator"},
    )
    from_the_future = operator.mint(ttl_s=600, now=time.time() + 3 * 3600)
    for token in (stranger.mint(), expired, from_the_future, "not a token", operator.mint() + "x"):
        with pytest.raises(errors.Unauthenticated, match="not valid"):
            registry.verify(token)
    with pytest.raises(errors.Unauthenticated, match="at most"):
        registry.verify(too_long)
    assert registry.verify(operator.mint()).roles == {"admin", "analyst", "leader"}


def test_issuers_are_added_and_revoked_without_a_restart(
    tmp_path: Path, registry: IssuerRegistry
) -> None:
    path = tmp_path / "auth" / "issuers.json"
    alice = Credential.create("alice", ["analyst"], scope="north")
    token = alice.mint()
    with pytest.raises(errors.Unauthenticated):
        registry.verify(token)
    register(path, alice)
    assert registry.verify(token) == auth.Caller("alice", "alice", frozenset({"analyst"}), "north")
    # A scoped credential cannot widen its scope.
    with pytest.raises(ValueError, match="in scope north"):
        alice.mint(scope="")
    assert unregister(path, "alice")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime for sure
    with pytest.raises(errors.Unauthenticated):
        registry.verify(token)
    assert not unregister(path, "alice")


def test_metadata_carries_exactly_one_bearer_token() -> None:
    assert auth.token_of([("authorization", "Bearer abc")]) == "abc"
    assert auth.token_of([("x-other", "1")]) is None
    assert auth.token_of([("authorization", "Basic abc")]) == ""
    assert auth.token_of([("authorization", "Bearer a"), ("authorization", "Bearer b")]) == ""


def test_no_caller_outside_a_checked_call() -> None:
    with pytest.raises(errors.Unauthenticated):
        auth.current_caller()
