"""NATS subjects and stream names: the event contract of DESIGN §4 in one place."""

from __future__ import annotations

STREAM = "PULSE"
STREAM_SUBJECTS = ("pulse.>",)
# JetStream drops a re-publish with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_S = 15 * 60

SURVEY_PUBLISHED = "pulse.survey.published"
WAVE_OPENED = "pulse.wave.opened"
WAVE_CLOSED = "pulse.wave.closed"
INVITATION_ISSUED = "pulse.invitation.issued"
ORG_CHANGED = "pulse.org.changed"
ORG_SERVES = "pulse.org.serves"  # internal customers: a dated "serves" link
INTERACTION_COMPLETED = "pulse.interaction.completed"
RESPONSE_RECORDED = "pulse.response.recorded"
REPORT_READY = "pulse.report.ready"
DETRACTOR_FLAGGED = "pulse.detractor.flagged"  # a follow-up for the team

DEAD_LETTER_PREFIX = "pulse.deadletter"


def dead_letter_subject(durable: str) -> str:
    """Where a consumer's poison messages go: kept on the stream for inspection/replay."""
    return f"{DEAD_LETTER_PREFIX}.{durable}"
