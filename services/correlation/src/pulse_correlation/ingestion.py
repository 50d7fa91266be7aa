"""Use cases of the consumed events: each does its whole effect and claims the message in
the processed-message ledger in one unit of work, so a redelivery (or a second instance
receiving the same message) changes nothing.

Each response also raises ``measure_min_k`` for the measures it feeds to the k its survey
version promised (see ``confidentiality.effective_k``); the (measure, k) pairs already stored
are remembered per process so the hot path does not touch that table again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.db import Connection
from pulse_common.ledger import claim_message, claim_messages

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation import serves_repository as serves_repo
from pulse_correlation.aggregates import measure_key
from pulse_correlation.chain_model import ServesLink
from pulse_correlation.context import Deps, SurveySpecs
from pulse_correlation.domain import (
    ResponseDeltas,
    attributed_unit,
    item_specs,
    population_of,
    score_response,
)
from pulse_correlation.org import UnitVersion


class SurveyNotYetKnown(Exception):
    """Retry later: the survey definition is still on its way."""


async def _specs_for(deps: Deps, conn: Connection, survey_id: str, version: int) -> SurveySpecs:
    key = (survey_id, version)
    cached = deps.memory.specs.get(key)
    if cached is not None:
        return cached
    definition = await org_repo.get_survey(conn, survey_id, version)
    if definition is None:
        raise SurveyNotYetKnown(f"survey {survey_id} v{version} not received yet")
    found = SurveySpecs(
        int(definition.kind),
        item_specs(definition),
        max(definition.min_group_size, 0),
        definition.rated_unit_id,
    )
    deps.memory.specs[key] = found
    return found


async def record_response(
    deps: Deps,
    *,
    response_id: str,
    survey_id: str,
    survey_version: int,
    kind: int,
    unit_id: str,
    period: str,
    channel: str,
    answers: Sequence[tuple[str, int | None]],
) -> None:
    """Count one response once (ledger key ``response:<response_id>``, not the message id,
    so a response re-sent under a new message id is still counted once). Raises
    ``ContractViolation`` for a response its survey version cannot explain and
    ``SurveyNotYetKnown`` while the version has not arrived."""
    new_ks: set[tuple[str, int]] = set()
    async with deps.db.unit_of_work() as uow:
        survey = await _specs_for(deps, uow.conn, survey_id, survey_version)
        population = population_of(kind or survey.kind)
        counted_under = attributed_unit(population, unit_id, survey.rated_unit_id)
        deltas = score_response(
            population, counted_under, period, channel, answers, survey.items, deps.settings.period
        )
        if not await claim_message(uow.conn, f"response:{response_id}", subjects.RESPONSE_RECORDED):
            return
        await aggregates_repo.apply_response(uow.conn, deltas)
        if survey.min_group_size > 0:
            measures = {measure_key(population, c.construct) for c in deltas.constructs}
            new_ks = {(m, survey.min_group_size) for m in measures} - deps.memory.k_stored
            if new_ks:
                await aggregates_repo.raise_measure_k(
                    uow.conn, [m for m, _ in new_ks], survey.min_group_size
                )
    deps.memory.k_stored |= new_ks  # only once committed


@dataclass(frozen=True)
class RecordedResponse:
    """The fields of one ``ResponseRecorded`` that counting it needs."""

    response_id: str
    survey_id: str
    survey_version: int
    kind: int
    unit_id: str
    period: str
    channel: str
    answers: Sequence[tuple[str, int | None]]


async def record_responses(deps: Deps, batch: Sequence[RecordedResponse]) -> int:
    """``record_response`` for a fetched batch in one unit of work: every response is
    scored first (any ``ContractViolation`` or ``SurveyNotYetKnown`` fails the whole batch,
    which the consumer loop then handles message by message), the batch's ledger keys are
    claimed in one statement and only the newly claimed responses are added. Returns how
    many were new."""
    new_ks: set[tuple[str, int]] = set()
    async with deps.db.unit_of_work() as uow:
        scored: list[tuple[str, ResponseDeltas, SurveySpecs]] = []
        for r in batch:
            survey = await _specs_for(deps, uow.conn, r.survey_id, r.survey_version)
            population = population_of(r.kind or survey.kind)
            counted_under = attributed_unit(population, r.unit_id, survey.rated_unit_id)
            deltas = score_response(
                population,
                counted_under,
                r.period,
                r.channel,
                r.answers,
                survey.items,
                deps.settings.period,
            )
            scored.append((f"response:{r.response_id}", deltas, survey))
        claimed = await claim_messages(
            uow.conn, [key for key, _, _ in scored], subjects.RESPONSE_RECORDED
        )
        fresh = []
        for key, deltas, survey in scored:
            if key in claimed:
                claimed.discard(key)  # a response twice in the batch counts once
                fresh.append((deltas, survey))
        await aggregates_repo.apply_responses(uow.conn, [d for d, _ in fresh])
        wanted = {
            (measure_key(d.population, c.construct), s.min_group_size)
            for d, s in fresh
            if s.min_group_size > 0
            for c in d.constructs
        }
        new_ks = wanted - deps.memory.k_stored
        if new_ks:
            await aggregates_repo.raise_measure_ks(uow.conn, new_ks)
    deps.memory.k_stored |= new_ks  # only once committed
    return len(fresh)


async def record_survey(deps: Deps, definition: types_pb2.SurveyDefinition) -> None:
    """Keep a published survey version (ledger key ``survey:<id>:<version>``: versions are
    immutable). Raises ``ContractViolation`` for an unknown survey kind."""
    population_of(definition.kind)
    async with deps.db.unit_of_work() as uow:
        key = f"survey:{definition.survey_id}:{definition.version}"
        if await claim_message(uow.conn, key, subjects.SURVEY_PUBLISHED):
            await org_repo.save_survey(uow.conn, definition)


async def record_unit_version(deps: Deps, version: UnitVersion, message_id: str) -> None:
    """Keep one dated org version (ledger key: the message id; the upsert is idempotent)."""
    async with deps.db.unit_of_work() as uow:
        if await claim_message(uow.conn, f"org:{message_id}", subjects.ORG_CHANGED):
            await org_repo.save_unit_version(uow.conn, version)


async def record_serves(deps: Deps, link: ServesLink, message_id: str) -> None:
    """Keep one dated "serves" link (ledger key: the message id; the upsert is idempotent)."""
    async with deps.db.unit_of_work() as uow:
        if await claim_message(uow.conn, f"serves:{message_id}", subjects.ORG_SERVES):
            await serves_repo.save_link(uow.conn, link)
