"""``pulse dev up --cluster``: the replicated local stack. Three JetStream nodes routed on
loopback, PostgreSQL as a primary plus a synchronous streaming standby
(``pulse_common.embedded_cluster``), the PULSE stream applied at R3 by one owner step
before any service starts, and ``instances`` processes of each gRPC service (they share
durable consumers; the first instance of each holds the address clients use). What was
started is recorded in ``.pulse/stack.json`` (services) and ``.pulse/cluster.json``
(servers), so ``pulse dev down`` stops exactly that."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
from pulse_common.auth import Credential, TokenSource, auth_directory
from pulse_common.config import DEFAULT_PORTS, Settings, load_settings
from pulse_common.embedded import EmbeddedPostgres, free_port, pid_alive, port_open, terminate_pid
from pulse_common.embedded_cluster import NatsCluster, NatsNode, PostgresPair
from pulse_common.grpc_server import check_health
from pulse_common.messaging import StreamLimits, apply_stream, connect_nats
from pulse_common.nats_auth import TOOLS, read_users
from pulse_common.provision import ensure_embedded_security
from pulse_common.tls import TlsMaterial, load_tls

from pulse_cli import stack

CLUSTER_FILE = "cluster.json"
GRPC_NAMES = tuple(name for name, _, _ in stack.SERVICES)


@dataclass
class ClusterState:
    """The servers of a cluster stack and every service instance's address."""

    nats_nodes: list[dict[str, int]]  # index, port, cluster_port, pid
    postgres_ports: list[int]  # primary, standby (as started)
    instances: dict[str, list[str]] = field(default_factory=dict)


def cluster_path(data_dir: Path) -> Path:
    return data_dir / CLUSTER_FILE


def load_cluster(data_dir: Path) -> ClusterState | None:
    path = cluster_path(data_dir.resolve())
    if not path.exists():
        return None
    return ClusterState(**json.loads(path.read_text()))


def _save(data_dir: Path, cluster: ClusterState) -> None:
    cluster_path(data_dir).write_text(json.dumps(asdict(cluster), indent=2))


def tools_material(settings: Settings) -> tuple[TlsMaterial, TokenSource]:
    """mTLS material and tokens of the ``tools`` identity of the stack's data directory."""
    credential = Credential.load(auth_directory(settings.data_dir) / f"{TOOLS}.json")
    return load_tls(settings, TOOLS), TokenSource(credential, ttl_s=3600)


async def _create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _apply_stream(url: str, replicas: int) -> None:
    """The owner step (``pulse nats apply --replicas 3``), before any service starts."""
    nc = await connect_nats(url, "pulse-dev", connect_timeout_s=30)
    try:
        await apply_stream(nc.jetstream(), StreamLimits(replicas=replicas))
    finally:
        await nc.close()


def _address(name: str) -> str:
    port = DEFAULT_PORTS[name]
    return f"127.0.0.1:{port if not port_open(port) else free_port()}"


async def health(address: str, service: str, tls: TlsMaterial) -> str:
    try:
        return await check_health(address, service, timeout_s=1.0, tls=tls)
    except Exception:
        return "UNREACHABLE"


def instance_env(
    base: dict[str, str], cluster: ClusterState, name: str, address: str
) -> dict[str, str]:
    """The environment of one instance of ``name``: it listens on ``address``; as a client
    it reaches every instance of each other service (``ipv4:a,b``: gRPC moves to the next
    address when one is gone), checking certificates for ``localhost``, which every
    embedded certificate names, since the target names several hosts."""
    env = {**base, "PULSE_STREAM_REPLICAS": "3", "PULSE_TLS_SERVER_NAME": "localhost"}
    for other, addresses in cluster.instances.items():
        if other in GRPC_NAMES and len(addresses) > 1:
            env[f"PULSE_{other.upper()}_ADDR"] = "ipv4:" + ",".join(addresses)
    env[f"PULSE_{name.upper()}_ADDR"] = address
    return env


def instance_keys(cluster: ClusterState) -> list[tuple[str, str, str]]:
    """(process key, service name, address) of every instance: ``survey``, ``survey-2``..."""
    return [
        (f"{name}-{i + 1}" if i else name, name, address)
        for name, addresses in cluster.instances.items()
        for i, address in enumerate(addresses)
    ]


async def wait_serving(
    state: stack.StackState, settings: Settings, timeout_s: float, keys: list[str] | None = None
) -> None:
    """Until every gRPC instance (or those in ``keys``) answers SERVING over mTLS."""
    tls, _ = tools_material(settings)
    cluster = load_cluster(Path(state.data_dir))
    assert cluster is not None
    services = {name: service for name, _, service in stack.SERVICES}
    pending = [
        (key, services[name], address)
        for key, name, address in instance_keys(cluster)
        if name in services and (keys is None or key in keys)
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while pending:
        for item in list(pending):
            key, service, address = item
            if not pid_alive(state.pids[key]):
                raise stack.StackError(f"{key} exited during start-up; see logs/{key}.log")
            if await health(address, service, tls) == "SERVING":
                pending.remove(item)
        if pending and loop.time() > deadline:
            names = ", ".join(key for key, _, _ in pending)
            raise stack.StackError(f"timed out waiting for {names} to report SERVING")
        await asyncio.sleep(0.2)


def up_cluster(
    settings: Settings,
    *,
    with_web: bool = True,
    instances: int = 2,
    progress: stack.Progress = lambda _: None,
    timeout_s: float = 120.0,
    service_env: dict[str, str] | None = None,
) -> stack.StackState:
    """Start the replicated stack and wait until every instance reports SERVING."""
    data_dir = Path(settings.data_dir).resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    if stack.load_state(data_dir) is not None:
        progress("a stack was recorded; stopping it first")
        stack.down(data_dir, progress=progress)
    ensure_embedded_security(data_dir)
    nats_cluster = NatsCluster(data_dir / "nats-cluster", passwords=read_users(data_dir))
    pair = PostgresPair(data_dir / "pg-pair")
    state = stack.StackState(
        data_dir=str(data_dir), database_url="", nats_url="", addresses={}, period=settings.period
    )
    stack.save_state(data_dir, state)
    cluster = ClusterState(nats_nodes=[], postgres_ports=[])
    try:
        nats_cluster.start()
        cluster.nats_nodes = [
            {"index": n.index, "port": n.port, "cluster_port": n.cluster_port, "pid": n.pid or 0}
            for n in nats_cluster.nodes
        ]
        _save(data_dir, cluster)
        progress(f"NATS JetStream cluster: {', '.join(nats_cluster.plain_urls)}")
        pair.start()
        cluster.postgres_ports = [pair.primary.port, pair.standby.port]
        _save(data_dir, cluster)
        asyncio.run(_create_database(pair.primary.url, stack.DATABASE_NAME))
        progress(
            f"PostgreSQL: primary 127.0.0.1:{pair.primary.port}, synchronous standby "
            f"127.0.0.1:{pair.standby.port}"
        )
        asyncio.run(_apply_stream(nats_cluster.url, 3))
        progress("stream PULSE applied with 3 replicas")

        state.database_url = pair.url(stack.DATABASE_NAME)
        state.nats_url = ",".join(nats_cluster.plain_urls)
        names = list(GRPC_NAMES)
        if with_web and stack._web_available():
            names.append(stack.WEB[0])
        for name in names:
            count = instances if name in GRPC_NAMES else 1
            first = _address(name)
            cluster.instances[name] = [first] + [
                f"127.0.0.1:{free_port()}" for _ in range(count - 1)
            ]
            state.addresses[name] = first
        _save(data_dir, cluster)
        base = {**os.environ, **(service_env or {}), **state.env()}
        for key, name, address in instance_keys(cluster):
            pid = stack.start_process(state, key, instance_env(base, cluster, name, address))
            progress(f"started {key} (pid {pid}) on {address}")
        asyncio.run(wait_serving(state, load_settings(state.env() | base), timeout_s))
        if stack.WEB[0] in names:
            stack.wait_until_serving(state, [stack.WEB[0]], timeout_s, progress)
        progress("every instance is SERVING")
        return state
    except BaseException:
        stack.down(data_dir, progress=progress)
        raise


def stop_cluster(data_dir: Path, progress: stack.Progress = lambda _: None) -> None:
    """Stop the servers ``up_cluster`` started (``stack.down`` calls this)."""
    cluster = load_cluster(data_dir)
    if cluster is None:
        return
    for node in cluster.nats_nodes:
        if node["pid"] and pid_alive(node["pid"]):
            terminate_pid(node["pid"])
    progress("stopped the NATS cluster")
    for folder in ("pg2", "pg1"):
        EmbeddedPostgres(data_dir / "pg-pair" / folder).stop(mode="fast")
    progress("stopped PostgreSQL primary and standby")
    cluster_path(data_dir).unlink(missing_ok=True)


def nats_cluster_of(data_dir: Path) -> NatsCluster:
    """The running cluster's nodes (for tests that kill and restart them)."""
    cluster = load_cluster(data_dir)
    assert cluster is not None, "no cluster stack is recorded"
    nodes = [
        NatsNode(
            n["index"],
            data_dir / "nats-cluster" / f"n{n['index']}",
            n["port"],
            n["cluster_port"],
            pid=n["pid"] or None,
        )
        for n in cluster.nats_nodes
    ]
    return NatsCluster(
        data_dir / "nats-cluster", len(nodes), passwords=read_users(data_dir), nodes=nodes
    )


def record_nats(data_dir: Path, nats_cluster: NatsCluster) -> None:
    """Remember restarted nodes' pids, so ``pulse dev down`` stops them."""
    cluster = load_cluster(data_dir)
    assert cluster is not None, "no cluster stack is recorded"
    pids = {node.index: node.pid or 0 for node in nats_cluster.nodes}
    for node in cluster.nats_nodes:
        node["pid"] = pids.get(node["index"], node["pid"])
    _save(data_dir, cluster)
