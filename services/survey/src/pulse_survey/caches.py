"""In-memory copies of what every customer interaction reads but rarely changes: the dated
org (which unit existed on which day) and the published customer surveys.

Each copy is reused for at most ``MAX_AGE_S`` seconds, so a change made by another instance
is seen within that time, and is dropped at once when this process commits a change of its
own (``invalidate`` after the commit). A load that was running while a change committed
is not kept, since it may have read the state before the change. Only what exists is
trusted: a unit missing from the cached org is looked up in the database before an
interaction is refused, and "no published survey" is never kept (the first interactions
after another instance publishes one must not all be suppressed as ``no_survey``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, NamedTuple, TypeVar

MAX_AGE_S = 2.0

K = TypeVar("K")
V = TypeVar("V")


class Span(NamedTuple):
    """One version of a unit: valid from ``start`` up to ``end`` (exclusive; None = open)."""

    start: date
    end: date | None


# unit id -> its versions
UnitSpans = Mapping[str, Sequence[Span]]


def existed_on(spans: UnitSpans, unit_id: str, day: date) -> bool:
    return any(s.start <= day and (s.end is None or day < s.end) for s in spans.get(unit_id, ()))


class PublishedSurvey(NamedTuple):
    survey_id: str
    version: int


class TtlCache(Generic[K, V]):
    """Values by key, each reused for ``max_age_s`` after it was loaded; None (nothing
    found) is not kept, so the next call asks again."""

    def __init__(
        self, max_age_s: float = MAX_AGE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age_s = max_age_s
        self.clock = clock
        self.loads = 0
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        now = self.clock()
        if entry is not None and now - entry[0] < self.max_age_s:
            return entry[1]
        generation = self._generation
        value = await load()
        self.loads += 1
        if value is not None and generation == self._generation:  # no change meanwhile
            self._entries[key] = (now, value)
        return value

    def invalidate(self) -> None:
        """Call after committing a change: later reads load afresh."""
        self._generation += 1
        self._entries.clear()


@dataclass
class Caches:
    # Key "": the whole dated org.
    org: TtlCache[str, UnitSpans] = field(default_factory=TtlCache)
    # Key: a survey id, or "" for the latest published customer survey. None (not kept):
    # no published version, the interaction is suppressed as ``no_survey``.
    customer_surveys: TtlCache[str, PublishedSurvey | None] = field(default_factory=TtlCache)
