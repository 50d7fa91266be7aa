"""The correlation service's typed settings, parsed once at start-up.

It reads the deployment-wide variables it depends on (k, the reporting period,
redeliveries) from the common ``Settings`` here, and its own: when periods are released
(``PULSE_RELEASE_GRACE_DAYS``, ``PULSE_RELEASE_MAX_WAIT_DAYS``; ``releases.ReleaseRule``), so
no other module looks into the common object or the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulse_common.config import Settings, env_int
from pulse_common.periods import Granularity

from pulse_correlation.releases import GRACE_DAYS, MAX_WAIT_DAYS, ReleaseRule


@dataclass(frozen=True)
class CorrelationSettings:
    common: Settings
    # PULSE_MIN_GROUP_SIZE: the deployment's k (a survey version may promise more).
    min_group_size: int
    # PULSE_PERIOD: periods of the other granularity are refused, in requests and events.
    period: Granularity
    # PULSE_MAX_DELIVER: tries before a message is dead-lettered.
    max_deliver: int
    # PULSE_RELEASE_GRACE_DAYS / PULSE_RELEASE_MAX_WAIT_DAYS: when a period is released.
    release: ReleaseRule = field(default_factory=ReleaseRule)


def load_correlation_settings(common: Settings) -> CorrelationSettings:
    return CorrelationSettings(
        common=common,
        min_group_size=common.min_group_size,
        period=common.period,
        max_deliver=common.max_deliver,
        release=ReleaseRule(
            grace_days=env_int(common.extra, "PULSE_RELEASE_GRACE_DAYS", GRACE_DAYS, 0, 366),
            max_wait_days=env_int(
                common.extra, "PULSE_RELEASE_MAX_WAIT_DAYS", MAX_WAIT_DAYS, 0, 366
            ),
        ),
    )
