"""Helpers for tests of the correlation service: feed it the org and survey definitions it
learns from the stream, as the survey service would."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nats.js import JetStreamContext
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
