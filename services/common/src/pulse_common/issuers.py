"""The issuers file: the public half of every trusted credential with its grant, as the
services read it (``IssuerRegistry``, re-read when the file changes) and as ``pulse auth``
and the embedded setup write it. Verifying a token happens here: its issuer must be listed,
its signature valid, its lifetime short and its claims within the issuer's grant."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pulse_common import errors
from pulse_common.auth import (
    ALGORITHM,
    AUDIENCE,
    INVALID,
    LEEWAY_S,
    MAX_TTL_S,
    Caller,
    Credential,
    Grant,
    check_roles,
)


@dataclass(frozen=True)
class TrustedIssuer:
    name: str
    grant: Grant
    public_key: Ed25519PublicKey
    public_pem: str
    created: str = ""


def parse_issuers(text: str, where: str) -> dict[str, TrustedIssuer]:
    raw = json.loads(text) if text.strip() else {}
    found: dict[str, TrustedIssuer] = {}
    for name, entry in dict(raw.get("issuers", {})).items():
        key = serialization.load_pem_public_key(str(entry["public_key"]).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{where}: issuer {name}'s key is not an Ed25519 public key")
        grant = Grant(check_roles(entry["roles"], f"{where}: {name}"), str(entry.get("scope", "")))
        found[name] = TrustedIssuer(
            name, grant, key, str(entry["public_key"]), str(entry.get("created", ""))
        )
    return found


def issuers_json(issuers: Mapping[str, TrustedIssuer]) -> str:
    return json.dumps(
        {
            "issuers": {
                name: {
                    "public_key": issuer.public_pem,
                    "roles": sorted(issuer.grant.roles),
                    "scope": issuer.grant.scope,
                    "created": issuer.created,
                }
                for name, issuer in sorted(issuers.items())
            }
        },
        indent=2,
    )


def trusted(credential: Credential) -> TrustedIssuer:
    """The issuers-file entry of ``credential`` (its public half)."""
    return TrustedIssuer(
        credential.issuer,
        credential.grant,
        credential.key.public_key(),
        credential.public_pem(),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


@dataclass
class IssuerRegistry:
    """The issuers file, re-read when it changes (checked at most once a second), so that
    `pulse auth add/remove` reach running services without a restart."""

    path: Path
    check_every_s: float = 1.0
    _issuers: dict[str, TrustedIssuer] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = None
    _checked: float = -1e9

    def issuers(self) -> dict[str, TrustedIssuer]:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            self._reload()
        return self._issuers

    def _reload(self) -> None:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._issuers, self._stamp = {}, None  # no file: nobody is trusted (fail closed)
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            self._issuers = parse_issuers(self.path.read_text(), str(self.path))
        except (ValueError, KeyError, TypeError, OSError):
            self._issuers = {}  # a broken file trusts nobody rather than everybody
        self._stamp = stamp

    def verify(self, token: str, now: float | None = None) -> Caller:
        """The caller the token proves; ``Unauthenticated`` otherwise (one message for
        every failure but the lifetime and grant checks, which help operators)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise errors.Unauthenticated(INVALID) from None
        issuer = self.issuers().get(str(header.get("kid", "")))
        if issuer is None or header.get("alg") != ALGORITHM:
            raise errors.Unauthenticated(INVALID)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                issuer.public_key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=issuer.name,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError:
            raise errors.Unauthenticated(INVALID) from None
        if int(claims["exp"]) - int(claims["iat"]) > MAX_TTL_S:
            raise errors.Unauthenticated(f"caller tokens may live at most {MAX_TTL_S} s")
        # Signed "in the future" (to stretch a short lifetime): refused too.
        if int(claims["iat"]) > (time.time() if now is None else now) + LEEWAY_S:
            raise errors.Unauthenticated(INVALID)
        roles = claims.get("roles")
        scope = claims.get("scope", "")
        if not isinstance(roles, list) or not isinstance(scope, str):
            raise errors.Unauthenticated(INVALID)
        if not issuer.grant.allows(roles, scope):
            raise errors.Unauthenticated(
                f"issuer {issuer.name} may not grant {sorted(roles)}"
                + (f" in scope {scope}" if scope else "")
            )
        return Caller(issuer.name, str(claims["sub"]), frozenset(map(str, roles)), scope)
