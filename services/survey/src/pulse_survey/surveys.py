"""Surveys: a draft is freely rewritten; publishing freezes it as an immutable version
(a serialized SurveyDefinition) and announces ``pulse.survey.published``. SQL lives in
``survey_repository``."""

from __future__ import annotations

import uuid

from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import measures, subjects
from pulse_common.db import Connection
from pulse_common.errors import FailedPrecondition, InvalidArgument, NotFound
from pulse_common.fields import rfc3339

from pulse_survey import domain, events, item_repository
from pulse_survey import survey_repository as repo
from pulse_survey.context import Deps
from pulse_survey.definitions import is_scored, item_message, new_definition, parse_definition
from pulse_survey.domain import SurveyDraft
from pulse_survey.org import units_as_of


def _check_thresholds(deps: Deps, draft: SurveyDraft) -> None:
    """A survey may raise the deployment's k thresholds, never lower them."""
    common = deps.settings.common
    if draft.min_group_size < common.min_group_size:
        raise InvalidArgument(
            "min_group_size", f"must be at least the deployment's k ({common.min_group_size})"
        )
    if draft.min_comment_group_size < max(draft.min_group_size, common.min_comment_group_size):
        raise InvalidArgument(
            "min_comment_group_size",
            "must be at least min_group_size and the deployment's comment threshold "
            f"({common.min_comment_group_size})",
        )


async def _check_rated_unit(conn: Connection, deps: Deps, draft: SurveyDraft) -> None:
    """Internal service surveys rate one unit (that exists); others rate none."""
    if measures.population_of(draft.kind) == measures.INTERNAL:
        if not draft.rated_unit_id:
            raise InvalidArgument("rated_unit_id", "is required for internal service surveys")
        if draft.rated_unit_id not in await units_as_of(conn, deps.today()):
            raise NotFound(f"rated_unit_id: unit {draft.rated_unit_id} does not exist")
    elif draft.rated_unit_id:
        raise InvalidArgument("rated_unit_id", "applies only to internal service surveys")


async def _chosen_items(conn: Connection, draft: SurveyDraft) -> list[types_pb2.Item]:
    """The latest bank version of every item asked, each fitting the kind and language."""
    bank = await item_repository.latest_items(conn)
    chosen: list[types_pb2.Item] = []
    for item_id in draft.item_ids:
        item = bank.get(item_id)
        if item is None:
            raise InvalidArgument("item_ids", f"unknown item {item_id!r}")
        if not domain.item_fits(item.spec, draft.kind):
            raise InvalidArgument("item_ids", f"item {item_id!r} does not fit this survey kind")
        if item.spec.language != draft.language:
            raise InvalidArgument("item_ids", f"item {item_id!r} is not in {draft.language}")
        chosen.append(item_message(item))
    if not any(is_scored(item) for item in chosen):
        raise InvalidArgument("item_ids", "needs at least one scored item")
    return chosen


async def create_survey(deps: Deps, draft: SurveyDraft) -> domain.Summary:
    _check_thresholds(deps, draft)
    async with deps.db.unit_of_work() as uow:
        await _check_rated_unit(uow.conn, deps, draft)
        items = await _chosen_items(uow.conn, draft)
        if draft.survey_id:
            survey_id = draft.survey_id
            sid = uuid.UUID(survey_id)
            kind = await repo.kind_of(uow.conn, sid, for_update=True)
            if kind is None:
                raise NotFound(f"survey {survey_id} does not exist")
            if kind != draft.kind:
                raise InvalidArgument("kind", "a revision must keep the survey's kind")
            await repo.rename_survey(uow.conn, sid, draft.name)
        else:
            survey_id = str(uuid.uuid4())
            sid = uuid.UUID(survey_id)
            await repo.insert_survey(uow.conn, sid, draft.name, draft.kind)
        version = await repo.draft_version(uow.conn, sid) or await repo.next_version(uow.conn, sid)
        definition = new_definition(draft, survey_id, version, items)
        await repo.save_draft(
            uow.conn, sid, version, definition.SerializeToString(), draft.rated_unit_id
        )
    return domain.Summary(survey_id, draft.name, draft.kind, domain.DRAFT, version)


async def publish_survey(deps: Deps, survey_id: str) -> types_pb2.SurveyDefinition:
    now = deps.now()
    sid = uuid.UUID(survey_id)
    async with deps.db.unit_of_work() as uow:
        if await repo.kind_of(uow.conn, sid, for_update=True) is None:
            raise NotFound(f"survey {survey_id} does not exist")
        draft = await repo.draft(uow.conn, sid)
        if draft is None:
            raise FailedPrecondition("the survey has no draft to publish")
        definition = parse_definition(draft.definition)
        definition.published_at = rfc3339(now)
        await repo.mark_published(
            uow.conn, sid, definition.version, definition.SerializeToString(), now
        )
        await uow.enqueue(
            subjects.SURVEY_PUBLISHED,
            events_pb2.SurveyPublished(survey=definition),
            msg_id=events.survey_msg_id(survey_id, definition.version),
        )
    deps.caches.customer_surveys.invalidate()
    return definition


async def published_version(
    conn: Connection, survey_id: str, version: int = 0
) -> tuple[types_pb2.SurveyDefinition, str]:
    """A published definition (latest when ``version`` is 0) and its rated unit."""
    stored = await repo.published(conn, uuid.UUID(survey_id), version)
    if stored is None:
        raise FailedPrecondition(f"survey {survey_id} has no published version")
    return parse_definition(stored.definition), stored.rated_unit_id


async def get_survey(
    deps: Deps, survey_id: str, version: int
) -> tuple[types_pb2.SurveyDefinition, str]:
    """A version in any status (the latest published one when ``version`` is 0), with
    its status."""
    async with deps.db.connection() as conn:
        stored = await repo.version_or_latest_published(conn, uuid.UUID(survey_id), version)
    if stored is None:
        what = "a published version" if version == 0 else f"version {version}"
        raise NotFound(f"survey {survey_id} has no {what}")
    return parse_definition(stored.definition), stored.status


async def list_surveys(deps: Deps, kind: int) -> list[domain.Summary]:
    async with deps.db.connection() as conn:
        return await repo.summaries(conn, kind)
