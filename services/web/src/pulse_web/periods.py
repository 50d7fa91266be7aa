"""Period labels ("2026-03" or "2026-W11") and default ranges for the pages (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

Granularity = Literal["month", "week"]


def period_of(day: date, granularity: Granularity) -> str:
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def periods_back(today: date, granularity: Granularity, count: int) -> tuple[str, str]:
    """(first, last) of the ``count`` periods ending with the one holding ``today``."""
    last = period_of(today, granularity)
    if granularity == "week":
        return period_of(today - timedelta(weeks=count - 1), granularity), last
    months = today.year * 12 + (today.month - 1) - (count - 1)
    return f"{months // 12:04d}-{months % 12 + 1:02d}", last
