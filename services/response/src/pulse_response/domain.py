"""Records of the response service (frozen, no I/O): the group a response counts in, a
validated answer set, an accepted response ready to store, what reads release, and the
deterministic ids of imported rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

# Namespace of deterministic ids for imported responses (fixed forever: ids depend on it).
IMPORT_NAMESPACE = uuid.UUID("5b0f3f63-8f2e-4d59-9a55-4a4d0c0e7a11")


@dataclass(frozen=True, order=True)
class Group:
    """A unit in a period: the smallest set of responses anything is released for."""

    unit_id: str
    period: str


@dataclass(frozen=True)
class ValidatedAnswers:
    """Scores and free texts, kept apart because they are stored apart."""

    scores: list[tuple[str, int]] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    # Customer praise: every answered recognition item in its top-2 box.
    positive: bool = False
    # Rounded mean of the staff_treatment items (0 when none answered).
    staff_treatment_score: int = 0


@dataclass(frozen=True)
class NewResponse:
    """An accepted response: no person, no token, no time (DESIGN §3)."""

    response_id: uuid.UUID
    survey_id: str
    survey_version: int
    kind: int
    group: Group
    wave_id: str
    # Customers only (stored as "" for everyone else).
    channel: str
    source: str  # "live" or "import"
    batch_id: str
    answers: ValidatedAnswers
    # Customers only: consent to show the comment to the team.
    shared_with_team: bool


@dataclass(frozen=True)
class UnitCount:
    unit_id: str
    responses: int
    imported: int = 0  # of ``responses``, rows from historical imports (source "import")


@dataclass(frozen=True)
class Comment:
    item_id: str
    text: str


# Moderation states of shared praise (comments.moderation).
PENDING, APPROVED, HIDDEN, REPORTED = "pending", "approved", "hidden", "reported"
MODERATION_STATES = (PENDING, APPROVED, HIDDEN, REPORTED)


@dataclass(frozen=True)
class Praise:
    """A consented top-2-box customer comment of one group."""

    group: Group
    text: str
    staff_treatment_score: int
    entry_id: str = ""  # the comment's random id (moderation refers to it)
    status: str = PENDING


def import_response_id(survey_id: str, version: int, line: int, row_bytes: bytes) -> uuid.UUID:
    """Deterministic id of an imported row (survey version + line + the row's deterministic
    serialisation), so re-sending the same file adds nothing, while an edited row counts as
    a new response."""
    return uuid.uuid5(IMPORT_NAMESPACE, f"{survey_id}\x1f{version}\x1f{line}\x1f{row_bytes.hex()}")


def import_batch_id(survey_id: str, version: int, response_ids: Iterable[uuid.UUID]) -> str:
    """Deterministic id of an import: the same accepted rows give the same batch."""
    accepted = ",".join(sorted(str(response_id) for response_id in response_ids))
    return str(uuid.uuid5(IMPORT_NAMESPACE, f"batch\x1f{survey_id}\x1f{version}\x1f{accepted}"))
