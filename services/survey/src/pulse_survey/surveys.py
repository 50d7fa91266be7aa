"""Surveys: a draft is freely rewritten; publishing freezes it as an immutable version
(a serialized SurveyDefinition) and announces ``pulse.survey.published``. SQL lives in
``survey_repository``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import outbox, subjects
from pulse_common.db import Connection
from pulse_common.errors import FailedPrecondition, InvalidArgument, NotFound

from pulse_survey import domain
from pulse_survey import survey_repository as repo
from pulse_survey.context import Deps
from pulse_survey.items import latest_items
from pulse_survey.org import units_as_of

DRAFT, PUBLISHED = "draft", "published"


@dataclass(frozen=True)
class SurveyDraft:
    name: str
    kind: int
    item_ids: list[str]
    min_group_size: int
    min_comment_group_size: int
    language: str
    rated_unit_id: str
    survey_id: str  # "" = a new survey


@dataclass(frozen=True)
class Summary:
    survey_id: str
    name: str
    kind: int
    status: str
    latest_version: int


def parse_survey_id(field: str, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(field, "must be a survey id (UUID)") from None


def _definition(row: asyncpg.Record) -> types_pb2.SurveyDefinition:
    definition = types_pb2.SurveyDefinition()
    definition.ParseFromString(bytes(row["definition"]))
    return definition


async def _check_draft(conn: Connection, deps: Deps, draft: SurveyDraft) -> list[types_pb2.Item]:
    if draft.min_group_size < deps.settings.min_group_size:
        raise InvalidArgument(
            "min_group_size",
            f"must be at least the deployment's k ({deps.settings.min_group_size})",
        )
    if draft.min_comment_group_size < max(
        draft.min_group_size, deps.settings.min_comment_group_size
    ):
        raise InvalidArgument(
            "min_comment_group_size",
            "must be at least min_group_size and the deployment's comment threshold "
            f"({deps.settings.min_comment_group_size})",
        )
    if draft.kind == domain.INTERNAL:
        if not draft.rated_unit_id:
            raise InvalidArgument("rated_unit_id", "is required for internal service surveys")
        if draft.rated_unit_id not in await units_as_of(conn, deps.today()):
            raise NotFound(f"rated_unit_id: unit {draft.rated_unit_id} does not exist")
    elif draft.rated_unit_id:
        raise InvalidArgument("rated_unit_id", "applies only to internal service surveys")
    bank = await latest_items(conn)
    chosen: list[types_pb2.Item] = []
    for item_id in draft.item_ids:
        item = bank.get(item_id)
        if item is None:
            raise InvalidArgument("item_ids", f"unknown item {item_id!r}")
        if draft.kind not in domain.construct_kinds(item.spec.construct):
            raise InvalidArgument("item_ids", f"item {item_id!r} does not fit this survey kind")
        if item.spec.language != draft.language:
            raise InvalidArgument("item_ids", f"item {item_id!r} is not in {draft.language}")
        chosen.append(
            types_pb2.Item(
                item_id=item_id,
                construct=item.spec.construct,
                text=item.spec.text,
                language=item.spec.language,
                scale=types_pb2.Scale.ValueType(item.spec.scale),
                reverse_scored=item.spec.reverse_scored,
                required=item.spec.required,
                item_version=item.item_version,
            )
        )
    if all(item.scale == domain.FREE_TEXT for item in chosen):
        raise InvalidArgument("item_ids", "needs at least one scored item")
    return chosen


async def create_survey(deps: Deps, draft: SurveyDraft) -> Summary:
    async with deps.transaction() as conn:
        items = await _check_draft(conn, deps, draft)
        if draft.survey_id:
            survey = await repo.survey_for_update(conn, uuid.UUID(draft.survey_id))
            if survey is None:
                raise NotFound(f"survey {draft.survey_id} does not exist")
            if survey["kind"] != draft.kind:
                raise InvalidArgument("kind", "a revision must keep the survey's kind")
            survey_id = draft.survey_id
            await repo.rename_survey(conn, survey["survey_id"], draft.name)
        else:
            survey_id = str(uuid.uuid4())
            await repo.insert_survey(conn, uuid.UUID(survey_id), draft.name, draft.kind)
        sid = uuid.UUID(survey_id)
        version = await repo.draft_version(conn, sid) or await repo.next_version(conn, sid)
        definition = types_pb2.SurveyDefinition(
            survey_id=survey_id,
            version=version,
            name=draft.name,
            kind=types_pb2.SurveyKind.ValueType(draft.kind),
            items=items,
            min_group_size=draft.min_group_size,
            min_comment_group_size=draft.min_comment_group_size,
            language=draft.language,
        )
        await repo.save_draft(
            conn, sid, version, definition.SerializeToString(), draft.rated_unit_id
        )
    return Summary(survey_id, draft.name, draft.kind, DRAFT, version)


async def publish_survey(deps: Deps, survey_id: str) -> types_pb2.SurveyDefinition:
    now = deps.now()
    async with deps.transaction() as conn:
        sid = uuid.UUID(survey_id)
        if await repo.kind_of(conn, sid, for_update=True) is None:
            raise NotFound(f"survey {survey_id} does not exist")
        row = await repo.draft(conn, sid)
        if row is None:
            raise FailedPrecondition("the survey has no draft to publish")
        definition = _definition(row)
        definition.published_at = domain.rfc3339(now)
        await repo.mark_published(
            conn, sid, definition.version, definition.SerializeToString(), now
        )
        await outbox.enqueue(
            conn,
            subjects.SURVEY_PUBLISHED,
            events_pb2.SurveyPublished(survey=definition),
            msg_id=f"survey:{survey_id}:{definition.version}",
        )
    deps.caches.customer_surveys.invalidate()
    deps.notify()
    return definition


async def published_version(
    conn: Connection | asyncpg.Pool, survey_id: str, version: int = 0
) -> tuple[types_pb2.SurveyDefinition, str]:
    """A published definition (latest when ``version`` is 0) and its rated unit."""
    row = await repo.published(conn, uuid.UUID(survey_id), version)
    if row is None:
        raise FailedPrecondition(f"survey {survey_id} has no published version")
    return _definition(row), row["rated_unit_id"] or ""


async def get_survey(
    deps: Deps, survey_id: str, version: int
) -> tuple[types_pb2.SurveyDefinition, str]:
    sid = uuid.UUID(survey_id)
    row = await repo.version_or_latest_published(deps.pool, sid, version)
    if row is None:
        what = "a published version" if version == 0 else f"version {version}"
        raise NotFound(f"survey {survey_id} has no {what}")
    return _definition(row), row["status"]


async def list_surveys(deps: Deps, kind: int) -> list[Summary]:
    rows = await repo.summaries(deps.pool, kind)
    return [
        Summary(str(r["survey_id"]), r["name"], r["kind"], r["status"], r["version"]) for r in rows
    ]
