"""NATS edge: the durable consumers of the correlation service, thin: decode, check
the envelope, call the use case in ``ingestion``, and say which failures are permanent.

A response whose survey version has not arrived yet raises an ordinary error: the consumer
loop naks it with backoff and it is counted once the definition is known (dead-lettered only
after ``max_deliver`` tries). A response its survey version cannot explain (unknown item,
score off the item's scale, a period of the wrong kind...) raises ``PermanentError`` and is
dead-lettered at once: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable
from typing import TypeVar

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.ledger import purge_processed, retention_days
from pulse_common.messaging import (
    ConsumerSpec,
    PermanentError,
    RetryBatchLater,
    decode,
    message_id,
)

from pulse_correlation import ingestion
from pulse_correlation import org_repository as org_repo
from pulse_correlation import release_repository as release_repo
from pulse_correlation.chain_model import ServesLink
from pulse_correlation.context import Deps
from pulse_correlation.domain import ContractViolation, answers_of
from pulse_correlation.org import UnitVersion

RESPONSES_DURABLE = "correlation-responses"
SURVEYS_DURABLE = "correlation-surveys"
ORG_DURABLE = "correlation-org"
SERVES_DURABLE = "correlation-serves"
WAVES_DURABLE = "correlation-waves"

LEDGER_PURGE_INTERVAL_S = 3600.0
# How often the background task looks for periods whose release day has come.
RELEASE_INTERVAL_S = 300.0

log = logging.getLogger(__name__)

T = TypeVar("T")


def consumer_specs(max_deliver: int, response_batch: int) -> dict[str, ConsumerSpec]:
    return {
        # A fetched batch is counted in one transaction (``Handlers.on_responses``).
        RESPONSES_DURABLE: ConsumerSpec(
            RESPONSES_DURABLE,
            (subjects.RESPONSE_RECORDED,),
            max_deliver=max_deliver,
            batch=response_batch,
        ),
        SURVEYS_DURABLE: ConsumerSpec(
            SURVEYS_DURABLE, (subjects.SURVEY_PUBLISHED,), max_deliver=max_deliver
        ),
        ORG_DURABLE: ConsumerSpec(ORG_DURABLE, (subjects.ORG_CHANGED,), max_deliver=max_deliver),
        SERVES_DURABLE: ConsumerSpec(
            SERVES_DURABLE, (subjects.ORG_SERVES,), max_deliver=max_deliver
        ),
        # Waves decide when a period's employee numbers are released (``releases``).
        WAVES_DURABLE: ConsumerSpec(WAVES_DURABLE, (subjects.WAVES,), max_deliver=max_deliver),
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

    async def on_responses(self, msgs: list[Msg]) -> None:
        """A fetched batch in one unit of work; raises (nothing counted) when any message
        of it would fail alone, and the consumer loop then handles them one by one."""
        batch = []
        for msg in msgs:
            event = decode(msg, events_pb2.ResponseRecorded)
            if not event.response_id:
                raise PermanentError("ResponseRecorded without response_id")
            batch.append(
                ingestion.RecordedResponse(
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
        try:
            await _permanent_on_violation(ingestion.record_responses(self.deps, batch))
        except ingestion.SurveyNotYetKnown as error:
            # Its survey is still on its way (the service just started, say): every
            # message of the batch would fail alone too; the loop retries the batch.
            raise RetryBatchLater(str(error)) from error

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

    async def on_wave(self, msg: Msg) -> None:
        """pulse.wave.opened/closed: the waves of each period (``release_repository``)."""
        # The day of the event's time in the stream: when the survey service opened or
        # closed the wave.
        day = msg.metadata.timestamp.astimezone(dt.UTC).date()
        opened_on: dt.date | None = None
        closed_on: dt.date | None = None
        if msg.subject == subjects.WAVE_CLOSED:
            closed = decode(msg, events_pb2.WaveClosed)
            wave_id, period, closed_on = closed.wave_id, closed.period, day
        elif msg.subject == subjects.WAVE_OPENED:
            opened = decode(msg, events_pb2.WaveOpened)
            wave_id, period = opened.wave_id, opened.period
            # An ordinary wave counts from its declared opening (the same day for every
            # reader and replay); a backfill from when it was really opened, so that its
            # past period stays held while its answers arrive.
            opened_on = day if opened.backfill else declared_day(opened.opens_at, day)
        else:
            return  # another wave event: nothing to do with releases
        if not wave_id or not period:
            raise PermanentError("wave event without wave_id/period")
        async with self.deps.db.unit_of_work() as uow:
            await release_repo.record_wave(uow.conn, wave_id, period, opened_on, closed_on)

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


async def purge_ledger_forever(
    deps: Deps, js: JetStreamContext, interval_s: float = LEDGER_PURGE_INTERVAL_S
) -> None:
    """Background job: every ``interval_s``, delete the processed-message ledger rows the
    stream can no longer deliver again (``ledger.retention_days``: only when the PULSE
    stream has a ``max_age``), so the ledger and ``GetIngestionStats`` stay small."""
    while True:
        try:
            config = (await js.stream_info(subjects.STREAM)).config
            keep = retention_days(
                config.max_age or 0.0, config.duplicate_window or subjects.DUPLICATE_WINDOW_S
            )
            if keep is not None:
                async with deps.db.unit_of_work() as uow:
                    purged = await purge_processed(uow.conn, keep)
                if purged:
                    log.info("ledger purged", extra={"rows": purged, "kept_days": keep})
        except Exception as error:  # NATS or the database away: try again next time
            log.warning("ledger purge skipped: %s", error or type(error).__name__)
        await asyncio.sleep(interval_s)


async def release_forever(deps: Deps, interval_s: float = RELEASE_INTERVAL_S) -> None:
    """Background job: every ``interval_s``, freeze the periods whose release day has come
    (``release_repository.freeze_due``), so a period is released on its day whether or not
    anyone reads it. Safe with several instances (one freeze per period)."""
    while True:
        try:
            async with deps.db.unit_of_work() as uow:
                frozen = await release_repo.freeze_due(
                    uow.conn, deps.settings.release, deps.today(), org_repo.load_org
                )
            if frozen:
                log.info("periods released", extra={"periods": frozen})
        except Exception as error:  # the database away: try again next time
            log.warning("release pass skipped: %s", error or type(error).__name__)
        await asyncio.sleep(interval_s)


def declared_day(opens_at: str, fallback: dt.date) -> dt.date:
    """The UTC day of a wave's declared opening (RFC 3339); ``fallback`` when absent or
    unreadable (events from before the field was filled)."""
    try:
        return dt.datetime.fromisoformat(opens_at.replace("Z", "+00:00")).astimezone(dt.UTC).date()
    except ValueError:
        return fallback
