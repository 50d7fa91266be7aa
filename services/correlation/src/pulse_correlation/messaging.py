"""NATS edge: the durable consumers of the correlation service, thin: decode, check
the envelope, call the use case in ``ingestion``, and say which failures are permanent.

A response whose survey version has not arrived yet raises an ordinary error: the consumer
loop naks it with backoff and it is counted once the definition is known (dead-lettered only
after ``max_deliver`` tries). A response its survey version cannot explain (unknown item,
score off the item's scale, a period of the wrong kind...) raises ``PermanentError`` and is
dead-lettered at once: retrying cannot help.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import TypeVar

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id

from pulse_correlation import ingestion
from pulse_correlation.chain_model import ServesLink
from pulse_correlation.context import Deps
from pulse_correlation.domain import ContractViolation, answers_of
from pulse_correlation.org import UnitVersion

RESPONSES_DURABLE = "correlation-responses"
SURVEYS_DURABLE = "correlation-surveys"
ORG_DURABLE = "correlation-org"
SERVES_DURABLE = "correlation-serves"

T = TypeVar("T")


def consumer_specs(max_deliver: int) -> dict[str, ConsumerSpec]:
    return {
        RESPONSES_DURABLE: ConsumerSpec(
            RESPONSES_DURABLE, (subjects.RESPONSE_RECORDED,), max_deliver=max_deliver
        ),
        SURVEYS_DURABLE: ConsumerSpec(
            SURVEYS_DURABLE, (subjects.SURVEY_PUBLISHED,), max_deliver=max_deliver
        ),
        ORG_DURABLE: ConsumerSpec(ORG_DURABLE, (subjects.ORG_CHANGED,), max_deliver=max_deliver),
        SERVES_DURABLE: ConsumerSpec(
            SERVES_DURABLE, (subjects.ORG_SERVES,), max_deliver=max_deliver
        ),
    }


async def _permanent_on_violation(work: Awaitable[T]) -> T:
    try:
        return await work
    except ContractViolation as error:
        raise PermanentError(str(error)) from error


class Handlers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def on_response(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.ResponseRecorded)
        if not event.response_id:
            raise PermanentError("ResponseRecorded without response_id")
        await _permanent_on_violation(
            ingestion.record_response(
                self.deps,
                response_id=event.response_id,
                survey_id=event.survey_id,
                survey_version=event.survey_version,
                kind=event.kind,
                unit_id=event.unit_id,
                period=event.period,
                channel=event.channel,
                answers=answers_of(event.answers),
            )
        )

    async def on_survey(self, msg: Msg) -> None:
        survey = decode(msg, events_pb2.SurveyPublished).survey
        if not survey.survey_id or survey.version <= 0:
            raise PermanentError("SurveyPublished without survey_id/version")
        await _permanent_on_violation(ingestion.record_survey(self.deps, survey))

    async def on_org(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.OrgChanged)
        try:
            version = UnitVersion(
                unit_id=event.unit_id,
                valid_from=dt.date.fromisoformat(event.valid_from),
                valid_to=dt.date.fromisoformat(event.valid_to) if event.valid_to else None,
                parent_id=event.parent_id,
                name=event.name,
                unit_type=event.unit_type,
                change=event.change,
                merged_into=event.merged_into,
                org_version=event.org_version,
            )
        except ValueError as error:
            raise PermanentError(f"OrgChanged with a bad date: {error}") from error
        if not event.unit_id:
            raise PermanentError("OrgChanged without unit_id")
        await ingestion.record_unit_version(self.deps, version, message_id(msg))

    async def on_serves(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.ServesChanged)
        if not event.serving_unit_id or not event.served_unit_id:
            raise PermanentError("ServesChanged without both unit ids")
        try:
            link = ServesLink(
                serving_unit_id=event.serving_unit_id,
                served_unit_id=event.served_unit_id,
                valid_from=dt.date.fromisoformat(event.valid_from),
                valid_to=dt.date.fromisoformat(event.valid_to) if event.valid_to else None,
            )
        except ValueError as error:
            raise PermanentError(f"ServesChanged with a bad date: {error}") from error
        await ingestion.record_serves(self.deps, link, message_id(msg))
