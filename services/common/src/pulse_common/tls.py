"""Mutual TLS on every gRPC port: the material a process presents and trusts, and the private
CA that ``pulse dev up``, the demo and the test fixtures create under the data directory.

The embedded default needs no configuration: ``ensure_embedded_tls`` writes a CA
(``tls/ca.crt`` + ``ca.key``) and one certificate per identity (``tls/<name>.crt`` +
``.key``: the three services, the web, the CLI and the test/demo tools), each valid as
server and as client for ``localhost``, ``127.0.0.1``, ``::1`` and its own name. A
deployment mounts its own material instead (``PULSE_TLS_DIR`` holding ``ca.crt``,
``tls.crt``, ``tls.key`` as a Kubernetes TLS Secret with its CA, or the three
``PULSE_TLS_*_FILE`` variables). Certificates use ECDSA P-256 (what every gRPC TLS stack
accepts), made with the ``cryptography`` package."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pulse_common.config import ConfigError, Settings
from pulse_common.secrets import write_private

TLS_DIR = "tls"
CA_NAME = "ca"
CERT_DAYS = 825
# Identities of the embedded default: services serve with theirs and call others with it.
SERVICE_IDENTITIES = ("survey", "response", "correlation")
CLIENT_IDENTITIES = ("web", "cli", "tools")
EMBEDDED_IDENTITIES = (*SERVICE_IDENTITIES, *CLIENT_IDENTITIES)


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes: the CA(s) to trust, this process's certificate chain and its key."""

    ca: bytes
    cert: bytes
    key: bytes
    # Name the client expects in the server's certificate when the address is not in it.
    server_name: str = ""

    def server_credentials(self) -> grpc.ServerCredentials:
        """A client without a certificate signed by ``ca`` is refused at the handshake."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )


def tls_directory(data_dir: str | Path) -> Path:
    return Path(data_dir) / TLS_DIR


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pulse (embedded)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Pulse embedded CA"))
        .issuer_name(_name("Pulse embedded CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    name: str,
    hosts: Iterable[str] = (),
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``name``, valid as TLS server and client for
    ``localhost``, the loopback addresses, ``name`` and ``hosts``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    dns = sorted({"localhost", name, *(h for h in hosts if not _is_ip(h))})
    ips = sorted({"127.0.0.1", "::1", *(h for h in hosts if _is_ip(h))})
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def load_ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((directory / f"{CA_NAME}.key").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{directory / CA_NAME}.key is not an EC key")
    cert = x509.load_pem_x509_certificate((directory / f"{CA_NAME}.crt").read_bytes())
    return key, cert


def ensure_embedded_tls(data_dir: str | Path, names: Iterable[str] = EMBEDDED_IDENTITIES) -> Path:
    """Create the private CA and a certificate per name once (kept on later calls);
    returns the folder."""
    directory = tls_directory(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / f"{CA_NAME}.crt").exists():
        key, cert = new_ca()
        write_private(directory / f"{CA_NAME}.key", _key_pem(key))
        (directory / f"{CA_NAME}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_key, ca_cert = load_ca(directory)
    for name in names:
        if (directory / f"{name}.crt").exists() and (directory / f"{name}.key").exists():
            continue
        cert_pem, key_pem = issue_certificate(ca_key, ca_cert, name)
        write_private(directory / f"{name}.key", key_pem)
        (directory / f"{name}.crt").write_bytes(cert_pem)
    return directory


def _read(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{variable}: cannot read {path}: {error.strerror}") from None


def load_tls(settings: Settings, identity: str) -> TlsMaterial:
    """The material of ``identity`` (a service, "web", "cli" or "tools"): the deployment's
    ``PULSE_TLS_*`` when set, otherwise the embedded default under the data directory.
    ``ConfigError`` names what is missing."""
    tls = settings.tls
    if tls.cert_file or tls.key_file or tls.ca_file:
        return TlsMaterial(
            ca=_read(Path(tls.ca_file), "PULSE_TLS_CA_FILE"),
            cert=_read(Path(tls.cert_file), "PULSE_TLS_CERT_FILE"),
            key=_read(Path(tls.key_file), "PULSE_TLS_KEY_FILE"),
            server_name=tls.server_name,
        )
    directory = tls_directory(settings.data_dir)
    cert, key = directory / f"{identity}.crt", directory / f"{identity}.key"
    if not cert.exists() or not key.exists():
        raise ConfigError(
            f"no TLS certificate for {identity} in {directory}: set PULSE_TLS_DIR (or "
            "PULSE_TLS_CA_FILE, PULSE_TLS_CERT_FILE and PULSE_TLS_KEY_FILE), or start the "
            "embedded stack with `pulse dev up`, which creates them"
        )
    return TlsMaterial(
        ca=_read(directory / f"{CA_NAME}.crt", "PULSE_TLS_CA_FILE"),
        cert=cert.read_bytes(),
        key=key.read_bytes(),
        server_name=tls.server_name,
    )
