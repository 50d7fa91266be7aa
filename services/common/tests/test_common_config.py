"""Configuration is validated at start-up and every message names the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulse_common import secrets
from pulse_common.config import ConfigError, load_settings


def test_defaults_are_usable() -> None:
    settings = load_settings({})
    assert settings.min_group_size == 5
    assert settings.min_comment_group_size == 10
    assert settings.period == "month"
    assert settings.database_url is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PULSE_MIN_GROUP_SIZE": "two"}, "PULSE_MIN_GROUP_SIZE"),
        ({"PULSE_MIN_GROUP_SIZE": "1"}, "PULSE_MIN_GROUP_SIZE"),
        ({"PULSE_DATABASE_URL": "mysql://x"}, "PULSE_DATABASE_URL"),
        ({"PULSE_NATS_URL": "http://x"}, "PULSE_NATS_URL"),
        ({"PULSE_NATS_URL": "nats://a:4222,http://b:4222"}, "PULSE_NATS_URL"),
        ({"PULSE_STARTUP_TIMEOUT_S": "0"}, "PULSE_STARTUP_TIMEOUT_S"),
        ({"PULSE_PERIOD": "year"}, "PULSE_PERIOD"),
        ({"PULSE_SURVEY_ADDR": "nohost"}, "PULSE_SURVEY_ADDR"),
        ({"PULSE_HMAC_SECRET": "short"}, "PULSE_HMAC_SECRET"),
        ({"PULSE_LOG_LEVEL": "LOUD"}, "PULSE_LOG_LEVEL"),
        ({"PULSE_GRPC_DEADLINE_S": "-1"}, "PULSE_GRPC_DEADLINE_S"),
        (
            {"PULSE_MIN_GROUP_SIZE": "8", "PULSE_MIN_COMMENT_GROUP_SIZE": "6"},
            "PULSE_MIN_COMMENT_GROUP_SIZE",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert variable in caught.value.message


def test_nats_url_takes_every_node_of_a_cluster() -> None:
    settings = load_settings(
        {
            "PULSE_NATS_URL": "nats://127.0.0.1:4222, nats://127.0.0.1:4223",
            "PULSE_HMAC_SECRET": "s" * 40,
        }
    )
    assert settings.nats_servers == ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]


def test_there_is_no_built_in_secret(tmp_path: Path) -> None:
    external = {"PULSE_DATA_DIR": str(tmp_path), "PULSE_DATABASE_URL": "postgresql://db/x"}
    with pytest.raises(ConfigError, match="PULSE_HMAC_SECRET is not set"):
        load_settings(external)
    with pytest.raises(ConfigError, match="PULSE_HMAC_SECRET is not set"):
        load_settings({"PULSE_DATA_DIR": str(tmp_path), "PULSE_NATS_URL": "nats://n:4222"})
    public = next(iter(secrets.KNOWN_PUBLIC_SECRETS))
    with pytest.raises(ConfigError, match="public development value"):
        load_settings({**external, "PULSE_HMAC_SECRET": public})
    # The embedded default generates one once and keeps it.
    secrets.ensure_embedded_secrets(tmp_path)
    first = load_settings(external).hmac_secret
    secrets.ensure_embedded_secrets(tmp_path)
    assert load_settings(external).hmac_secret == first
    assert len(first) >= secrets.MIN_SECRET_CHARS
    assert (tmp_path / "secrets" / "PULSE_HMAC_SECRET").stat().st_mode & 0o077 == 0
    assert load_settings({**external, "PULSE_HMAC_SECRET": "e" * 40}).hmac_secret == "e" * 40


def test_tls_material_comes_from_a_folder_or_three_files() -> None:
    folder = load_settings({"PULSE_TLS_DIR": "/etc/pulse/tls"}).tls
    assert (folder.ca_file, folder.cert_file, folder.key_file) == (
        "/etc/pulse/tls/ca.crt",
        "/etc/pulse/tls/tls.crt",
        "/etc/pulse/tls/tls.key",
    )
    with pytest.raises(ConfigError, match="PULSE_TLS_KEY_FILE must be set too"):
        load_settings({"PULSE_TLS_CA_FILE": "/a", "PULSE_TLS_CERT_FILE": "/b"})
    assert load_settings({}).tls.cert_file == ""  # the embedded default
    assert load_settings({"PULSE_HEALTH_ADDR": "0.0.0.0:8081"}).health_addr == "0.0.0.0:8081"
    with pytest.raises(ConfigError, match="PULSE_HEALTH_ADDR"):
        load_settings({"PULSE_HEALTH_ADDR": "nohost"})
