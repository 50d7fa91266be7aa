"""ListRecognition: consented customer praise for one unit, or (empty unit id) every unit the
viewer may see. Each unit x period group is released or withheld on its own: released only
with at least ``PULSE_MIN_COMMENT_GROUP_SIZE`` customer responses. Contact details are
redacted."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pulse_common import errors
from pulse_common.fields import require_unit_id
from pulse_common.periods import require_range

from pulse_response import read_repository
from pulse_response.context import Deps
from pulse_response.domain import Praise
from pulse_response.redact import redact
from pulse_response.viewer import require_in_scope, visible_units

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


@dataclass(frozen=True)
class Board:
    """Newest period first, then unit, then text."""

    entries: list[Praise] = field(default_factory=list)
    suppression_reason: str = ""  # set when some groups were withheld

    @property
    def suppressed(self) -> bool:
        return bool(self.suppression_reason)


async def list_recognition(
    deps: Deps,
    *,
    unit_id: str,
    period_from: str,
    period_to: str,
    scope_unit_id: str,
    limit: int,
) -> Board:
    if unit_id:
        require_unit_id("unit_id", unit_id)
    require_range("period_from", period_from, "period_to", period_to, deps.settings.common.period)
    if not 0 <= limit <= MAX_LIMIT:
        raise errors.InvalidArgument(
            "limit", f"must be between 0 and {MAX_LIMIT} (0 = {DEFAULT_LIMIT})"
        )
    units: list[str] | None  # None: every unit (a viewer of the whole organisation)
    if unit_id:
        await require_in_scope(deps, scope_unit_id, unit_id)
        units = [unit_id]
    else:
        visible = await visible_units(deps, scope_unit_id)
        units = None if visible is None else sorted(visible)
    threshold = deps.settings.common.min_comment_group_size
    async with deps.db.connection() as conn:
        counts = await read_repository.customer_counts_by_group(conn, units, period_from, period_to)
        released = sorted(group for group, n in counts.items() if n >= threshold)
        praise = await read_repository.praise_of_groups(conn, released, limit or DEFAULT_LIMIT)
    entries = [dataclasses.replace(entry, text=redact(entry.text)) for entry in praise]
    withheld = len(counts) - len(released)
    if not withheld:
        return Board(entries)
    groups = "period(s)" if unit_id else "unit-period group(s)"
    return Board(
        entries,
        f"{withheld} {groups} had fewer than {threshold} customer responses and are not shown",
    )
