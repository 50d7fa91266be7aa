"""CountResponses: responses per unit, released only for units with at least k responses
(the larger of ``PULSE_MIN_GROUP_SIZE`` and the survey's k); a scoped viewer sees only its
subtree's units."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_common import errors
from pulse_common.fields import require_id
from pulse_common.periods import require_period

from pulse_response import read_repository, repository
from pulse_response.context import Deps
from pulse_response.domain import UnitCount
from pulse_response.viewer import visible_units


@dataclass(frozen=True)
class UnitRelease:
    """A unit's count, or (suppressed) nothing but the fact that it is below k."""

    unit_id: str
    responses: int
    suppressed: bool
    imported: int = 0  # of ``responses``, from historical imports


@dataclass(frozen=True)
class Counts:
    units: list[UnitRelease]
    min_group_size: int


async def count_responses(
    deps: Deps, *, wave_id: str, survey_id: str, period: str, scope_unit_id: str
) -> Counts:
    """By wave, or by survey and period (the wave wins when both are given)."""
    if not wave_id and not (survey_id and period):
        raise errors.InvalidArgument("wave_id", "give a wave_id, or a survey_id and a period")
    if wave_id:
        require_id("wave_id", wave_id)
    else:
        require_id("survey_id", survey_id)
        require_period("period", period, deps.settings.common.period)
    visible = await visible_units(deps, scope_unit_id)
    async with deps.db.connection() as conn:
        if wave_id:
            by_wave = await read_repository.counts_by_wave(conn, wave_id)
            survey_id, counts = by_wave.survey_id, by_wave.units
        else:
            counts = await read_repository.counts_by_survey_period(conn, survey_id, period)
        k = deps.settings.common.min_group_size
        if survey_id:
            k = max(k, (await repository.survey_thresholds(conn, survey_id)).min_group_size)
    if visible is not None:
        # Each unit is its own group, so dropping some releases nothing new about the others.
        counts = [count for count in counts if count.unit_id in visible]
    return Counts([_released(count, k) for count in counts], k)


def _released(count: UnitCount, k: int) -> UnitRelease:
    if count.responses >= k:
        return UnitRelease(count.unit_id, count.responses, False, count.imported)
    return UnitRelease(count.unit_id, 0, suppressed=True)
