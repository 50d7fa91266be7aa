"""`pulse auth` against a running stack: the embedded default's issuers, a new credential
with a narrower role that the services accept within a second, refuse for what it may not
do, and stop accepting once it is removed."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from cryptography import x509

from services.cli.tests.conftest import Pulse

RELOAD_S = 1.5  # services re-read the issuers file at most once a second


def test_credentials_are_added_used_and_revoked(pulse: Pulse) -> None:
    issuers = {i["issuer"]: i for i in pulse.json("auth list")["issuers"]}
    assert set(issuers) >= {"operator", "web", "response", "tools"}
    assert issuers["web"]["roles"] == ["leader", "respondent-front"]
    assert issuers["response"]["roles"] == ["response"]
    assert pulse.json("auth whoami")["roles"] == ["admin", "analyst", "leader"]

    added = pulse.json("auth add reader --role analyst")
    assert added["roles"] == ["analyst"]
    reader = replace(pulse, env={**pulse.env, "PULSE_AUTH_CREDENTIAL_FILE": added["credential"]})
    assert reader.json("auth whoami")["issuer"] == "reader"
    token = reader("auth token").stdout.strip()
    assert token.count(".") == 2
    time.sleep(RELOAD_S)

    assert reader.json("items")["items"]  # analysts read the item bank
    refused = reader("org create-unit x1 --name X", ok=False)
    assert "PERMISSION_DENIED" in refused.stderr
    assert "needs the role admin" in refused.stderr
    assert "issuer reader exists" in pulse("auth add reader --role admin", ok=False).stderr

    pulse("auth remove reader")
    time.sleep(RELOAD_S)
    revoked = reader("items", ok=False)
    assert "UNAUTHENTICATED" in revoked.stderr
    assert "reader" not in {i["issuer"] for i in pulse.json("auth list")["issuers"]}


def test_a_certificate_for_a_deployment_from_the_stacks_ca(pulse: Pulse, tmp_path: Path) -> None:
    out = tmp_path / "survey-tls"
    pulse(f"auth cert survey --host survey.pulse.svc --host 10.1.2.3 -o {out}")
    assert sorted(p.name for p in out.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert (out / "tls.key").stat().st_mode & 0o077 == 0
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "survey.pulse.svc" in names.get_values_for_type(x509.DNSName)
    assert "10.1.2.3" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    ca = x509.load_pem_x509_certificate((pulse.data_dir / "tls" / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)  # raises unless the stack's CA signed it
