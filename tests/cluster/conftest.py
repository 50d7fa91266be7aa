"""Repeats each failover test's ``cluster <name>: ...`` line in the session summary."""

from __future__ import annotations

import pytest
from pulse_testing.cluster import LINES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LINES:
        terminalreporter.section("cluster failover")
        for line in LINES:
            terminalreporter.write_line(line)
