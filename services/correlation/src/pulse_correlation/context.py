"""What every use case needs: the database, the typed settings, a clock, and the
per-process memory of the response consumers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pulse_common.uow import Database

from pulse_correlation.dashboard_cache import ReadCache
from pulse_correlation.domain import ItemSpec
from pulse_correlation.settings import CorrelationSettings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SurveySpecs:
    """What the response consumer needs of one published survey version."""

    kind: int
    items: dict[str, ItemSpec]
    min_group_size: int  # the k this survey version promised its respondents (0: unset)
    rated_unit_id: str = ""  # internal service surveys: the unit whose service is rated


@dataclass
class IngestionMemory:
    """Published survey versions are immutable, so their item specs are kept forever; the
    (measure, k) pairs already stored need not be written again."""

    specs: dict[tuple[str, int], SurveySpecs] = field(default_factory=dict)
    k_stored: set[tuple[str, int]] = field(default_factory=set)


@dataclass
class Deps:
    db: Database
    settings: CorrelationSettings
    clock: Callable[[], datetime] = field(default=_utc_now)
    memory: IngestionMemory = field(default_factory=IngestionMemory)
    read_cache: ReadCache = field(default_factory=ReadCache)

    @property
    def k(self) -> int:
        """The deployment's k (a measure may be released under a larger one)."""
        return self.settings.min_group_size

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()
