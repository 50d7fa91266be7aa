"""The server's cache of verified caller tokens (issue 20): one signature check per token,
never past the token's expiry, never after its issuer was removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pulse_common import auth, errors
from pulse_common.auth import Credential
from pulse_common.grpc_auth import VerifiedTokens
from pulse_common.issuers import IssuerRegistry
from pulse_common.provision import ensure_embedded_auth, register, unregister


class Counting(IssuerRegistry):
    checks = 0

    def verify(self, token: str, now: float | None = None) -> auth.Caller:
        self.checks += 1
        return super().verify(token, now)


@pytest.fixture
def registry(tmp_path: Path) -> Counting:
    ensure_embedded_auth(tmp_path)
    return Counting(tmp_path / "auth" / "issuers.json", check_every_s=0)


def test_a_token_is_checked_once_then_remembered(tmp_path: Path, registry: Counting) -> None:
    web = Credential.load(tmp_path / "auth" / "web.json")
    token = web.mint(subject="north_lead", roles=["leader"], scope="north")
    verified = VerifiedTokens(registry, size=2)
    expected = auth.Caller("web", "north_lead", frozenset({"leader"}), "north")
    assert [verified.verify(token) for _ in range(5)] == [expected] * 5
    assert registry.checks == 1
    with pytest.raises(errors.Unauthenticated):  # refusals are never remembered
        verified.verify(token[:-4] + "AAAA")
    others = [web.mint(subject=f"s{i}", roles=["leader"], scope="north") for i in range(3)]
    for other in others:
        verified.verify(other)
    checks = registry.checks
    verified.verify(token)  # pushed out of the LRU of 2: checked again
    assert registry.checks == checks + 1


def test_an_expired_token_is_checked_again(
    tmp_path: Path, registry: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = Credential.load(tmp_path / "auth" / "web.json")
    token = web.mint(subject="north_lead", roles=["leader"], scope="north")
    verified = VerifiedTokens(registry)
    verified.verify(token)
    verified.verify(token)
    assert registry.checks == 1
    later = time.time() + 301  # past the token's exp (5 minutes)
    monkeypatch.setattr(time, "time", lambda: later)
    # Not served from the cache: checked again (the registry's own clock decides).
    verified.verify(token)
    assert registry.checks == 2


def test_a_removed_issuer_is_refused_despite_the_cache(tmp_path: Path, registry: Counting) -> None:
    path = tmp_path / "auth" / "issuers.json"
    alice = Credential.create("alice", ["analyst"], scope="north")
    register(path, alice)
    token = alice.mint()
    verified = VerifiedTokens(registry)
    assert verified.verify(token).issuer == "alice"
    assert unregister(path, "alice")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    with pytest.raises(errors.Unauthenticated):
        verified.verify(token)
