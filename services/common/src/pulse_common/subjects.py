"""NATS subjects and stream names: the event contract of DESIGN §4 in one place."""

from __future__ import annotations

STREAM = "PULSE"
STREAM_SUBJECTS = ("pulse.>",)
# JetStream drops a re-publish with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_S = 15 * 60
# Retention Pulse gives the shared stream when it creates it (an operator's ``pulse nats
# apply`` owns it from then on): consumers that were down longer lose events, so it is long.
STREAM_MAX_AGE_S = 30 * 24 * 3600

# Invitation delivery (issue 13): the raw token and contact travel on their own stream that
# only the survey service (its delivery adapter) and the operator's tools may read, never
# on ``pulse.>``; kept briefly (the mailing happens within seconds, a reminder issues a new
# token).
DELIVERY_STREAM = "PULSE_DELIVERY"
DELIVERY_STREAM_SUBJECTS = ("delivery.>",)
DELIVERY_MAX_AGE_S = 2 * 24 * 3600

SURVEY_PUBLISHED = "pulse.survey.published"
WAVE_OPENED = "pulse.wave.opened"
WAVE_CLOSED = "pulse.wave.closed"
WAVES = "pulse.wave.>"  # every wave event (one filter: a consumer's NATS permission)
INVITATION_ISSUED = "delivery.invitation.issued"  # on DELIVERY_STREAM
ORG_CHANGED = "pulse.org.changed"
ORG_SERVES = "pulse.org.serves"  # internal customers: a dated "serves" link
INTERACTION_COMPLETED = "pulse.interaction.completed"
RESPONSE_RECORDED = "pulse.response.recorded"
REPORT_READY = "pulse.report.ready"
DETRACTOR_FLAGGED = "pulse.detractor.flagged"  # a follow-up for the team

DEAD_LETTER_PREFIX = "pulse.deadletter"
DELIVERY_DEAD_LETTER_PREFIX = "delivery.deadletter"


def dead_letter_subject(durable: str, stream: str = STREAM) -> str:
    """Where a consumer's poison messages go: kept on the consumer's own stream for
    inspection/replay (a delivery message, token and all, never reaches ``pulse.>``)."""
    prefix = DELIVERY_DEAD_LETTER_PREFIX if stream == DELIVERY_STREAM else DEAD_LETTER_PREFIX
    return f"{prefix}.{durable}"


def stream_of(subject: str) -> str:
    """The stream that holds ``subject``."""
    return DELIVERY_STREAM if subject.startswith("delivery.") else STREAM
