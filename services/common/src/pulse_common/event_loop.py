"""The event loop a Pulse process runs on, chosen in one place: uvloop where it is installed
(asyncpg, nats-py and the services' own code spend less CPU per call on it; grpc.aio runs on
it as on asyncio's), asyncio's own loop with ``PULSE_EVENT_LOOP=asyncio``.

Once a service has started, ``settle_heap`` moves what start-up allocated (modules,
protobuf descriptors, pools) out of the garbage collector's sight: the full collections
that every few tens of thousands of allocations walked all of it, on the request path, no
longer do.

Also the opt-in profiler of a service process (``PULSE_PROFILE_DIR``): SIGUSR1 resumes a
cProfile of the event loop's thread, SIGUSR2 pauses it and writes
``<dir>/<service>-<pid>.prof`` (the benchmarks profile just their timed phases this way)."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import signal
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pulse_common.config import ConfigError

LOOP_VARIABLE = "PULSE_EVENT_LOOP"
LOOPS = ("uvloop", "asyncio")
PROFILE_VARIABLE = "PULSE_PROFILE_DIR"

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_name(env: Mapping[str, str]) -> str:
    """``uvloop`` or ``asyncio``: as ``PULSE_EVENT_LOOP`` says; unset, uvloop when it is
    installed. ``ConfigError`` for another value, or for uvloop asked for and missing."""
    raw = (env.get(LOOP_VARIABLE) or "").strip().lower()
    if raw and raw not in LOOPS:
        raise ConfigError(f"{LOOP_VARIABLE} must be one of {', '.join(LOOPS)}, got {raw!r}")
    if raw == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if raw == "uvloop":
            raise ConfigError(f"{LOOP_VARIABLE}=uvloop but uvloop is not installed") from None
        return "asyncio"
    return "uvloop"


def loop_factory(env: Mapping[str, str]) -> LoopFactory | None:
    """The factory of the chosen loop (None: asyncio's default)."""
    if loop_name(env) != "uvloop":
        return None
    import uvloop

    factory: LoopFactory = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], env: Mapping[str, str]) -> T:
    """``asyncio.run(main)`` on the loop ``env`` chooses."""
    try:
        factory = loop_factory(env)
    except ConfigError:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Collect once, then freeze what is left (``gc.freeze``): start-up's long-lived
    objects are never scanned again; cycles made later are still collected."""
    gc.collect()
    gc.freeze()


class SignalProfiler:
    """cProfile of the loop's thread while resumed: SIGUSR1 resumes, SIGUSR2 pauses and
    writes what was profiled so far (every resumed stretch, added up)."""

    def __init__(self, directory: Path, service: str) -> None:
        self.path = directory / f"{service}-{os.getpid()}.prof"
        self.profile = cProfile.Profile()
        self.running = False

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGUSR1, self.start)
        loop.add_signal_handler(signal.SIGUSR2, self.stop)

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.profile.enable()

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.profile.disable()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.profile.dump_stats(str(self.path))


def install_profiler(env: Mapping[str, str], service: str) -> SignalProfiler | None:
    """The signal profiler when ``PULSE_PROFILE_DIR`` is set (call inside the loop)."""
    directory = (env.get(PROFILE_VARIABLE) or "").strip()
    if not directory:
        return None
    profiler = SignalProfiler(Path(directory), service)
    profiler.install(asyncio.get_running_loop())
    return profiler
