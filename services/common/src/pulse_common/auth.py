"""Caller identity: short-lived Ed25519-signed JWTs (PyJWT with ``cryptography``) carried in
gRPC metadata as ``authorization: Bearer <token>``.

A **credential** is a signing key with what it may grant: an issuer name, the roles its
tokens may claim and the scope they may cover (JSON file, owner-readable only). The
**issuers file** lists the public half of every trusted credential with the same grants;
services verify each token against it, so a key can never mint a role it was not given
(the web's key cannot mint ``admin``). Removing an issuer from the file revokes it: servers
re-read the file when it changes.

Claims: ``iss`` (the issuer; also the JWT ``kid``), ``sub`` (who: a leader's user name,
an operator, a service), ``roles``, ``scope`` (root unit of what the caller may read; ""
= the whole organisation), ``aud`` = "pulse", ``iat``/``exp`` (at most ``MAX_TTL_S`` apart).
"""

from __future__ import annotations

import contextvars
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pulse_common import errors
from pulse_common.config import ConfigError, Settings
from pulse_common.secrets import write_private

RESPONDENT_FRONT = "respondent-front"
LEADER = "leader"
ANALYST = "analyst"
ADMIN = "admin"
RESPONSE = "response"
ROLES = (RESPONDENT_FRONT, LEADER, ANALYST, ADMIN, RESPONSE)

AUDIENCE = "pulse"
ALGORITHM = "EdDSA"
MAX_TTL_S = 3600  # a token living longer is refused, whoever signed it
LEEWAY_S = 30  # clock skew between machines
AUTH_DIR = "auth"
ISSUERS_FILE = "issuers.json"
METADATA_KEY = "authorization"
MISSING = "no caller token: send `authorization: Bearer <token>` (see README, Who can call what)"
INVALID = "the caller token is not valid (expired, unknown issuer or bad signature)"


@dataclass(frozen=True)
class Caller:
    """Who is asking, as proven by a verified token."""

    issuer: str
    subject: str
    roles: frozenset[str]
    scope: str  # "" = the whole organisation

    @property
    def viewer_id(self) -> str:
        """A stable id for what belongs to this caller (reports, released groups)."""
        return f"{self.issuer}:{self.subject}"

    def has(self, role: str) -> bool:
        return role in self.roles


_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


def current_caller() -> Caller:
    """The verified caller of the RPC being handled; UNAUTHENTICATED when there is none
    (a servicer reached without the interceptor fails closed)."""
    caller = _CALLER.get()
    if caller is None:
        raise errors.Unauthenticated(MISSING)
    return caller


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _CALLER.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _CALLER.reset(token)


def check_roles(roles: Iterable[str], where: str) -> frozenset[str]:
    found = frozenset(roles)
    unknown = sorted(found - set(ROLES))
    if unknown:
        raise ValueError(
            f"{where}: unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}"
        )
    if not found:
        raise ValueError(f"{where}: needs at least one role")
    return found


@dataclass(frozen=True)
class Grant:
    """What an issuer may put in its tokens."""

    roles: frozenset[str]
    scope: str = ""  # "" = any scope; otherwise its tokens must carry exactly this scope

    def allows(self, roles: Iterable[str], scope: str) -> bool:
        return set(roles) <= self.roles and (not self.scope or scope == self.scope)


@dataclass(frozen=True)
class Credential:
    """A signing key and its grant; ``mint`` makes tokens it is allowed to make."""

    issuer: str
    subject: str
    grant: Grant
    key: Ed25519PrivateKey

    @classmethod
    def create(
        cls, issuer: str, roles: Iterable[str], scope: str = "", subject: str = ""
    ) -> Credential:
        return cls(
            issuer,
            subject or issuer,
            Grant(check_roles(roles, issuer), scope),
            Ed25519PrivateKey.generate(),
        )

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def mint(
        self,
        *,
        subject: str | None = None,
        roles: Iterable[str] | None = None,
        scope: str | None = None,
        ttl_s: int = 300,
        now: float | None = None,
    ) -> str:
        """A signed token; ``ValueError`` when it would claim more than the grant."""
        chosen = frozenset(self.grant.roles if roles is None else roles)
        chosen_scope = self.grant.scope if scope is None else scope
        if not self.grant.allows(chosen, chosen_scope):
            raise ValueError(
                f"credential {self.issuer} may grant {sorted(self.grant.roles)}"
                + (f" in scope {self.grant.scope}" if self.grant.scope else "")
                + f", not {sorted(chosen)}"
                + (f" in scope {chosen_scope}" if chosen_scope else "")
            )
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "sub": subject or self.subject,
            "aud": AUDIENCE,
            "roles": sorted(chosen),
            "scope": chosen_scope,
            "iat": issued,
            "exp": issued + min(ttl_s, MAX_TTL_S),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.issuer})

    def to_json(self) -> str:
        private = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return json.dumps(
            {
                "issuer": self.issuer,
                "subject": self.subject,
                "roles": sorted(self.grant.roles),
                "scope": self.grant.scope,
                "private_key": private,
            },
            indent=2,
        )

    def save(self, path: Path) -> None:
        write_private(path, self.to_json().encode())

    @classmethod
    def load(cls, path: Path) -> Credential:
        """``ConfigError`` naming the file when it cannot be used."""
        try:
            raw = json.loads(path.read_text())
            key = serialization.load_pem_private_key(raw["private_key"].encode(), None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("the key is not an Ed25519 private key")
            grant = Grant(check_roles(raw["roles"], str(path)), str(raw.get("scope", "")))
            return cls(str(raw["issuer"]), str(raw.get("subject") or raw["issuer"]), grant, key)
        except OSError as error:
            raise ConfigError(f"cannot read the credential {path}: {error.strerror}") from None
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"the credential {path} is not usable: {error}") from None


def auth_directory(data_dir: str | Path) -> Path:
    return Path(data_dir) / AUTH_DIR


def issuers_path(settings: Settings) -> Path:
    if settings.auth.issuers_file:
        return Path(settings.auth.issuers_file)
    return auth_directory(settings.data_dir) / ISSUERS_FILE


def credential_path(settings: Settings, identity: str) -> Path:
    if settings.auth.credential_file:
        return Path(settings.auth.credential_file)
    return auth_directory(settings.data_dir) / f"{identity}.json"


def load_credential(settings: Settings, identity: str) -> Credential:
    """The credential this process signs with (``PULSE_AUTH_CREDENTIAL_FILE``, or the
    embedded default ``auth/<identity>.json``)."""
    path = credential_path(settings, identity)
    if not path.exists():
        raise ConfigError(
            f"no credential for {identity} at {path}: set PULSE_AUTH_CREDENTIAL_FILE, create "
            "one with `pulse auth add`, or start the embedded stack with `pulse dev up`"
        )
    return Credential.load(path)


@dataclass
class TokenSource:
    """Tokens of one credential for one (subject, roles, scope), re-minted when less than a
    fifth of their life is left."""

    credential: Credential
    ttl_s: int = 300
    subject: str | None = None
    roles: frozenset[str] | None = None
    scope: str | None = None
    _token: str = ""
    _expires: float = 0.0

    def token(self) -> str:
        now = time.time()
        if now > self._expires - self.ttl_s / 5:
            self._token = self.credential.mint(
                subject=self.subject, roles=self.roles, scope=self.scope, ttl_s=self.ttl_s, now=now
            )
            self._expires = now + self.ttl_s
        return self._token

    def metadata(self) -> tuple[tuple[str, str]]:
        return bearer(self.token())


def bearer(token: str) -> tuple[tuple[str, str]]:
    """Call metadata carrying ``token``."""
    return ((METADATA_KEY, f"Bearer {token}"),)


def token_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The bearer token of call metadata; None when absent, "" when malformed or repeated."""
    values = [v for k, v in metadata or () if k.lower() == METADATA_KEY]
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        return ""
    scheme, _, token = values[0].partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
