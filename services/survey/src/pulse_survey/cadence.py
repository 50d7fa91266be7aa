"""Waves and reporting periods (pure): how far apart a cadence's waves are, how many can
fall in one period (their answers are pooled there), the survey k that pooling needs, the
contact budget a wave applies, and the automatic reminder rounds due by a day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_survey.domain import CADENCE_DAYS


def cadence_spacing(cadence: int) -> int | None:
    """Days between the openings of a cadence's waves (the shortest month for monthly);
    None for a one-off wave."""
    if cadence == survey_pb.CADENCE_MONTHLY:
        return 28
    return CADENCE_DAYS.get(cadence) or None


def waves_per_period(cadence: int, granularity: str) -> int:
    """The most waves of one cadence that can open in one reporting period: weekly waves
    put up to 5 in a month, fortnightly up to 3; under weekly periods, or monthly and
    one-off waves, one."""
    spacing = cadence_spacing(cadence)
    if granularity != "month" or spacing is None or spacing >= 28:
        return 1
    return -(-31 // spacing)  # ceil(longest month / spacing)


def pooled_k(deployment_k: int, cadence: int, granularity: str) -> int:
    """The smallest survey k that still promises k *people* per released group when a
    period pools several waves: a person answers each wave once, so a group of n answers
    holds at least n / w people (w waves per period), and n >= k * w keeps that >= k."""
    return deployment_k * waves_per_period(cadence, granularity)


def wave_budget_days(budget_days: int, explicit: bool, cadence: int) -> int:
    """The contact budget a wave's opening applies: ``PULSE_CONTACT_BUDGET_DAYS`` when it
    was set; otherwise the default, shortened to the cadence's spacing so that weekly and
    fortnightly waves can ask their audience every time (a week's wave keeps everyone else
    from asking the same people within that week)."""
    spacing = cadence_spacing(cadence)
    if explicit or spacing is None:
        return budget_days
    return min(budget_days, spacing)


def reminder_rounds_due(closes_on: date, today: date, offsets_days: Sequence[int]) -> int:
    """How many automatic reminder rounds are due by ``today``: one per offset whose day
    (``offset`` days before closing) has come."""
    return sum(1 for offset in offsets_days if today >= closes_on - timedelta(days=offset))
