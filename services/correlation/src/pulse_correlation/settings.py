"""The correlation service's typed settings, parsed once at start-up.

It reads the deployment-wide variables it depends on (k, the reporting period,
redeliveries) from the common ``Settings`` here, and its own: when periods are released
(``PULSE_RELEASE_GRACE_DAYS``, ``PULSE_RELEASE_MAX_WAIT_DAYS``; ``releases.ReleaseRule``) and
how many responses one transaction counts (``PULSE_CORRELATION_BATCH``), so no other module
looks into the common object or the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulse_common.config import Settings, env_int
from pulse_common.periods import Granularity

from pulse_correlation.releases import GRACE_DAYS, MAX_WAIT_DAYS, ReleaseRule

# Responses per fetch, so per transaction (a poison message costs its batch a retry one
# by one). Batches of a thousand on two loops (``app.RESPONSE_WORKERS``) measured fastest
# here (issue 20): concurrent batches wait on each other's aggregate rows until commit.
RESPONSE_BATCH = 1000


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
    # PULSE_CORRELATION_BATCH: responses fetched and counted per transaction.
    response_batch: int = RESPONSE_BATCH


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
        response_batch=env_int(common.extra, "PULSE_CORRELATION_BATCH", RESPONSE_BATCH, 1, 10_000),
    )
