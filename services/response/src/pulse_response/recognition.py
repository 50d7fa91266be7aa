"""The recognition board: customer praise shared by consent, moderated by team leads.

- ``list_recognition``: one unit, or (empty unit id) every unit the viewer may see; by
  default the *approved* stories (the board), or the *pending* ones (the moderation
  queue). Each unit x period group is released or withheld on its own: only with at least
  ``PULSE_MIN_COMMENT_GROUP_SIZE`` customer responses, the queue included (a lead reading
  a story is a release too). ``organisation_wide``: the "service done right" page, the best
  rated approved stories of every unit, whatever the viewer's scope (approved stories are
  published on purpose; every group is still under the threshold rule).
- ``moderate``: a lead whose scope holds the story's unit approves, hides or reports it.

Every text shown is redacted: contact details (``redact``) and names of people, always
(``names``)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field

import asyncpg
from pulse_common import errors
from pulse_common.fields import require_unit_id
from pulse_common.periods import require_range

from pulse_response import read_repository, repository
from pulse_response.context import Deps
from pulse_response.domain import APPROVED, HIDDEN, PENDING, REPORTED, Group, Praise
from pulse_response.names import redact_names
from pulse_response.redact import redact
from pulse_response.viewer import require_in_scope, visible_units

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
DECISIONS = (APPROVED, HIDDEN, REPORTED)


@dataclass(frozen=True)
class Board:
    """Newest period first, then unit, then text (organisation-wide: best rated first)."""

    entries: list[Praise] = field(default_factory=list)
    suppression_reason: str = ""  # set when some groups were withheld

    @property
    def suppressed(self) -> bool:
        return bool(self.suppression_reason)


@dataclass(frozen=True)
class BoardQuery:
    unit_id: str
    period_from: str
    period_to: str
    scope_unit_id: str
    limit: int
    status: str = APPROVED  # APPROVED: the board; PENDING: the moderation queue
    organisation_wide: bool = False


def shown(entry: Praise) -> Praise:
    """The entry as anyone sees it: contact details and names of people redacted."""
    return dataclasses.replace(entry, text=redact_names(redact(entry.text)))


def _check(deps: Deps, query: BoardQuery) -> None:
    if query.unit_id:
        require_unit_id("unit_id", query.unit_id)
    granularity = deps.settings.common.period
    require_range("period_from", query.period_from, "period_to", query.period_to, granularity)
    if not 0 <= query.limit <= MAX_LIMIT:
        raise errors.InvalidArgument(
            "limit", f"must be between 0 and {MAX_LIMIT} (0 = {DEFAULT_LIMIT})"
        )
    if query.status not in (APPROVED, PENDING):
        raise errors.InvalidArgument("status", "list APPROVED (the board) or PENDING (the queue)")
    if query.organisation_wide and (query.unit_id or query.status != APPROVED):
        raise errors.InvalidArgument(
            "organisation_wide", "lists approved stories of every unit: leave unit_id empty"
        )


async def _units(deps: Deps, query: BoardQuery) -> list[str] | None:
    """The units asked (None: every unit)."""
    if query.organisation_wide:
        return None
    if query.unit_id:
        await require_in_scope(deps, query.scope_unit_id, query.unit_id)
        return [query.unit_id]
    visible = await visible_units(deps, query.scope_unit_id)
    return None if visible is None else sorted(visible)


async def list_recognition(deps: Deps, query: BoardQuery) -> Board:
    _check(deps, query)
    units = await _units(deps, query)
    threshold = deps.settings.common.min_comment_group_size
    async with deps.db.connection() as conn:
        counts = await read_repository.customer_counts_by_group(
            conn, units, query.period_from, query.period_to
        )
        released = sorted(group for group, n in counts.items() if n >= threshold)
        praise = await read_repository.praise_of_groups(
            conn,
            released,
            query.status,
            query.limit or DEFAULT_LIMIT,
            best_first=query.organisation_wide,
        )
    entries = [shown(entry) for entry in praise]
    withheld = len(counts) - len(released)
    if not withheld or query.organisation_wide:
        return Board(entries)
    groups = "period(s)" if query.unit_id else "unit-period group(s)"
    return Board(
        entries,
        f"{withheld} {groups} had fewer than {threshold} customer responses and are not shown",
    )


async def moderate(deps: Deps, entry_id: str, status: str, scope_unit_id: str) -> Praise:
    """A lead's decision on one story of a unit in their scope; deciding again changes it
    (a hidden story can still be approved). Only stories of released groups can be
    decided: a lead never reads one from a group under the threshold."""
    try:
        uuid.UUID(entry_id)
    except ValueError:
        raise errors.InvalidArgument("entry_id", "must be an entry id from the list") from None
    if status not in DECISIONS:
        raise errors.InvalidArgument("status", "must be APPROVED, HIDDEN or REPORTED")
    async with deps.db.unit_of_work() as uow:
        entry = await read_repository.praise_entry(uow.conn, entry_id)
        if entry is None:
            raise errors.NotFound(f"recognition entry {entry_id} does not exist")
        await require_in_scope(deps, scope_unit_id, entry.group.unit_id)
        if not await _released(deps, uow.conn, entry.group):
            raise errors.NotFound(f"recognition entry {entry_id} does not exist")
        await repository.set_moderation(uow.conn, entry_id, status)
    return shown(dataclasses.replace(entry, status=status))


async def _released(deps: Deps, conn: asyncpg.Connection, group: Group) -> bool:
    counts = await read_repository.customer_counts_by_group(
        conn, [group.unit_id], group.period, group.period
    )
    return counts.get(group, 0) >= deps.settings.common.min_comment_group_size
