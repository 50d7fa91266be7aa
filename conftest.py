"""Root conftest: every test gets real PostgreSQL and NATS through pulse_testing.stack."""

import pytest

pytest_plugins = ["pulse_testing.stack"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """``make test-anonymity``: each adversary's ``linkage ...`` line, at the end."""
    from pulse_testing import anonymity  # here: importing it earlier defeats assert rewriting

    if anonymity.LINES:
        terminalreporter.section("anonymity")
        for line in anonymity.LINES:
            terminalreporter.write_line(line)
