"""What every use case of the response service needs, built once at wiring time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pulse_common.ratelimit import SlidingWindowLimiter
from pulse_common.scope import ScopeCache
from pulse_common.uow import Database

from pulse_response.definitions import DefinitionCache
from pulse_response.idempotency import PurgeSchedule
from pulse_response.settings import ResponseSettings
from pulse_response.survey_client import SurveyClient


@dataclass(frozen=True)
class Deps:
    db: Database
    settings: ResponseSettings
    survey: SurveyClient
    definitions: DefinitionCache
    # Submits per client_id (in memory, per instance).
    limiter: SlidingWindowLimiter
    # Viewer scope -> the units of its subtree, from the survey service's org tree.
    scopes: ScopeCache
    purge: PurgeSchedule = field(default_factory=PurgeSchedule)
    # Monotonic seconds: rate windows, scope ages and purge times.
    clock: Callable[[], float] = time.monotonic
    # The calendar day (UTC): which periods are still open (imports).
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())


def build_deps(
    db: Database,
    settings: ResponseSettings,
    survey: SurveyClient,
    clock: Callable[[], float] = time.monotonic,
) -> Deps:
    return Deps(
        db=db,
        settings=settings,
        survey=survey,
        definitions=DefinitionCache(db, survey),
        limiter=SlidingWindowLimiter(settings.submits_per_minute, clock=clock),
        scopes=ScopeCache(survey.subtree, settings.scope_cache_s, clock=clock),
        clock=clock,
    )
