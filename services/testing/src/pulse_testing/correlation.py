"""Helpers for tests of the correlation service: feed it the org and survey definitions it
learns from the stream, as the survey service would; wait for it to catch up; compare its
estimates with ``pulse_stats`` on the same data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence

import pulse_stats
import pytest
from nats.js import JetStreamContext
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.messaging import publish_event


async def publish_org(
    js: JetStreamContext, units: Sequence[tuple[str, str]], valid_from: str = "2025-01-01"
) -> None:
    """One ``created`` OrgChanged per (unit, parent), in order, all valid from one date."""
    for version, (unit, parent) in enumerate(units, start=1):
        event = events_pb2.OrgChanged(
            unit_id=unit,
            parent_id=parent,
            valid_from=valid_from,
            change="created",
            org_version=version,
        )
        await publish_event(js, subjects.ORG_CHANGED, event, msg_id=f"org:{unit}")


async def publish_surveys(
    js: JetStreamContext, surveys: Iterable[types_pb2.SurveyDefinition]
) -> None:
    for survey in surveys:
        await publish_event(
            js,
            subjects.SURVEY_PUBLISHED,
            events_pb2.SurveyPublished(survey=survey),
            msg_id=f"survey:{survey.survey_id}",
        )


def response_recorded(
    survey: types_pb2.SurveyDefinition,
    unit: str,
    period: str,
    scores: dict[str, int],
    *,
    channel: str = "",
    source: str = "",
    extra: Sequence[types_pb2.Answer] = (),
) -> events_pb2.ResponseRecorded:
    """A ``ResponseRecorded`` of ``survey`` (a fresh response id) with one scored answer per
    item of ``scores`` and then the ``extra`` answers (free text, say)."""
    return events_pb2.ResponseRecorded(
        response_id=str(uuid.uuid4()),
        survey_id=survey.survey_id,
        survey_version=survey.version,
        kind=survey.kind,
        unit_id=unit,
        period=period,
        answers=[types_pb2.Answer(item_id=i, score=s) for i, s in scores.items()] + list(extra),
        channel=channel,
        source=source,
    )


async def eventually(check: Callable[[], Awaitable[bool]], limit_s: float = 30.0) -> None:
    """Wait until ``check`` holds (the service consumes events asynchronously)."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def assert_same_estimate(estimate: pb.Estimate, expected: pulse_stats.CorrelationResult) -> None:
    """A reported estimate equals ``pulse_stats`` on the same unit table."""
    assert estimate.r == pytest.approx(expected.r, abs=1e-9)
    assert estimate.p_value == pytest.approx(expected.p_value, abs=1e-9)
    assert estimate.ci_low == pytest.approx(expected.ci_low, abs=1e-9)
    assert estimate.ci_high == pytest.approx(expected.ci_high, abs=1e-9)
    assert estimate.n == expected.n
