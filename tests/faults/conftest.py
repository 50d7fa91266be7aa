"""The fault suite: one real process stack (``pulse dev up``'s machinery: PostgreSQL, NATS
behind a lossy proxy, the three services and the web front as separate processes on
loopback) shared by every test of this folder, each test in its own part of the org.

``PULSE_FAULT_SCALE=quick`` (the default, run by ``make test``) uses small counts;
``PULSE_FAULT_SCALE=full`` (``make test-faults``) the sizes of the issue. Every test prints
one line ``fault <name>: ...``; they are repeated at the end of the run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pulse_testing.faults.load import LINES
from pulse_testing.faults.stack import FaultStack

# The suite forks (pg_ctl, nats-server, service processes) from a process whose gRPC threads
# are busy; gRPC's fork handlers then abort the child now and then ("Check failed:
# next_worker->state == KICKED") before it execs. The children never use gRPC: turn the
# handlers off (read when gRPC first starts, after collection).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    stack = FaultStack.up()
    try:
        yield stack
    finally:
        stack.down()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LINES:
        terminalreporter.section("fault suite")
        for line in LINES:
            terminalreporter.write_line(line)
