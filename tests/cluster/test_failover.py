"""Failover on loopback (``make test-cluster``): under a load of submits, kill the JetStream
stream leader, lose NATS quorum for 10 s, kill the PostgreSQL primary and promote the
synchronous standby, kill one instance of each service. Every acknowledged submit is
counted exactly once; each test prints ``cluster <name>: submitted=N ok=N counted=N lost=N
duplicated=N``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pulse_cli.cluster_stack import record_nats
from pulse_testing.cluster import LINES, ClusterStack, Tally, under_load

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(420)]

PEOPLE = 300


@pytest.fixture
def cs() -> Iterator[ClusterStack]:
    started = ClusterStack.up()
    try:
        yield started
    finally:
        started.down()


def report(name: str, tally: Tally) -> None:
    LINES.append(tally.line(name))
    print("\n" + LINES[-1])
    assert tally.in_flight_at_fault > 0, "the fault struck after the load had finished"
    assert tally.ok == tally.submitted, f"{tally.submitted - tally.ok} submits never succeeded"
    assert tally.counted == tally.ok, tally.line(name)
    assert tally.stored == tally.ok, tally.line(name)


async def test_killing_the_stream_leader_loses_and_doubles_nothing(cs: ClusterStack) -> None:
    leader = await cs.stream_leader()
    nats_cluster = cs.nats

    async def fault() -> None:
        await asyncio.to_thread(nats_cluster.kill_node, nats_cluster.node_named(leader))

    tally = await under_load(cs, PEOPLE, fault, after=PEOPLE // 3)
    assert await cs.stream_leader() != leader
    await cs.close_channels()
    report("stream-leader-kill", tally)


async def test_losing_nats_quorum_for_10_s_loses_and_doubles_nothing(cs: ClusterStack) -> None:
    nats_cluster = cs.nats
    victims = nats_cluster.nodes[:2]

    async def fault() -> None:
        for node in victims:
            await asyncio.to_thread(nats_cluster.kill_node, node)
        await asyncio.sleep(10)
        for node in victims:
            await asyncio.to_thread(nats_cluster.start_node, node)
        record_nats(cs.data_dir, nats_cluster)

    tally = await under_load(cs, PEOPLE, fault, after=PEOPLE // 3)
    await cs.close_channels()
    report("nats-quorum-loss-10s", tally)


async def test_promoting_the_standby_after_the_primary_dies(cs: ClusterStack) -> None:
    pair = cs.postgres

    async def fault() -> None:
        await asyncio.to_thread(pair.kill_primary)
        await asyncio.to_thread(pair.promote_standby)

    tally = await under_load(cs, PEOPLE, fault, after=PEOPLE // 3)
    await cs.close_channels()
    report("postgres-promote", tally)


async def test_killing_one_instance_of_each_service(cs: ClusterStack) -> None:
    async def fault() -> None:
        for key in ("survey", "response", "correlation"):
            await asyncio.to_thread(cs.kill, key)

    tally = await under_load(cs, PEOPLE, fault, after=PEOPLE // 3)
    await cs.close_channels()
    report("service-instance-kill", tally)
