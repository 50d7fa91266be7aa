"""What every use case gets as its first argument: the database (units of work), the
service's settings, a clock and the in-memory caches of the dated org and the published
customer surveys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pulse_common.uow import Database

from pulse_survey.caches import Caches
from pulse_survey.settings import SurveySettings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    db: Database
    settings: SurveySettings
    clock: Callable[[], datetime] = field(default=_utc_now)
    # Invalidated by the use cases that change what they hold (after their commit).
    caches: Caches = field(default_factory=Caches)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()
