"""The fault suite: one real process stack (``pulse dev up``'s machinery: PostgreSQL, NATS
behind a lossy proxy, the three services and the web front as separate processes on
loopback) shared by every test of this folder, each test in its own part of the org.

``PULSE_FAULT_SCALE=quick`` (the default, run by ``make test``) uses small counts;
``PULSE_FAULT_SCALE=full`` (``make test-faults``) the sizes of the issue. Every test prints
one line ``fault <name>: ...``; they are repeated at the end of the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulse_testing.faults.load import LINES
from pulse_testing.faults.stack import FaultStack


@pytest.fixture(scope="session")
def fault_stack(request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    stack = FaultStack.up()
    try:
        yield stack
    finally:
        # After a failure (or with PULSE_FAULT_KEEP_LOGS=1) the services' and servers' logs
        # are kept under artifacts/fault-logs/ (git-ignored).
        wanted = request.session.testsfailed or os.environ.get("PULSE_FAULT_KEEP_LOGS") == "1"
        keep = Path("artifacts/fault-logs") if wanted else None
        stack.down(keep_logs=keep)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LINES:
        terminalreporter.section("fault suite")
        for line in LINES:
            terminalreporter.write_line(line)
