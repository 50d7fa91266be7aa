"""NATS edge: the three durable consumers of the correlation service.

Every handler does its whole effect and records the message in the processed-message ledger in
one transaction, so a redelivery (or a second instance receiving the same message) changes
nothing. Ledger keys:

* responses: ``response:<response_id>`` from the payload, not the Nats-Msg-Id, so a publisher
  that re-sends a response under a new message id is still counted once;
* surveys: ``survey:<survey_id>:<version>`` (versions are immutable);
* org versions: the Nats-Msg-Id (the row upsert is idempotent anyway).

A response whose survey version has not arrived yet raises an ordinary error: the consumer
loop naks it with backoff and it is counted once the definition is known (dead-lettered only
after ``max_deliver`` tries). A response its survey version cannot explain (unknown item,
score off the item's scale, bad period...) raises ``PermanentError`` and is dead-lettered at
once: retrying cannot help.

Each response also raises ``measure_min_k`` for the measures it feeds to the k its survey
version promised (see ``confidentiality.effective_k``); the (measure, k) pairs already stored
are remembered per process so the hot path does not touch that table again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import asyncpg
from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id

from pulse_correlation import repository as repo
from pulse_correlation.domain import (
    ContractViolation,
    ItemSpec,
    answers_of,
    item_specs,
    population_of,
    score_response,
)
from pulse_correlation.org import UnitVersion

log = logging.getLogger(__name__)

RESPONSES_DURABLE = "correlation-responses"
SURVEYS_DURABLE = "correlation-surveys"
ORG_DURABLE = "correlation-org"


@dataclass(frozen=True)
class SurveySpecs:
    kind: int
    items: dict[str, ItemSpec]
    min_group_size: int  # the k this survey version promised its respondents (0: unset)


class SurveyNotYetKnown(Exception):
    """Retry later: the survey definition is still on its way."""


def consumer_specs(max_deliver: int) -> dict[str, ConsumerSpec]:
    return {
        RESPONSES_DURABLE: ConsumerSpec(
            RESPONSES_DURABLE, (subjects.RESPONSE_RECORDED,), max_deliver=max_deliver
        ),
        SURVEYS_DURABLE: ConsumerSpec(
            SURVEYS_DURABLE, (subjects.SURVEY_PUBLISHED,), max_deliver=max_deliver
        ),
        ORG_DURABLE: ConsumerSpec(ORG_DURABLE, (subjects.ORG_CHANGED,), max_deliver=max_deliver),
    }


class Handlers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # Published survey versions are immutable, so their item specs can be cached forever.
        self._specs: dict[tuple[str, int], SurveySpecs] = {}
        self._k_stored: set[tuple[str, int]] = set()

    async def _specs_for(
        self, conn: asyncpg.Connection, survey_id: str, version: int
    ) -> SurveySpecs:
        key = (survey_id, version)
        cached = self._specs.get(key)
        if cached is not None:
            return cached
        definition = await repo.get_survey(conn, survey_id, version)
        if definition is None:
            raise SurveyNotYetKnown(f"survey {survey_id} v{version} not received yet")
        try:
            found = SurveySpecs(
                int(definition.kind), item_specs(definition), max(definition.min_group_size, 0)
            )
        except ContractViolation as error:
            raise PermanentError(str(error)) from error
        self._specs[key] = found
        return found

    async def on_response(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.ResponseRecorded)
        if not event.response_id:
            raise PermanentError("ResponseRecorded without response_id")
        new_ks: set[tuple[str, int]] = set()
        async with repo.transaction(self.pool) as conn:
            survey = await self._specs_for(conn, event.survey_id, event.survey_version)
            try:
                population = population_of(event.kind or survey.kind)
                deltas = score_response(
                    population,
                    event.unit_id,
                    event.period,
                    event.channel,
                    answers_of(event.answers),
                    survey.items,
                )
            except ContractViolation as error:
                raise PermanentError(str(error)) from error
            if not await claim_message(
                conn, f"response:{event.response_id}", subjects.RESPONSE_RECORDED
            ):
                return
            await repo.apply_response(conn, deltas)
            if survey.min_group_size > 0:
                measures = {f"{population}:{c.construct}" for c in deltas.constructs}
                new_ks = {(m, survey.min_group_size) for m in measures} - self._k_stored
                if new_ks:
                    await repo.raise_measure_k(conn, [m for m, _ in new_ks], survey.min_group_size)
        self._k_stored |= new_ks  # only once committed

    async def on_survey(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.SurveyPublished)
        survey = event.survey
        if not survey.survey_id or survey.version <= 0:
            raise PermanentError("SurveyPublished without survey_id/version")
        try:
            population_of(survey.kind)
        except ContractViolation as error:
            raise PermanentError(str(error)) from error
        async with repo.transaction(self.pool) as conn:
            key = f"survey:{survey.survey_id}:{survey.version}"
            if await claim_message(conn, key, subjects.SURVEY_PUBLISHED):
                await repo.save_survey(conn, survey)

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
        async with repo.transaction(self.pool) as conn:
            if await claim_message(conn, f"org:{message_id(msg)}", subjects.ORG_CHANGED):
                await repo.save_unit_version(conn, version)
