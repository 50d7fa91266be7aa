"""The fault suite's stack: the services as separate processes started by ``pulse dev up``'s
own machinery (``pulse_cli.stack``), its private PostgreSQL, and a nats-server behind a
``NatsProxy`` that the suite owns, so that a test can SIGKILL, SIGTERM, SIGSTOP or restart
any of them and watch the rest recover without being restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc.aio
import httpx
from pulse_cli import stack
from pulse_cli.context import Stubs, client_identity, connect
from pulse_common.auth import TokenSource
from pulse_common.config import Settings, load_settings
from pulse_common.embedded import (
    EmbeddedPostgres,
    free_port,
    pid_alive,
    port_open,
    wait_for_port,
)
from pulse_common.grpc_server import open_channel
from pulse_common.nats_auth import TOOLS, read_users, with_credentials

from pulse_testing.faults import spawn
from pulse_testing.faults.nats_proxy import NatsProxy

GRPC_SERVICES = ("survey", "response", "correlation")

# What every fault test runs with: nothing stands between a respondent and a token (no
# contact budget, every interaction sampled, no rate limit), waves open only when a test
# opens them, messages are redelivered quickly after a lost ack and poison is dead-lettered
# after 3 tries, and comments share the score threshold (k = 5) so one org tests both.
FAULT_ENV = {
    "PULSE_CONTACT_BUDGET_DAYS": "0",
    "PULSE_CUSTOMER_SAMPLE_RATE": "1",
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000000",
    "PULSE_ACK_WAIT_S": "5",
    # Batches small enough that a kill lands mid-ingestion even at the quick size (a batch
    # of a thousand counts the quick test's 300 answers in one transaction).
    "PULSE_CORRELATION_BATCH": "50",
    "PULSE_MAX_DELIVER": "3",
    "PULSE_MIN_GROUP_SIZE": "5",
    "PULSE_MIN_COMMENT_GROUP_SIZE": "5",
    "PULSE_PERIOD": "month",
    "PULSE_GRPC_DEADLINE_S": "10",
    "PULSE_SHUTDOWN_GRACE_S": "5",
    "PULSE_STARTUP_TIMEOUT_S": "30",
    "PULSE_LOG_FORMAT": "text",
    # Employee answers are written at once; the linkage test restarts the response service
    # with the real batching (0: the survey's k).
    "PULSE_ANSWER_BATCH_K": "1",
}
# The suite calls as the embedded default's ``tools`` identity (every role, like the demo).
IDENTITY = "tools"


MODULES = (*((name, module) for name, module, _ in stack.SERVICES), stack.WEB)
PG_CTL = """
import sys
from pathlib import Path
from pulse_common.embedded import EmbeddedPostgres
postgres = EmbeddedPostgres(Path(sys.argv[1]), port=int(sys.argv[2]))
postgres.start() if sys.argv[3] == "start" else postgres.stop(mode=sys.argv[4])
"""


def _environment(env: dict[str, str]) -> dict[str, str]:
    """The suite's environment for its processes: no PULSE_* of the caller's own (a CI's
    external PostgreSQL or NATS must not be what the suite restarts)."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}, **env}


def _dev_down(env: dict[str, str]) -> None:
    spawn.run([sys.executable, "-m", "pulse_cli", "dev", "down"], _environment(env), 120)


def full_scale() -> bool:
    """``PULSE_FAULT_SCALE=full`` (``make test-faults``): the issue's sizes; else quick ones."""
    return os.environ.get("PULSE_FAULT_SCALE", "quick") == "full"


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (PostgreSQL's backends and workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class FaultStack:
    work_dir: Path
    env: dict[str, str]
    state: stack.StackState
    proxy: NatsProxy
    postgres: EmbeddedPostgres
    frozen: list[int] = field(default_factory=list)
    # Services talking to NATS through the proxy (kept so when they are restarted).
    proxied: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def up(cls, extra_env: dict[str, str] | None = None, *, with_web: bool = True) -> FaultStack:
        """``pulse dev up`` into a private data folder (embedded PostgreSQL and NATS, every
        service a process); blocking, so call it from a thread or a sync fixture."""
        work_dir = Path(tempfile.mkdtemp(prefix="pulse-faults-"))
        env = {
            **FAULT_ENV,
            **(extra_env or {}),
            "PULSE_DATA_DIR": str(work_dir / "pulse"),
            **{f"PULSE_{name.upper()}_ADDR": f"127.0.0.1:{free_port()}" for name in GRPC_SERVICES},
            "PULSE_WEB_ADDR": f"127.0.0.1:{free_port()}",
        }
        command = [sys.executable, "-m", "pulse_cli", "dev", "up", "--json"]
        try:
            # `pulse dev up` itself, in its own process (see spawn: no fork from here).
            code, output = spawn.run(
                command if with_web else [*command, "--no-web"], _environment(env), 240
            )
            state = stack.load_state(Path(env["PULSE_DATA_DIR"]))
            if code != 0 or state is None:
                raise RuntimeError(f"pulse dev up failed ({code}):\n{output[-3000:]}")
        except BaseException:
            _dev_down(env)
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        postgres = EmbeddedPostgres(Path(state.data_dir) / "pg", port=state.postgres_port)
        proxy = NatsProxy(state.nats_port)
        proxy.start()
        return cls(work_dir, env, state, proxy, postgres)

    def down(self, keep_logs: Path | None = None) -> None:
        """Stop everything; with ``keep_logs``, copy the services' and servers' logs there
        first (a folder per run)."""
        self.thaw_postgres()
        # SIGTERM every service at once (each drains for a second or two), then let
        # `pulse dev down` stop what is left and the servers.
        for pid in self.state.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while any(pid_alive(pid) for pid in self.state.pids.values()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        _dev_down(self.env)
        self.proxy.stop()
        if keep_logs is not None:
            target = keep_logs / self.work_dir.name
            data = Path(self.state.data_dir)
            shutil.copytree(data / "logs", target / "logs", dirs_exist_ok=True)
            for server_log in (data / "pg" / "postgres.log", data / "nats" / "nats.log"):
                if server_log.exists():
                    shutil.copy2(server_log, target / server_log.name)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    @property
    def settings(self) -> Settings:
        """What a client of this stack uses (the CLI's view of it)."""
        return load_settings({**self.env, **self.state.env()})

    @property
    def nats_url(self) -> str:
        """The nats-server itself as the ``tools`` user, for the test's own reads and
        publishes (never through the proxy)."""
        password = read_users(self.state.data_dir).get(TOOLS)
        if password is None:
            return self.state.nats_url
        return with_credentials(self.state.nats_url, TOOLS, password)

    @contextlib.asynccontextmanager
    async def stubs(self) -> AsyncIterator[Stubs]:
        """The three services' stubs over mutual TLS, calls signed as ``tools``."""
        async with connect(self.settings, identity=IDENTITY) as stubs:
            yield stubs

    def channel(self, name: str) -> grpc.aio.Channel:
        """A channel to service ``name`` (for calls the typed stubs cannot make, such as
        bytes that are no request message)."""
        settings = self.settings
        tls, credential = client_identity(settings, IDENTITY)
        tokens = TokenSource(credential, settings.auth.token_ttl_s)
        return open_channel(self.state.addresses[name], tls, tokens)

    async def db(self, schema: str) -> asyncpg.Connection:
        """A connection (as the superuser) to the database of service ``schema`` (its own
        store, issue 13; else the stack's shared one), seeing ``schema`` first."""
        url = self.state.database_url
        if schema in self.state.stores:
            own = urlsplit(self.state.stores[schema]).path
            url = urlunsplit(urlsplit(url)._replace(path=own))
        conn: asyncpg.Connection = await asyncpg.connect(
            url, server_settings={"search_path": f"{schema},public"}
        )
        return conn

    # ------------------------------------------------------------------ services

    def pid(self, name: str) -> int:
        return self.state.pids[name]

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.kill(self.pid(name), sig)

    def wait_exit(self, name: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while pid_alive(self.pid(name)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not exit within {timeout_s:.0f} s")
            time.sleep(0.05)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)
        self.wait_exit(name)

    def start(self, name: str, **env: str) -> int:
        """Start ``name`` again (after it was killed or stopped), with ``env`` on top of the
        stack's, as ``pulse dev up`` does (same module, log and record); do not wait."""
        via_proxy = {"PULSE_NATS_URL": self.proxy.url} if name in self.proxied else {}
        environment = {**_environment(self.env), **self.state.env(), **via_proxy, **env}
        module = dict(MODULES)[name]
        log = Path(self.state.data_dir) / "logs" / f"{name}.log"
        pid = spawn.spawn([sys.executable, "-m", module], environment, log)
        self.state.pids[name] = pid
        stack.save_state(Path(self.state.data_dir), self.state)
        return pid

    def restart(self, name: str, **env: str) -> int:
        """``start`` and wait until it is SERVING and, with a web front, until the front's
        readiness check reaches every service again (so the next test starts on a whole
        stack)."""
        pid = self.start(name, **env)
        stack.wait_until_serving(self.state, [name], timeout_s=90)
        self.wait_web_ready()
        return pid

    def wait_web_ready(self, timeout_s: float = 30.0) -> None:
        """Until the web front's ``/healthz`` answers 200 (nothing without a web front)."""
        address = self.state.addresses.get("web")
        if address is None:
            return
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{address}/healthz", timeout=5).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the web front was not ready within {timeout_s:.0f} s")
            time.sleep(0.1)

    def through_proxy(self, name: str) -> None:
        """Stop ``name`` (SIGTERM) and start it again talking to NATS through the proxy (for
        the rest of the run, restarts included); nothing when it already does."""
        if name in self.proxied:
            return
        self.signal(name, signal.SIGTERM)
        self.wait_exit(name)
        self.proxied.add(name)
        self.restart(name)

    def status(self) -> dict[str, str]:
        """Standard gRPC health of each service (``pulse dev status``)."""
        return stack.status(Path(self.state.data_dir))

    async def wait_status(
        self, want: str, timeout_s: float, names: tuple[str, ...] = GRPC_SERVICES
    ) -> float:
        """Seconds until every service in ``names`` reports ``want``."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            found = await asyncio.to_thread(self.status)
            if all(found.get(name) == want for name in names):
                return loop.time() - started
            if loop.time() - started > timeout_s:
                raise AssertionError(f"health after {timeout_s:.0f} s: {found}, wanted {want}")
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ PostgreSQL

    def stop_postgres(self, mode: str = "fast") -> None:
        """Stop PostgreSQL (``fast``: every session is terminated) and make sure it is down."""
        self._pg_ctl("stop", mode)
        if port_open(self.postgres.port):
            raise AssertionError(f"PostgreSQL did not stop: {self._postgres_log()}")

    def start_postgres(self) -> None:
        """PostgreSQL again on the same port and data."""
        self._pg_ctl("start")
        if not port_open(self.postgres.port):
            raise AssertionError(f"PostgreSQL did not start: {self._postgres_log()}")

    def _pg_ctl(self, action: str, mode: str = "fast") -> None:
        """``EmbeddedPostgres.start``/``stop`` in a helper process (it forks pg_ctl as
        PostgreSQL's user, which this threaded process must not do)."""
        spawn.python(PG_CTL, str(self.postgres.data_dir), str(self.postgres.port), action, mode)

    def _postgres_log(self) -> str:
        path = self.postgres.data_dir / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def freeze_postgres(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open, nothing answers."""
        postmaster = self.postgres.running_pid()
        assert postmaster is not None, "PostgreSQL is not running"
        self.frozen = [postmaster, *_children(postmaster)]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw_postgres(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    # ------------------------------------------------------------------ NATS

    def kill_nats(self) -> list[str]:
        """SIGKILL nats-server; returns its command line, for ``start_nats``."""
        pid = self.state.nats_pid
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [part.decode() for part in command if part]

    def start_nats(self, command: list[str]) -> None:
        """nats-server again, exactly as it ran (same port, store and configuration):
        JetStream recovers the stream from its files."""
        log_path = Path(self.state.data_dir) / "logs" / "nats-restarted.log"
        self.state.nats_pid = spawn.spawn(command, os.environ, log_path)
        stack.save_state(Path(self.state.data_dir), self.state)
        wait_for_port(self.state.nats_port, 20, "nats-server")
