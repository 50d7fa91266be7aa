"""A replicated stack on loopback, from the same wheels as ``pulse_common.embedded``: three
``nats-server`` nodes with JetStream joined by routes (``NatsCluster``), and PostgreSQL as a
primary plus a synchronous streaming standby made with ``initdb``, ``pg_basebackup``,
``primary_conninfo`` and ``synchronous_standby_names`` (``PostgresPair``). Used by
``pulse dev up --cluster`` and the failover tests (``tests/cluster``); no Docker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pulse_common.embedded import (
    EmbeddedPostgres,
    free_port,
    nats_server_binary,
    pid_alive,
    terminate_pid,
    wait_for_port,
)

CLUSTER_NAME = "pulse"
STANDBY_NAME = "standby1"


@dataclass
class NatsNode:
    """One ``nats-server`` of the cluster: client ``port``, route ``cluster_port``."""

    index: int
    data_dir: Path
    port: int
    cluster_port: int
    pid: int | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"pulse-n{self.index}"

    @property
    def plain_url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class NatsCluster:
    """Three (``size``) JetStream nodes routed to each other on 127.0.0.1. With
    ``passwords`` (``pulse_common.nats_auth``) every node gets the same users and
    permissions as the single embedded node."""

    data_dir: Path
    size: int = 3
    passwords: dict[str, str] | None = None
    nodes: list[NatsNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes = [
                NatsNode(i + 1, self.data_dir / f"n{i + 1}", free_port(), free_port())
                for i in range(self.size)
            ]

    @property
    def plain_urls(self) -> list[str]:
        return [node.plain_url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node, comma-separated (``PULSE_NATS_URL``), as the tools user when set."""
        from pulse_common.nats_auth import TOOLS, with_credentials

        if self.passwords and TOOLS in self.passwords:
            return ",".join(
                with_credentials(u, TOOLS, self.passwords[TOOLS]) for u in self.plain_urls
            )
        return ",".join(self.plain_urls)

    def _config(self, node: NatsNode) -> Path:
        from pulse_common.nats_auth import server_authorization
        from pulse_common.secrets import write_private

        routes = [f"nats://127.0.0.1:{other.cluster_port}" for other in self.nodes]
        config: dict[str, object] = {
            "listen": f"127.0.0.1:{node.port}",
            "server_name": node.name,
            "jetstream": {"store_dir": str(node.data_dir / "jetstream")},
            "cluster": {
                "name": CLUSTER_NAME,
                "listen": f"127.0.0.1:{node.cluster_port}",
                "routes": routes,
            },
        }
        if self.passwords:
            config["authorization"] = server_authorization(self.passwords)
        path = node.data_dir / "nats.conf"
        write_private(path, json.dumps(config, indent=2).encode())
        return path

    def start_node(self, node: NatsNode, timeout_s: float = 20.0) -> None:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._config(node)
        with open(node.data_dir / "nats.log", "ab") as log_file:
            node._process = subprocess.Popen(
                [nats_server_binary(), "-c", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        node.pid = node._process.pid
        wait_for_port(node.port, timeout_s, node.name)

    def kill_node(self, node: NatsNode) -> None:
        """SIGKILL: the node vanishes as a crashed machine would."""
        if node.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, signal.SIGKILL)
        if node._process is not None:
            node._process.wait(timeout=10)
        node.pid = None
        node._process = None

    def start(self, timeout_s: float = 60.0) -> str:
        """Start every node and wait until JetStream has a meta leader (on failure, stop
        what was started)."""
        try:
            for node in self.nodes:
                self.start_node(node)
            asyncio.run(wait_jetstream_ready(self.url, timeout_s))
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        for node in self.nodes:
            if node.pid is not None:
                terminate_pid(node.pid)
                if node._process is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        node._process.wait(timeout=5)
                node.pid = None
                node._process = None

    def node_named(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)


async def wait_jetstream_ready(servers: str, timeout_s: float) -> None:
    """Until the cluster answers JetStream API calls (a meta leader is elected)."""
    import nats
    import nats.errors

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    nc = await nats.connect(servers=servers.split(","), connect_timeout=2)
    try:
        js = nc.jetstream(timeout=2)
        while True:
            try:
                await js.account_info()
                return
            except Exception:
                if loop.time() > deadline:
                    raise TimeoutError(f"JetStream not ready after {timeout_s:.0f}s") from None
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (PostgreSQL's backends and workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


@dataclass
class PostgresPair:
    """A primary and a synchronous streaming standby (``pg_basebackup -R``); commits
    return only once the standby has them, so a promoted standby holds every
    acknowledged transaction."""

    data_dir: Path
    primary: EmbeddedPostgres = field(init=False)
    standby: EmbeddedPostgres = field(init=False)

    def __post_init__(self) -> None:
        self.primary = EmbeddedPostgres(self.data_dir / "pg1")
        self.standby = EmbeddedPostgres(self.data_dir / "pg2")

    def url(self, database: str = "postgres") -> str:
        """Both hosts; libpq/asyncpg pick the one that accepts writes."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def _psql(self, server: EmbeddedPostgres, sql: str) -> str:
        result = subprocess.run(
            [
                str(server._bin("psql")),
                "-h",
                "127.0.0.1",
                "-p",
                str(server.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql,
            ],
            capture_output=True,
            text=True,
            user=server._run_as(),
            check=True,
        )
        return result.stdout.strip()

    def start(self, timeout_s: float = 90.0) -> str:
        """Primary, base backup, standby, then synchronous replication (on failure, stop
        what was started)."""
        try:
            return self._start(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout_s: float) -> str:
        self.primary.start(timeout_s)
        if not (self.standby.pgdata / "PG_VERSION").exists():
            self.standby.data_dir.mkdir(parents=True, exist_ok=True)
            user = self.standby._run_as()
            if user is not None:
                shutil.chown(self.standby.data_dir, user, user)
            subprocess.run(
                [
                    str(self.standby._bin("pg_basebackup")),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.primary.port),
                    "-U",
                    "postgres",
                    "-D",
                    str(self.standby.pgdata),
                    "-X",
                    "stream",
                    "-R",
                ],
                capture_output=True,
                check=True,
                user=user,
            )
            conninfo = (
                f"host=127.0.0.1 port={self.primary.port} user=postgres "
                f"application_name={STANDBY_NAME}"
            )
            with open(self.standby.pgdata / "postgresql.auto.conf", "a") as conf:
                conf.write(f"primary_conninfo = '{conninfo}'\n")
                # After a promotion the standby runs alone: it must not wait for a standby.
                conf.write("synchronous_standby_names = ''\n")
        self.standby.start(timeout_s)
        # Only now: set before the base backup, the standby would inherit it.
        self._psql(self.primary, f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        self._psql(self.primary, "SELECT pg_reload_conf()")
        self.wait_synchronous(timeout_s)
        return self.url()

    def wait_synchronous(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        query = "SELECT sync_state FROM pg_stat_replication WHERE application_name = "
        while self._psql(self.primary, f"{query}'{STANDBY_NAME}'") != "sync":
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not become synchronous")
            time.sleep(0.1)

    def kill_primary(self) -> None:
        """SIGKILL the primary's postmaster and backends (a crashed machine)."""
        pid = self.primary.running_pid()
        if pid is None:
            return
        for victim in [pid, *_children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def promote_standby(self, timeout_s: float = 30.0) -> None:
        """``pg_ctl promote``, as an operator or CloudNativePG would."""
        subprocess.run(
            [
                str(self.standby._bin("pg_ctl")),
                "-D",
                str(self.standby.pgdata),
                "-w",
                "-t",
                str(int(timeout_s)),
                "promote",
            ],
            capture_output=True,
            check=True,
            user=self.standby._run_as(),
        )

    def stop(self) -> None:
        self.standby.stop(mode="immediate")
        self.primary.stop(mode="immediate")
