"""The event loop every service process runs on (uvloop unless ``PULSE_EVENT_LOOP=asyncio``),
the frozen start-up heap and the signal profiler (``pulse_common.event_loop``)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse_common import event_loop
from pulse_common.config import ConfigError
from pulse_common.grpc_server import GrpcServer

uvloop = pytest.importorskip("uvloop")


def test_uvloop_is_the_default_and_asyncio_is_a_setting() -> None:
    assert event_loop.loop_name({}) == "uvloop"
    assert event_loop.loop_name({"PULSE_EVENT_LOOP": "uvloop"}) == "uvloop"
    assert event_loop.loop_name({"PULSE_EVENT_LOOP": " AsyncIO "}) == "asyncio"
    assert event_loop.loop_factory({"PULSE_EVENT_LOOP": "asyncio"}) is None


def test_an_unknown_loop_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="PULSE_EVENT_LOOP must be one of uvloop, asyncio"):
        event_loop.loop_name({"PULSE_EVENT_LOOP": "trio"})
    never_run = asyncio.sleep(0)
    with pytest.raises(ConfigError, match="PULSE_EVENT_LOOP"):
        event_loop.run(never_run, {"PULSE_EVENT_LOOP": "trio"})


def test_without_uvloop_installed_asyncio_serves_unless_uvloop_was_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails
    assert event_loop.loop_name({}) == "asyncio"
    with pytest.raises(ConfigError, match="PULSE_EVENT_LOOP=uvloop but uvloop is not installed"):
        event_loop.loop_name({"PULSE_EVENT_LOOP": "uvloop"})


async def _health_over_grpc() -> tuple[str, str]:
    """A GrpcServer and a call to it, in the running loop: the loop's type and the answer."""
    server = GrpcServer(["pulse.test.v1.Nothing"])
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=10
            )
    finally:
        await server.stop(0)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return type(asyncio.get_running_loop()).__module__, status


@pytest.mark.parametrize(("setting", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_grpc_aio_serves_and_calls_on_either_loop(setting: str, module: str) -> None:
    loop_module, status = event_loop.run(_health_over_grpc(), {"PULSE_EVENT_LOOP": setting})
    assert loop_module.split(".")[0] == module
    assert status == "SERVING"


def test_settle_heap_freezes_what_start_up_allocated() -> None:
    try:
        event_loop.settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()  # later cycles are still collected
    finally:
        gc.unfreeze()


def test_the_signal_profiler_writes_a_profile_between_sigusr1_and_sigusr2(
    tmp_path: Path,
) -> None:
    async def profiled() -> None:
        profiler = event_loop.install_profiler({"PULSE_PROFILE_DIR": str(tmp_path)}, "survey")
        assert profiler is not None
        loop = asyncio.get_running_loop()
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(0.05)
            sum(range(1000))
            os.kill(os.getpid(), signal.SIGUSR2)
            await asyncio.sleep(0.05)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)
            loop.remove_signal_handler(signal.SIGUSR2)

    event_loop.run(profiled(), {})
    written = sorted(tmp_path.iterdir())
    assert [p.name for p in written] == [f"survey-{os.getpid()}.prof"]
    assert written[0].stat().st_size > 0
    assert event_loop.run(_no_profiler(), {}) is None


async def _no_profiler() -> object:
    return event_loop.install_profiler({}, "survey")
