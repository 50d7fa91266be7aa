"""The survey service's settings: the deployment-wide ``Settings`` plus the survey-only
``PULSE_*`` variables, read and validated once at start-up (``load_survey_settings``), with
messages that name the variable. Nothing else reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import ConfigError, Settings, env_float, env_int, env_url, load_settings

from pulse_survey.sampling import SamplingPolicy, parse_sampling

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
WORKERS_VARIABLE = "PULSE_SURVEY_INTERACTION_WORKERS"
DEFAULT_WORKERS = 4
MAX_WORKERS = 64
# Connections the pool keeps beside the interaction workers: gRPC calls, the outbox relay
# and the delivery log.
RESERVED_CONNECTIONS = 3


@dataclass(frozen=True)
class DeliveryConfig:
    """The default delivery adapter (``delivery_log``): on or off, and the public address
    its links start with."""

    enabled: bool
    public_url: str


@dataclass(frozen=True)
class SurveySettings:
    common: Settings
    # Share of customer interactions invited, per channel (PULSE_SAMPLING).
    sampling: SamplingPolicy
    delivery: DeliveryConfig
    # Consumer loops sharing the interaction consumer (PULSE_SURVEY_INTERACTION_WORKERS).
    interaction_workers: int
    # Seconds between wave scheduler ticks; 0 turns the scheduler off.
    scheduler_interval_s: float


def delivery_config(env: Mapping[str, str]) -> DeliveryConfig:
    """``PULSE_DELIVERY`` (``log``, the default, or ``none``) and ``PULSE_PUBLIC_URL``."""
    mode = (env.get("PULSE_DELIVERY") or "log").strip().lower()
    if mode not in ("log", "none"):
        raise ConfigError(f"PULSE_DELIVERY must be 'log' or 'none', got {mode!r}")
    url = env_url(env, "PULSE_PUBLIC_URL", ("http", "https")) or DEFAULT_PUBLIC_URL
    return DeliveryConfig(mode == "log", url.rstrip("/"))


def interaction_workers(env: Mapping[str, str], pool_max: int | None = None) -> int:
    """Each worker uses a database connection while it handles a message, so with
    ``pool_max`` (``PULSE_DB_POOL_MAX``) ``RESERVED_CONNECTIONS`` must stay for the rest."""
    workers = env_int(env, WORKERS_VARIABLE, DEFAULT_WORKERS, 1, MAX_WORKERS)
    if pool_max is not None and workers > pool_max - RESERVED_CONNECTIONS:
        raise ConfigError(
            f"{WORKERS_VARIABLE} ({workers}) must be at most PULSE_DB_POOL_MAX"
            f" - {RESERVED_CONNECTIONS} ({pool_max - RESERVED_CONNECTIONS}): each interaction"
            " worker uses a database connection while it handles a message"
        )
    return workers


def sampling_policy(env: Mapping[str, str]) -> SamplingPolicy:
    """``PULSE_SAMPLING``; its ``*`` defaults to ``PULSE_CUSTOMER_SAMPLE_RATE`` (1.0)."""
    default = env_float(env, "PULSE_CUSTOMER_SAMPLE_RATE", 1.0, 0.0, 1.0)
    return parse_sampling(env.get("PULSE_SAMPLING", ""), default)


def load_survey_settings(env: Mapping[str, str], common: Settings | None = None) -> SurveySettings:
    """Validate every survey ``PULSE_*`` variable of ``env``; ``common`` is the already
    loaded deployment-wide part (read from ``env`` when not given)."""
    common = load_settings(env) if common is None else common
    return SurveySettings(
        common=common,
        sampling=sampling_policy(env),
        delivery=delivery_config(env),
        interaction_workers=interaction_workers(env, common.db_pool_max),
        scheduler_interval_s=env_float(env, "PULSE_WAVE_SCHEDULER_INTERVAL_S", 30.0, 0.0, 3600.0),
    )
