"""Internal customers: the dated "serves" links between a serving (back-office) unit and the
(front-line) units it serves, many-to-many. Each change is one unit of work under the org
lock that also enqueues ``pulse.org.serves`` for the correlation service's chain report."""

from __future__ import annotations

from datetime import date

from pulse_common import subjects
from pulse_common.errors import FailedPrecondition, InvalidArgument, NotFound

from pulse_survey import org_repository
from pulse_survey import serves_repository as repo
from pulse_survey.context import Deps
from pulse_survey.serves_link import ServesLink


async def set_serves(deps: Deps, link: ServesLink) -> ServesLink:
    """Record ``link`` (or end it: same pair and valid_from, with a valid_to). Both units
    must exist on valid_from; links of one pair may not overlap."""
    if link.serving_unit_id == link.served_unit_id:
        raise InvalidArgument("served_unit_id", "must differ from serving_unit_id")
    if link.valid_to is not None and link.valid_to <= link.valid_from:
        raise InvalidArgument("valid_to", "must be after valid_from")
    async with deps.db.unit_of_work() as uow:
        await org_repository.lock_org(uow.conn)
        units = await org_repository.versions_on(uow.conn, link.valid_from)
        for field, unit_id in (
            ("serving_unit_id", link.serving_unit_id),
            ("served_unit_id", link.served_unit_id),
        ):
            if unit_id not in units:
                day = link.valid_from.isoformat()
                raise NotFound(f"{field}: unit {unit_id} does not exist on {day}")
        existing = await repo.links_of_pair(uow.conn, link.serving_unit_id, link.served_unit_id)
        for other in existing:
            if other.valid_from != link.valid_from and other.overlaps(link):
                raise FailedPrecondition(
                    f"{link.serving_unit_id} already serves {link.served_unit_id}"
                    f" from {other.valid_from.isoformat()}; end that link first"
                )
        await repo.upsert(uow.conn, link)
        await uow.enqueue(subjects.ORG_SERVES, link.event(), msg_id=link.msg_id)
    return link


async def list_serves(deps: Deps, as_of: date | None, serving_unit_id: str) -> list[ServesLink]:
    async with deps.db.connection() as conn:
        return await repo.list_links(conn, as_of, serving_unit_id)
