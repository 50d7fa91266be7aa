"""Configuration is validated at start-up and every message names the variable."""

from __future__ import annotations

import pytest
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
    settings = load_settings({"PULSE_NATS_URL": "nats://127.0.0.1:4222, nats://127.0.0.1:4223"})
    assert settings.nats_servers == ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]
