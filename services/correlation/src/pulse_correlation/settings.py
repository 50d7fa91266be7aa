"""The correlation service's typed settings, parsed once at start-up.

The service has no ``PULSE_*`` variable of its own: it reads the deployment-wide ones it
depends on (k, the reporting period, redeliveries) from the common ``Settings`` here, so no
other module looks into the common object or the environment."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_common.config import Settings
from pulse_common.periods import Granularity


@dataclass(frozen=True)
class CorrelationSettings:
    common: Settings
    # PULSE_MIN_GROUP_SIZE: the deployment's k (a survey version may promise more).
    min_group_size: int
    # PULSE_PERIOD: periods of the other granularity are refused, in requests and events.
    period: Granularity
    # PULSE_MAX_DELIVER: tries before a message is dead-lettered.
    max_deliver: int


def load_correlation_settings(common: Settings) -> CorrelationSettings:
    return CorrelationSettings(
        common=common,
        min_group_size=common.min_group_size,
        period=common.period,
        max_deliver=common.max_deliver,
    )
