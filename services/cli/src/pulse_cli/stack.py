"""The local stack behind ``pulse dev up`` / ``pulse dev down``: PostgreSQL and NATS (private
embedded servers unless ``PULSE_DATABASE_URL`` / ``PULSE_NATS_URL`` say otherwise) and every
service as its own process, recorded in ``.pulse/stack.json`` so ``down`` stops exactly what
``up`` started. On the embedded PostgreSQL each service gets its own login role and database
(``PULSE_<SERVICE>_DATABASE_URL``, issue 13), as compose and Kubernetes give them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
from pulse_common.config import DEFAULT_PORTS, ConfigError, Settings, load_settings
from pulse_common.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    free_port,
    pid_alive,
    port_open,
    terminate_pid,
)
from pulse_common.grpc_server import check_health
from pulse_common.nats_auth import read_users
from pulse_common.provision import ensure_embedded_security, provision_store
from pulse_common.secrets import ensure_generated
from pulse_common.tls import TlsMaterial, load_tls

# (name, python module, gRPC service checked for health); order = start order.
SERVICES: tuple[tuple[str, str, str], ...] = (
    ("survey", "pulse_survey", "pulse.survey.v1.SurveyService"),
    ("response", "pulse_response", "pulse.response.v1.ResponseService"),
    ("correlation", "pulse_correlation", "pulse.correlation.v1.CorrelationService"),
)
WEB = ("web", "pulse_web")
DATABASE_NAME = "pulse"

Progress = Callable[[str], None]


class StackError(Exception):
    pass


@dataclass
class StackState:
    data_dir: str
    database_url: str
    nats_url: str
    addresses: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)
    embedded_postgres: bool = False
    postgres_port: int = 0
    embedded_nats: bool = False
    nats_pid: int = 0
    nats_port: int = 0
    # PULSE_PERIOD of the services, so that commands default to periods they accept.
    period: str = ""
    # Service -> the URL of its own store (role and database) on the embedded PostgreSQL
    # (issue 13); empty with an external database, whose stores the deployment provisions.
    stores: dict[str, str] = field(default_factory=dict)

    @property
    def web_url(self) -> str | None:
        address = self.addresses.get("web")
        return f"http://{address}" if address else None

    def env(self) -> dict[str, str]:
        """Environment for processes that join this stack (services, CLI, demo)."""
        env = {
            "PULSE_DATABASE_URL": self.database_url,
            "PULSE_NATS_URL": self.nats_url,
            "PULSE_DATA_DIR": self.data_dir,
        }
        for name, url in self.stores.items():
            env[f"PULSE_{name.upper()}_DATABASE_URL"] = url
        for name, address in self.addresses.items():
            env[f"PULSE_{name.upper()}_ADDR"] = address
        if self.period:
            env["PULSE_PERIOD"] = self.period
        if "web" in self.addresses:
            env.setdefault("PULSE_PUBLIC_URL", f"http://{self.addresses['web']}")
        return env


def state_path(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def load_state(data_dir: Path) -> StackState | None:
    path = state_path(data_dir)
    if not path.exists():
        return None
    return StackState(**json.loads(path.read_text()))


def save_state(data_dir: Path, state: StackState) -> None:
    state_path(data_dir).write_text(json.dumps(asdict(state), indent=2))


def start_process(state: StackState, name: str, env: dict[str, str] | None = None) -> int:
    """Start service ``name`` of ``state`` as its own process (log appended to
    ``logs/<name>.log``), record its pid and return it. ``up`` starts each service with it;
    the fault suite restarts one after killing it."""
    modules = {service: module for service, module, _ in SERVICES} | {WEB[0]: WEB[1]}
    data_dir = Path(state.data_dir)
    with open(data_dir / "logs" / f"{name}.log", "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", modules[name.split("-")[0]]],  # "survey-2": 2nd instance
            env=env if env is not None else {**os.environ, **state.env()},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    state.pids[name] = process.pid
    save_state(data_dir, state)
    return process.pid


def wait_until_serving(
    state: StackState,
    names: list[str],
    timeout_s: float = 90.0,
    progress: Progress = lambda _: None,
) -> None:
    """Until every service in ``names`` reports SERVING (a web front: its port is open)."""
    _wait_until_serving(state, names, timeout_s, progress)


def _choose_address(env_name: str, default_port: int, explicit: dict[str, str]) -> str:
    if env_name in explicit:
        return explicit[env_name]
    port = default_port if not port_open(default_port) else free_port()
    return f"127.0.0.1:{port}"


async def _provision_stores(admin_url: str, data_dir: Path) -> dict[str, str]:
    """A login role and a database per service on the embedded PostgreSQL (issue 13:
    ``provision_store``), with passwords generated once and kept owner-only in
    ``secrets/PULSE_<NAME>_DB_PASSWORD``."""
    return {
        name: await provision_store(
            admin_url, name, ensure_generated(data_dir, f"PULSE_{name.upper()}_DB_PASSWORD")
        )
        for name, _, _ in SERVICES
    }


async def _ensure_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _web_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(f"{WEB[1]}.__main__") is not None


def up(
    settings: Settings,
    *,
    with_web: bool = True,
    progress: Progress = lambda _: None,
    timeout_s: float = 90.0,
    service_env: dict[str, str] | None = None,
) -> StackState:
    """Start (or adopt) the stack and wait until every health check reports SERVING.
    ``service_env`` is added to the environment the services inherit."""
    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    existing = load_state(data_dir)
    if existing is not None and all(pid_alive(p) for p in existing.pids.values()):
        progress("stack already running")
        return existing
    if existing is not None:
        progress("found a partly stopped stack; stopping it first")
        down(data_dir, progress=progress)

    given = {**os.environ, **(service_env or {})}
    explicit = {k: v for k, v in given.items() if k.endswith("_ADDR")}
    state = StackState(
        data_dir=str(data_dir),
        database_url="",
        nats_url="",
        addresses={},
        period=settings.period,
    )
    # Mutual TLS, caller credentials and NATS users: created once, kept across restarts.
    # Generated secrets only when both servers are embedded (an external one needs the
    # deployment's own PULSE_HMAC_SECRET / PULSE_WEB_SESSION_SECRET, named if missing).
    ensure_embedded_security(data_dir, secrets=not (settings.database_url or settings.nats_url))
    try:
        if settings.database_url:
            state.database_url = settings.database_url
            progress(f"PostgreSQL: using {settings.database_url}")
        else:
            postgres = EmbeddedPostgres(data_dir / "pg")
            admin_url = postgres.start()
            state.embedded_postgres = True
            state.postgres_port = postgres.port
            save_state(data_dir, state)
            state.database_url = asyncio.run(_ensure_database(admin_url, DATABASE_NAME))
            state.stores = asyncio.run(_provision_stores(admin_url, data_dir))
            save_state(data_dir, state)
            progress(f"PostgreSQL: embedded on 127.0.0.1:{postgres.port} (data {postgres.pgdata})")
        if settings.nats_url:
            state.nats_url = settings.nats_url
            progress(f"NATS: using {settings.nats_url}")
        else:
            nats_server = EmbeddedNats(data_dir / "nats", passwords=read_users(data_dir))
            state.nats_url = nats_server.start()
            state.embedded_nats = True
            state.nats_pid = nats_server.pid or 0
            state.nats_port = nats_server.port
            save_state(data_dir, state)
            progress(f"NATS JetStream: embedded on {state.nats_url}")

        names = [name for name, _, _ in SERVICES]
        if with_web and _web_available():
            names.append(WEB[0])
        for name in names:
            state.addresses[name] = _choose_address(
                f"PULSE_{name.upper()}_ADDR", DEFAULT_PORTS[name], explicit
            )
        env = {**os.environ, **(service_env or {}), **state.env()}
        for name in names:
            pid = start_process(state, name, env)
            progress(f"started {name} (pid {pid}) on {state.addresses[name]}")
        _wait_until_serving(state, names, timeout_s, progress)
        return state
    except BaseException:
        down(data_dir, progress=progress)
        raise


def _log_tail(data_dir: Path, name: str, lines: int = 25) -> str:
    path = data_dir / "logs" / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_serving(
    state: StackState, names: list[str], timeout_s: float, progress: Progress
) -> None:
    grpc_names = {name: service for name, _, service in SERVICES}
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    while pending:
        for name in list(pending):
            pid = state.pids[name]
            if not pid_alive(pid):
                raise StackError(
                    f"{name} exited during start-up; last log lines:\n"
                    + _log_tail(Path(state.data_dir), name)
                )
            if name in grpc_names:
                try:
                    status = asyncio.run(
                        check_health(
                            state.addresses[name], grpc_names[name], 1.0, _client_tls(state)
                        )
                    )
                except Exception:
                    status = "UNREACHABLE"
            else:
                port = int(state.addresses[name].rsplit(":", 1)[1])
                status = "SERVING" if port_open(port) else "STARTING"
            if status == "SERVING":
                pending.remove(name)
                progress(f"{name} is SERVING")
        if pending and time.monotonic() > deadline:
            raise StackError(f"timed out waiting for {', '.join(pending)} to report SERVING")
        if pending:
            time.sleep(0.2)


def down(data_dir: Path, *, progress: Progress = lambda _: None) -> bool:
    """Stop everything ``up`` started; returns False when there was nothing to stop."""
    data_dir = data_dir.resolve()
    state = load_state(data_dir)
    if state is None:
        return False
    for name, pid in reversed(list(state.pids.items())):
        if pid_alive(pid):
            terminate_pid(pid, timeout_s=15)
            progress(f"stopped {name}")
    if state.embedded_nats and state.nats_pid:
        terminate_pid(state.nats_pid)
        progress("stopped NATS")
    if state.embedded_postgres:
        EmbeddedPostgres(data_dir / "pg").stop()
        progress("stopped PostgreSQL")
    from pulse_cli.cluster_stack import stop_cluster  # the servers of `up --cluster`

    stop_cluster(data_dir, progress)
    state_path(data_dir).unlink(missing_ok=True)
    return True


def _client_tls(state: StackState) -> TlsMaterial | None:
    """The CLI's certificate (health needs one, no caller token); None when it is missing,
    so the check reports the service as unreachable rather than failing."""
    try:
        return load_tls(load_settings({**os.environ, **state.env()}), "cli")
    except ConfigError:
        return None


def status(data_dir: Path) -> dict[str, str]:
    state = load_state(data_dir.resolve())
    if state is None:
        return {}
    result: dict[str, str] = {}
    for name, _, service in SERVICES:
        if name not in state.addresses:
            continue
        try:
            result[name] = asyncio.run(
                check_health(state.addresses[name], service, tls=_client_tls(state))
            )
        except Exception:
            result[name] = "UNREACHABLE"
    return result
