"""Root conftest: every test gets real PostgreSQL and NATS through pulse_common.testing."""

pytest_plugins = ["pulse_common.testing"]
