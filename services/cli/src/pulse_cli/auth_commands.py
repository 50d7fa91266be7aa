"""``pulse auth``: who may call the services. A credential is a signing key with the roles
(and scope) its tokens may claim; the services trust the issuers file, which lists the
public half of each. ``pulse dev up`` creates the embedded default (``operator`` for this
command line, ``web``, ``response``, ``tools``); these commands add, list and revoke
others, and print a token for tools such as grpcurl."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from pulse_common import auth
from pulse_common.auth import Credential, credential_path, issuers_path
from pulse_common.nats_auth import ensure_users, server_authorization
from pulse_common.provision import read_issuers, register, unregister
from pulse_common.secrets import write_private
from pulse_common.tls import ensure_embedded_tls, issue_certificate, load_ca

from pulse_cli.context import OPERATOR, client_identity, resolve_settings
from pulse_cli.options import json_option
from pulse_cli.output import emit, print_table

ROLE = click.Choice(list(auth.ROLES))


@click.group("auth")
def auth_group() -> None:
    """Credentials and roles: who may call what (README "Who can call what")."""


def _fingerprint(public_pem: str) -> str:
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


@auth_group.command("add")
@click.argument("name")
@click.option("--role", "roles", type=ROLE, multiple=True, required=True, help="Repeatable.")
@click.option("--scope", default="", help="Limit every token to this unit's subtree.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Where to write the credential."
)
@click.option("--replace", is_flag=True, help="Replace an issuer of the same name.")
@json_option
def add(
    name: str, roles: tuple[str, ...], scope: str, output: Path | None, replace: bool, as_json: bool
) -> None:
    """Create credential NAME (a new signing key) and trust it for ROLES.

    The credential file (owner-readable only) is what a person or a service signs its
    tokens with: give it to the CLI as PULSE_AUTH_CREDENTIAL_FILE, or mount it from a
    Secret. Services pick the change up within a second."""
    settings = resolve_settings()
    path = issuers_path(settings)
    if not replace and name in read_issuers(path):
        raise click.ClickException(f"issuer {name} exists; choose another name or --replace")
    try:
        credential = Credential.create(name, roles, scope)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    target = output or path.parent / f"{name}.json"
    credential.save(target)
    register(path, credential)
    result = {"issuer": name, "roles": sorted(roles), "scope": scope, "credential": str(target)}
    emit(as_json, result, f"credential {name} ({', '.join(sorted(roles))}) written to {target}")


@auth_group.command("list")
@json_option
def list_issuers(as_json: bool) -> None:
    """The trusted issuers: what each may grant."""
    settings = resolve_settings()
    issuers = read_issuers(issuers_path(settings))
    rows = [
        {
            "issuer": issuer.name,
            "roles": sorted(issuer.grant.roles),
            "scope": issuer.grant.scope,
            "created": issuer.created,
            "key": _fingerprint(issuer.public_pem),
        }
        for issuer in issuers.values()
    ]

    def show() -> None:
        print_table(
            "trusted issuers",
            ["issuer", "roles", "scope", "created", "key"],
            [
                [r["issuer"], ", ".join(r["roles"]), r["scope"] or "(all)", r["created"], r["key"]]
                for r in rows
            ],
        )

    emit(as_json, {"issuers": rows}, show)


@auth_group.command("remove")
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Stop trusting NAME: its tokens are refused from the services' next check on."""
    settings = resolve_settings()
    if not unregister(issuers_path(settings), name):
        raise click.ClickException(f"no issuer {name}")
    emit(as_json, {"removed": name}, f"issuer {name} removed")


@auth_group.command("whoami")
@json_option
def whoami(as_json: bool) -> None:
    """The credential this command line signs with, and what it may do."""
    settings = resolve_settings()
    _, credential = client_identity(settings)
    result = {
        "issuer": credential.issuer,
        "subject": credential.subject,
        "roles": sorted(credential.grant.roles),
        "scope": credential.grant.scope,
        "credential": str(credential_path(settings, OPERATOR)),
    }
    emit(as_json, result, json.dumps(result, indent=2))


@auth_group.command("token")
@click.option("--role", "roles", type=ROLE, multiple=True, help="Default: all of its roles.")
@click.option("--scope", default=None, help="Limit the token to this unit's subtree.")
@click.option(
    "--ttl", "ttl_s", type=click.IntRange(30, auth.MAX_TTL_S), default=300, help="Seconds."
)
@json_option
def token(roles: tuple[str, ...], scope: str | None, ttl_s: int, as_json: bool) -> None:
    """Print a caller token of this command line's credential, e.g. for grpcurl:
    -H "authorization: Bearer $(pulse auth token)"."""
    settings = resolve_settings()
    _, credential = client_identity(settings)
    try:
        minted = credential.mint(roles=roles or None, scope=scope, ttl_s=ttl_s)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    emit(as_json, {"token": minted, "ttl_s": ttl_s}, minted)


@auth_group.command("nats-config")
@json_option
def nats_config(as_json: bool) -> None:
    """Print the nats-server `authorization` block (JSON, valid in a NATS config file) with
    each service's user, its publish/subscribe permissions and the passwords kept in the
    data directory (created when missing); give each service its PULSE_NATS_USER and
    PULSE_NATS_PASSWORD."""
    settings = resolve_settings()
    passwords = ensure_users(settings.data_dir)
    block = {"authorization": server_authorization(passwords)}
    emit(as_json, block, json.dumps(block, indent=2))


@auth_group.command("cert")
@click.argument("name")
@click.option("--host", "hosts", multiple=True, help="A DNS name or address it serves (repeat).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for ca.crt, tls.crt and tls.key (the layout of PULSE_TLS_DIR).",
)
@json_option
def cert(name: str, hosts: tuple[str, ...], output: Path, as_json: bool) -> None:
    """Issue a certificate for NAME from the data directory's CA (created when missing):
    a service's (with --host for every name clients dial, e.g. survey.pulse.svc) or a
    client's, ready to mount as PULSE_TLS_DIR."""
    settings = resolve_settings()
    folder = ensure_embedded_tls(settings.data_dir, ())
    ca_key, ca_cert = load_ca(folder)
    cert_pem, key_pem = issue_certificate(ca_key, ca_cert, name, hosts)
    output.mkdir(parents=True, exist_ok=True)
    (output / "ca.crt").write_bytes((folder / "ca.crt").read_bytes())
    (output / "tls.crt").write_bytes(cert_pem)
    write_private(output / "tls.key", key_pem)
    files = [str(output / name_) for name_ in ("ca.crt", "tls.crt", "tls.key")]
    written = f"certificate for {name} written to {output} (ca.crt, tls.crt, tls.key)"
    emit(as_json, {"name": name, "files": files}, written)
