"""The timed phases of ``bench_submit.py`` (not a test): Submits and floor calls in paired
rounds, so both sides of ``submit_vs_floor`` are measured under the same load.

The machine is shared: timing all Submits and then all floor calls a minute later compared
two different loads (one run's ratio went from 0.36 to 0.57 with nothing changed). Each round
times ``count`` Submits and ``count`` floor calls back to back, the order alternating (S F,
F S, S F...), every phase starting once the services' relays and consumers are idle; the
rates are the totals over all rounds, and each round's own ratio is shown beside them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CALLERS = 32

Call = Callable[[int], Awaitable[None]]


async def with_callers(count: int, call: Call) -> float:
    """``count`` calls by ``CALLERS`` concurrent callers; seconds taken."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def caller() -> None:
        while not queue.empty():
            await call(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return time.perf_counter() - start


def cpu_by_process(named: dict[str, int], roots: Sequence[str]) -> dict[str, float]:
    """User + system CPU seconds by name: the processes of ``named`` and, as "postgres" and
    "nats", every process whose command line names one of ``roots`` (the embedded
    servers); children (PostgreSQL's backends) count with their parent."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float, str]] = {}  # pid -> (ppid, seconds, command line)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        stats[int(entry.name)] = (int(fields[1]), seconds, cmdline)
    names = {pid: name for name, pid in named.items()}
    for pid, (_, _, cmdline) in stats.items():
        if pid not in names and any(root in cmdline for root in roots):
            names[pid] = "nats" if "nats" in cmdline else "postgres"
    used: dict[str, float] = {}
    for pid, (ppid, seconds, _) in stats.items():
        name = names.get(pid) or names.get(ppid)
        if name is not None:
            used[name] = used.get(name, 0.0) + seconds
    return used


@dataclass
class Rounds:
    """Totals over the rounds: seconds and CPU seconds (by process) of each side."""

    count: int = 0  # calls of each side
    submit_s: float = 0.0
    floor_s: float = 0.0
    submit_cpu: dict[str, float] = field(default_factory=dict)
    floor_cpu: dict[str, float] = field(default_factory=dict)
    ratios: list[float] = field(default_factory=list)  # each round's submit rate / floor rate

    @property
    def submit_rate(self) -> float:
        return self.count / self.submit_s

    @property
    def floor_rate(self) -> float:
        return self.count / self.floor_s


def _add(into: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    for name, seconds in after.items():
        into[name] = into.get(name, 0.0) + seconds - before.get(name, 0.0)


async def paired_rounds(
    rounds: int,
    count: int,
    submit: Call,
    floor_call: Call,
    settle: Callable[[], Awaitable[None]],
    cpu: Callable[[], dict[str, float]],
    profiled: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> Rounds:
    """``rounds`` rounds of ``count`` Submits and ``count`` floor calls (order alternating),
    each phase after ``settle``; ``profiled`` wraps each Submit phase (profilers)."""
    total = Rounds()
    for index in range(rounds):
        order = ("submit", "floor") if index % 2 == 0 else ("floor", "submit")
        took: dict[str, float] = {}
        for side in order:
            await settle()
            guard = profiled() if side == "submit" and profiled else _nothing()
            async with guard:
                before = cpu()
                took[side] = await with_callers(count, submit if side == "submit" else floor_call)
                after = cpu()
            _add(total.submit_cpu if side == "submit" else total.floor_cpu, before, after)
        total.count += count
        total.submit_s += took["submit"]
        total.floor_s += took["floor"]
        total.ratios.append(took["floor"] / took["submit"])
    return total


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
