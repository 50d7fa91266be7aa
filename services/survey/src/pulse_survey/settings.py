"""The survey service's settings: the deployment-wide ``Settings`` plus the survey-only
``PULSE_*`` variables, read and validated once at start-up (``load_survey_settings``), with
messages that name the variable. Nothing else reads the environment."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import ConfigError, Settings, env_float, env_int, load_settings
from pulse_common.fields import CHANNEL

from pulse_survey.delivery_settings import DeliveryConfig, delivery_config
from pulse_survey.sampling import SamplingPolicy, parse_sampling

WORKERS_VARIABLE = "PULSE_SURVEY_INTERACTION_WORKERS"
DEFAULT_WORKERS = 4
MAX_WORKERS = 64
# Connections the pool keeps beside the interaction workers: gRPC calls, the outbox relay
# and the delivery adapter.
RESERVED_CONNECTIONS = 3
BUDGET_VARIABLE = "PULSE_CONTACT_BUDGET_DAYS"
REMINDER_VARIABLE = "PULSE_REMINDER_OFFSETS_DAYS"
CHANNEL_SURVEYS_VARIABLE = "PULSE_CHANNEL_SURVEYS"
DEFAULT_REMINDER_OFFSETS = (3, 1)
DEFAULT_MAX_REMINDERS = 2


@dataclass(frozen=True)
class ReminderPolicy:
    """Automatic reminders: a round is due ``offset`` days before a wave closes, for each
    offset (largest first); at most ``max_reminders`` per invitation, automatic or by hand."""

    offsets_days: tuple[int, ...]
    max_reminders: int


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
    reminders: ReminderPolicy
    # Whether PULSE_CONTACT_BUDGET_DAYS was set: if not, a wave's budget follows its cadence.
    budget_explicit: bool = False
    # channel -> customer survey id (PULSE_CHANNEL_SURVEYS).
    channel_surveys: Mapping[str, str] | None = None

    def survey_for_channel(self, channel: str) -> str:
        return (self.channel_surveys or {}).get(channel.strip().lower(), "")


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


def reminder_policy(env: Mapping[str, str]) -> ReminderPolicy:
    """``PULSE_REMINDER_OFFSETS_DAYS`` (days before closing, e.g. ``3,1``; ``none`` = no
    automatic reminders) and ``PULSE_MAX_REMINDERS``."""
    raw = (env.get(REMINDER_VARIABLE) or "").strip().lower()
    offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    if raw in ("none", "off", "0"):
        offsets = ()
    elif raw:
        try:
            values = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(
                f"{REMINDER_VARIABLE} must list whole days before closing, e.g. 3,1 (or none),"
                f" got {raw!r}"
            ) from None
        if any(not 1 <= value <= 89 for value in values) or len(set(values)) != len(values):
            raise ConfigError(f"{REMINDER_VARIABLE}: each offset once, between 1 and 89 days")
        offsets = tuple(sorted(values, reverse=True))
    maximum = env_int(env, "PULSE_MAX_REMINDERS", DEFAULT_MAX_REMINDERS, 0, 10)
    return ReminderPolicy(offsets[:maximum], maximum)


def channel_surveys(env: Mapping[str, str]) -> dict[str, str]:
    """``PULSE_CHANNEL_SURVEYS``: ``channel=survey id`` pairs, e.g. ``call=<uuid>,chat=<uuid>``
    (channels without one get the latest published customer survey)."""
    mapping: dict[str, str] = {}
    for entry in (part.strip() for part in (env.get(CHANNEL_SURVEYS_VARIABLE) or "").split(",")):
        if not entry:
            continue
        channel, sep, survey_id = (piece.strip() for piece in entry.partition("="))
        channel = channel.lower()
        if not sep or not CHANNEL.match(channel):
            raise ConfigError(
                f"{CHANNEL_SURVEYS_VARIABLE} entries must look like channel=survey-id,"
                f" got {entry!r}"
            )
        try:
            mapping[channel] = str(uuid.UUID(survey_id))
        except ValueError:
            raise ConfigError(
                f"{CHANNEL_SURVEYS_VARIABLE}: the survey of {channel} must be a survey id (UUID)"
            ) from None
    return mapping


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
        reminders=reminder_policy(env),
        budget_explicit=bool((env.get(BUDGET_VARIABLE) or "").strip()),
        channel_surveys=channel_surveys(env),
    )
