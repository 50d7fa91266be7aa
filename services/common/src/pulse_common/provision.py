"""The security material of the embedded default, created once under the data directory by
``pulse dev up``, the demo and the test fixtures (nothing to configure):

- ``tls/``: a private CA and a certificate per identity (``pulse_common.tls``);
- ``auth/``: the signing credentials and the issuers file services trust
  (``pulse_common.auth``): ``web`` may grant leader and respondent-front, ``response`` only
  response, ``operator`` (the CLI) admin, analyst and leader, ``tools`` (the demo and the
  tests) every role;
- ``nats/users.json``: a NATS password per service and for ``tools`` (``nats_auth``);
- ``secrets/``: the pseudonym and web session keys (``pulse_common.secrets``);

and, with ``provision_store``, a database and login role per service (issue 13).

Existing files are kept, so a restart keeps every identity; issuers added with
``pulse auth add`` stay in the issuers file."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pulse_common import auth
from pulse_common.auth import Credential
from pulse_common.issuers import TrustedIssuer, issuers_json, parse_issuers, trusted
from pulse_common.nats_auth import ensure_users
from pulse_common.secrets import ensure_embedded_secrets, write_private
from pulse_common.tls import ensure_embedded_tls

EMBEDDED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "web": (auth.LEADER, auth.RESPONDENT_FRONT),
    "response": (auth.RESPONSE,),
    "operator": (auth.ADMIN, auth.ANALYST, auth.LEADER),
    "tools": auth.ROLES,
}


def read_issuers(path: Path) -> dict[str, TrustedIssuer]:
    if not path.exists():
        return {}
    return parse_issuers(path.read_text(), str(path))


def write_issuers(path: Path, issuers: dict[str, TrustedIssuer]) -> None:
    # Public keys only, but who is trusted is configuration an attacker would like to
    # change: keep it owner-writable only.
    write_private(path, issuers_json(issuers).encode())


def register(path: Path, credential: Credential) -> None:
    """Trust ``credential``'s public key with its grant (replacing an issuer of that name)."""
    issuers = read_issuers(path)
    issuers[credential.issuer] = trusted(credential)
    write_issuers(path, issuers)


def unregister(path: Path, name: str) -> bool:
    """Stop trusting ``name`` (its tokens fail from the services' next check on)."""
    issuers = read_issuers(path)
    if issuers.pop(name, None) is None:
        return False
    write_issuers(path, issuers)
    return True


def ensure_embedded_auth(data_dir: str | Path) -> Path:
    directory = auth.auth_directory(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    issuers_file = directory / auth.ISSUERS_FILE
    issuers = read_issuers(issuers_file)
    changed = False
    for name, roles in EMBEDDED_CREDENTIALS.items():
        path = directory / f"{name}.json"
        if path.exists():
            credential = Credential.load(path)
        else:
            credential = Credential.create(name, roles)
            credential.save(path)
        known = issuers.get(name)
        if known is None or known.public_pem != credential.public_pem():
            issuers[name] = trusted(credential)
            changed = True
    if changed or not issuers_file.exists():
        write_issuers(issuers_file, issuers)
    return directory


def ensure_embedded_security(data_dir: str | Path, *, secrets: bool = True) -> None:
    """Everything the embedded stack needs to run with mTLS, caller tokens, NATS users and
    (``secrets``) generated secrets."""
    ensure_embedded_tls(data_dir)
    ensure_embedded_auth(data_dir)
    ensure_users(data_dir)
    if secrets:
        ensure_embedded_secrets(data_dir)


# -- separate stores (issue 13) ----------------------------------------------------------

_STORE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def store_statements(name: str, password: str) -> list[str]:
    """SQL (run as a superuser or a role with CREATEROLE and CREATEDB) giving one service its
    own login role ``name`` and its own database ``name``, owned by that role, that no other
    role may connect to: the service then has rights on its own schema only. Idempotent."""
    if not _STORE_NAME.match(name):
        raise ValueError(f"store name must match {_STORE_NAME.pattern}, got {name!r}")
    quoted = password.replace("'", "''")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN"
        f" CREATE ROLE {name} LOGIN PASSWORD '{quoted}'; END IF; END $$",
        f"ALTER ROLE {name} NOSUPERUSER NOCREATEDB NOCREATEROLE LOGIN PASSWORD '{quoted}'",
        # CREATE DATABASE cannot run inside DO: ``provision_store`` checks first.
        f"REVOKE ALL ON DATABASE {name} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {name}",
    ]


async def provision_store(admin_url: str, name: str, password: str) -> str:
    """Create (or bring up to date) the store ``name`` on the cluster of ``admin_url`` and
    return the URL its service connects with. Survey and response belong in separate
    databases at least, and in production on separate PostgreSQL clusters: transaction ids
    are cluster-wide, so a reader of both databases of one cluster can still order a
    redemption against the answer batches (README "Confidentiality")."""
    import asyncpg

    statements = store_statements(name, password)
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statements[0])
        await conn.execute(statements[1])
        if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
        for statement in statements[2:]:
            await conn.execute(statement)
    finally:
        await conn.close()
    parts = urlsplit(admin_url)
    host = parts.hostname or "localhost"
    netloc = f"{name}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))
