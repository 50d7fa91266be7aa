"""Root conftest: every test gets real PostgreSQL and NATS through pulse_testing.stack."""

pytest_plugins = ["pulse_testing.stack"]
