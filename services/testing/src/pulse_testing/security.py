"""The security material of the tests: the embedded default's CA, certificates, signing
credentials, NATS users and secrets, made once per test process (``pulse_common.provision``,
the same code as ``pulse dev up``) and copied into every test's data directory by
``settings_for_tests``. Test clients are the ``tools`` identity: its certificate, and a
credential that may mint every role, so existing tests keep working unchanged while the
services check every call; ``caller`` and ``as_viewer`` make the metadata of one call as
another caller."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import grpc.aio
from pulse_common import auth
from pulse_common.auth import Credential, TokenSource
from pulse_common.grpc_server import open_channel
from pulse_common.nats_auth import read_users
from pulse_common.provision import ensure_embedded_security
from pulse_common.tls import TlsMaterial, tls_directory

TOOLS = "tools"


@functools.cache
def embedded_material() -> Path:
    """A folder holding tls/, auth/, nats/ and secrets/ (removed when the process ends)."""
    folder = Path(tempfile.mkdtemp(prefix="pulse-test-security-"))
    atexit.register(shutil.rmtree, folder, True)
    ensure_embedded_security(folder)
    return folder


def nats_passwords() -> dict[str, str]:
    return read_users(embedded_material())


@functools.cache
def tls_of(identity: str = TOOLS) -> TlsMaterial:
    folder = tls_directory(embedded_material())
    return TlsMaterial(
        ca=(folder / "ca.crt").read_bytes(),
        cert=(folder / f"{identity}.crt").read_bytes(),
        key=(folder / f"{identity}.key").read_bytes(),
    )


@functools.cache
def credential_of(identity: str = TOOLS) -> Credential:
    return Credential.load(auth.auth_directory(embedded_material()) / f"{identity}.json")


def caller(
    subject: str = TOOLS,
    roles: Iterable[str] = auth.ROLES,
    scope: str = "",
    issuer: str = TOOLS,
) -> tuple[tuple[str, str]]:
    """Metadata of one call as ``subject`` with ``roles`` in ``scope`` ("" = everything)."""
    token = credential_of(issuer).mint(subject=subject, roles=roles, scope=scope)
    return auth.bearer(token)


def as_viewer(viewer_id: str, scope: str = "") -> tuple[tuple[str, str]]:
    """A leader (and analyst) called ``viewer_id`` who may read ``scope``'s subtree."""
    return caller(viewer_id, (auth.LEADER, auth.ANALYST), scope)


def viewer_id_of(subject: str, issuer: str = TOOLS) -> str:
    """The viewer id services derive from a token of ``issuer`` for ``subject``."""
    return f"{issuer}:{subject}"


def tools_channel(address: str, *, with_token: bool = True) -> grpc.aio.Channel:
    """A channel as the tests' ``tools`` identity: mutual TLS with its certificate, and a
    token with every role on calls that bring none (``with_token=False``: none at all)."""
    tokens = TokenSource(credential_of(TOOLS), ttl_s=3600) if with_token else None
    return open_channel(address, tls_of(TOOLS), tokens)
