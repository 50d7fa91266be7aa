"""`pulse dev up` starts PostgreSQL, NATS and every service as separate processes; standard
health checks report SERVING and reflection lists the services; the `pulse` commands work
against it; `pulse dev down` leaves no process and no open port behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.config import load_settings
from pulse_common.embedded import free_port, pid_alive, port_open
from pulse_common.grpc_server import open_channel
from pulse_common.tls import TlsMaterial, load_tls

Stack = tuple[dict[str, str], dict[str, Any]]

SERVICES = {
    "survey": "pulse.survey.v1.SurveyService",
    "response": "pulse.response.v1.ResponseService",
    "correlation": "pulse.correlation.v1.CorrelationService",
}


def pulse(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pulse_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pulse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def last_json(output: str) -> dict[str, Any]:
    return dict(json.loads(output.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_DATA_DIR"] = str(data_dir)
    # Free ports, never the defaults a developer's own `pulse dev up` may hold.
    for name in SERVICES:
        env[f"PULSE_{name.upper()}_ADDR"] = f"127.0.0.1:{free_port()}"
    for key in ("PULSE_DATABASE_URL", "PULSE_NATS_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    up = pulse(env, "dev", "up", "--no-web", "--json")
    info = last_json(up.stdout)
    state = json.loads((Path(data_dir) / "stack.json").read_text())
    try:
        yield env, {"info": info, "state": state}
    finally:
        pulse(env, "dev", "down", check=False)


def cli_tls(env: dict[str, str]) -> TlsMaterial:
    """The certificate `pulse dev up` made for the command line."""
    return load_tls(load_settings(env), "cli")


def test_health_and_reflection_of_every_service(
    stack: Stack,
) -> None:
    env, details = stack
    addresses = details["state"]["addresses"]

    async def check() -> None:
        for name, service in SERVICES.items():
            # A certificate of the stack's CA is enough for health and reflection.
            async with open_channel(addresses[name], cli_tls(env)) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                reply = await health.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=5
                )
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                stub = reflection_pb2_grpc.ServerReflectionStub(channel)
                request = reflection_pb2.ServerReflectionRequest(list_services="")
                names: set[str] = set()
                async for answer in stub.ServerReflectionInfo(iter([request]), timeout=5):
                    names |= {s.name for s in answer.list_services_response.service}
                assert service in names

    asyncio.run(check())


def test_no_business_rpc_answers_without_a_certificate_and_a_token(stack: Stack) -> None:
    """From a fresh `pulse dev up`: a plaintext client gets nothing; a client with the
    stack's certificate but no caller token gets UNAUTHENTICATED on every business RPC of
    every service (health and reflection aside)."""
    env, details = stack
    addresses = details["state"]["addresses"]
    descriptors = {
        "survey": survey_pb.DESCRIPTOR.services_by_name["SurveyService"],
        "response": resp_pb.DESCRIPTOR.services_by_name["ResponseService"],
        "correlation": corr_pb.DESCRIPTOR.services_by_name["CorrelationService"],
    }

    async def call(channel: grpc.aio.Channel, service: str, method: Any) -> grpc.StatusCode:
        path = f"/{service}/{method.name}"
        try:
            if method.client_streaming:
                stream: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(path)
                await stream(iter([b""]), timeout=5)
            else:
                unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
                await unary(b"", timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    async def check() -> dict[str, list[str]]:
        wrong: dict[str, list[str]] = {}
        for name, service in SERVICES.items():
            methods = list(descriptors[name].methods)
            assert methods
            async with grpc.aio.insecure_channel(addresses[name]) as plain:
                for method in methods:
                    code = await call(plain, service, method)
                    if code != grpc.StatusCode.UNAVAILABLE:
                        wrong.setdefault("plaintext", []).append(f"{method.name}: {code.name}")
            async with open_channel(addresses[name], cli_tls(env)) as certified:
                for method in methods:
                    code = await call(certified, service, method)
                    if code != grpc.StatusCode.UNAUTHENTICATED:
                        wrong.setdefault("no token", []).append(f"{method.name}: {code.name}")
        return wrong

    assert asyncio.run(check()) == {}


def test_dev_status_reports_serving(stack: Stack) -> None:
    env, _ = stack
    status = last_json(pulse(env, "dev", "status", "--json").stdout)
    assert status == dict.fromkeys(SERVICES, "SERVING")


def test_cli_drives_the_stack(stack: Stack, tmp_path: Path) -> None:
    env, _ = stack
    pulse(env, "org", "create-unit", "acme", "--name", "Acme", "--type", "management")
    pulse(env, "org", "create-unit", "support", "--name", "Support", "--parent", "acme")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "employee_id,email,unit_id,start_date,end_date\n"
        + "".join(f"E{i},e{i}@example.test,support,2024-01-01,\n" for i in range(6))
    )
    imported = last_json(pulse(env, "org", "import", str(roster), "--json").stdout)
    assert imported["created"] == 6
    units = last_json(pulse(env, "org", "units", "--json").stdout)
    assert {u["unit_id"] for u in units["units"]} >= {"acme", "support"}
    created = last_json(
        pulse(
            env,
            "survey",
            "create",
            "--name",
            "Pulse",
            "--kind",
            "employee_pulse",
            "--publish",
            "--json",
        ).stdout
    )
    survey_id = str(created["survey_id"])
    assert created["version"] == 1
    bad = pulse(env, "org", "create-unit", "bad id!", "--name", "X", check=False)
    assert bad.returncode != 0
    assert "INVALID_ARGUMENT" in bad.stderr
    assert "unit_id" in bad.stderr
    listing = last_json(pulse(env, "survey", "list", "--json").stdout)
    assert survey_id in {s["survey_id"] for s in listing["surveys"]}


def test_each_service_has_its_own_store(stack: Stack) -> None:
    """Issue 13: on the embedded PostgreSQL, `pulse dev up` gives survey, response and
    correlation each its own login role and database: a service's tables live in its own
    database only, no role can connect to another's, the shared database holds none."""
    _, details = stack
    state = details["state"]
    if not state["embedded_postgres"]:
        pytest.skip("an external database: the deployment provisions the stores")
    stores: dict[str, str] = state["stores"]
    assert set(stores) == set(SERVICES)
    others = "SELECT DISTINCT table_schema FROM information_schema.tables"
    others += " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"

    async def check() -> None:
        for name, url in stores.items():
            conn = await asyncpg.connect(url)
            try:
                assert await conn.fetchval("SELECT current_user") == name
                assert {r["table_schema"] for r in await conn.fetch(others)} == {name}
            finally:
                await conn.close()
            for other, other_url in stores.items():
                if other != name:
                    trespass = urlunsplit(urlsplit(url)._replace(path=urlsplit(other_url).path))
                    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                        await asyncpg.connect(trespass)
        shared = await asyncpg.connect(state["database_url"])
        try:
            assert await shared.fetch(others) == []
        finally:
            await shared.close()

    asyncio.run(check())


def test_dev_down_leaves_nothing_behind(stack: Stack) -> None:
    env, details = stack
    state = details["state"]
    pulse(env, "dev", "down")
    pids = list(state["pids"].values()) + ([state["nats_pid"]] if state["nats_pid"] else [])
    assert pids
    assert not [pid for pid in pids if pid_alive(pid)]
    ports = [int(a.rsplit(":", 1)[1]) for a in state["addresses"].values()]
    if state["embedded_nats"]:
        ports.append(state["nats_port"])
    if state["embedded_postgres"]:
        ports.append(state["postgres_port"])
    assert not [port for port in ports if port_open(port)]
    # With the stack gone, commands say so and how to start it.
    unreachable = pulse(env, "org", "units", check=False)
    assert unreachable.returncode != 0
    assert "cannot reach the service" in unreachable.stderr
    assert "pulse dev up" in unreachable.stderr
    assert "no stack is running" in pulse(env, "dev", "status", check=False).stderr
