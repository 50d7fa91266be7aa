"""What every use case needs: the pool, settings, a clock and the outbox relay's bell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg

from pulse_common.config import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    pool: asyncpg.Pool
    settings: Settings
    # Called after a commit that enqueued events so the relay publishes at once.
    notify: Callable[[], None]
    clock: Callable[[], datetime] = field(default=_utc_now)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()
