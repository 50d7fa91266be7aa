"""Health that tells the truth: a supervised task that probes what a service needs (its
database, NATS, every consumer loop) once a second and sets the standard gRPC health status.

Two answers, as Kubernetes uses them:
- the service names (``pulse.survey.v1.SurveyService``...) answer *readiness*: SERVING only
  while every probe passes, NOT_SERVING while any fails (a PostgreSQL restart, NATS down, a
  consumer that cannot fetch), and SERVING again once they pass, without a restart;
- the empty name ``""`` answers *liveness*: NOT_SERVING only when the process is no longer
  whole (a background task died, see ``runtime.RunningService.supervise``), so an outage of
  a dependency takes pods out of rotation instead of restarting them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from pulse_common.messaging import ConsumerLoop

log = logging.getLogger(__name__)

# A consumer whose fetches have failed (not merely come back empty) this long is unhealthy.
CONSUMER_STALL_S = 10.0


@dataclass(frozen=True)
class Probe:
    """``check`` returns None when healthy, else a short reason (logged on change)."""

    name: str
    check: Callable[[], Coroutine[Any, Any, str | None]]


def database_probe(pool: asyncpg.Pool) -> Probe:
    async def check() -> str | None:
        try:
            await pool.fetchval("SELECT 1")
        except Exception as error:
            return str(error) or type(error).__name__
        return None

    return Probe("database", check)


def nats_probe(nc: NatsClient) -> Probe:
    async def check() -> str | None:
        return None if nc.is_connected else "not connected"

    return Probe("nats", check)


def consumer_probe(consumer: ConsumerLoop, stall_s: float = CONSUMER_STALL_S) -> Probe:
    async def check() -> str | None:
        failing = consumer.fetch_failing_for(asyncio.get_running_loop().time())
        if failing > stall_s:
            return f"fetches failing for {failing:.0f} s"
        return None

    return Probe(f"consumer {consumer.spec.durable}", check)


class HealthMonitor:
    """Runs ``probes`` every ``interval_s`` and calls ``set_ready`` when the verdict changes.
    ``failed`` (set by supervision) makes the verdict NOT_SERVING for good."""

    def __init__(
        self,
        probes: Sequence[Probe],
        set_ready: Callable[[bool], Awaitable[None]],
        failed: asyncio.Event,
        *,
        service: str,
        interval_s: float = 1.0,
        timeout_s: float = 3.0,
    ) -> None:
        self.probes = list(probes)
        self.set_ready = set_ready
        self.failed = failed
        self.service = service
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.problems: dict[str, str] = {}
        self.ready = True  # the server starts SERVING
        self._stopping = asyncio.Event()
        # A probe still running from an earlier round (a frozen database never answers, and
        # asyncpg shields the connection's reset from cancellation): awaited again, never
        # started twice.
        self._running: dict[str, asyncio.Task[str | None]] = {}

    async def _results(self) -> dict[str, str | None]:
        for probe in self.probes:
            if probe.name not in self._running:
                self._running[probe.name] = asyncio.create_task(probe.check())
        await asyncio.wait(self._running.values(), timeout=self.timeout_s)
        results: dict[str, str | None] = {}
        for name, task in list(self._running.items()):
            if not task.done():
                results[name] = f"no answer within {self.timeout_s:g} s"
                continue
            del self._running[name]
            error = None if task.cancelled() else task.exception()
            results[name] = f"probe failed: {error!r}" if error else task.result()
        return results

    async def evaluate(self) -> bool:
        problems = {name: problem for name, problem in (await self._results()).items() if problem}
        if self.failed.is_set():
            problems["process"] = "a background task ended"
        ready = not problems
        if ready != self.ready or problems.keys() != self.problems.keys():
            if ready:
                log.info("health: SERVING again", extra={"service": self.service})
            else:
                shown = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
                log.warning("health: NOT_SERVING (%s)", shown, extra={"service": self.service})
        self.problems = problems
        if ready != self.ready:
            self.ready = ready
            await self.set_ready(ready)
        return ready

    async def run(self) -> None:
        while not self._stopping.is_set():
            await self.evaluate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_s)

    def stop(self) -> None:
        self._stopping.set()
        for task in self._running.values():
            task.cancel()
