"""Pure rules of the response service: what a valid answer set is, periods, unit ids, and
which customer comments count as recognition. No I/O."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias

from pulse.types.v1 import types_pb2
from pulse_common.config import PeriodGranularity

Kind: TypeAlias = types_pb2.SurveyKind.ValueType

# Inclusive score ranges of the scored scales; SCALE_FREE_TEXT takes text instead.
SCALE_RANGES: dict[int, tuple[int, int]] = {
    types_pb2.SCALE_LIKERT_5: (1, 5),
    types_pb2.SCALE_LIKERT_7: (1, 7),
    types_pb2.SCALE_NPS_0_10: (0, 10),
    types_pb2.SCALE_CSAT_1_5: (1, 5),
    types_pb2.SCALE_CES_1_7: (1, 7),
}

# Names used in CSV files (and accepted in their enum spelling too).
KIND_NAMES: dict[str, Kind] = {
    "employee_pulse": types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    "customer_post_interaction": types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    "internal_service": types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
}

UNIT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CHANNEL = re.compile(r"^[a-z0-9_-]{1,32}$")
MONTH_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEK_PERIOD = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
IDEMPOTENCY_KEY_MIN, IDEMPOTENCY_KEY_MAX = 16, 128
# Constructs whose top-2-box rating marks a customer comment as praise.
RECOGNITION_CONSTRUCTS = ("staff_treatment", "csat")
# Namespace of deterministic ids for imported responses (fixed forever: ids depend on it).
IMPORT_NAMESPACE = uuid.UUID("5b0f3f63-8f2e-4d59-9a55-4a4d0c0e7a11")


def is_customer(kind: int) -> bool:
    """Customers are not employees: their responses may keep channel and consent flags."""
    return kind == types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION


def kind_name(kind: Kind) -> str:
    for name, value in KIND_NAMES.items():
        if value == kind:
            return name
    return "unspecified"


def parse_kind(text: str) -> Kind | None:
    cleaned = text.strip().lower()
    if cleaned.startswith("survey_kind_"):
        cleaned = cleaned[len("survey_kind_") :]
    return KIND_NAMES.get(cleaned)


class AnswerProblem(Exception):
    """One answer (or the answer set) is wrong. ``index`` is the answer's position (None for
    the set as a whole), ``part`` the offending sub-field ("item_id", "score", "text")."""

    def __init__(self, index: int | None, item_id: str, part: str, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.item_id = item_id
        self.part = part
        self.reason = reason

    def field_path(self) -> str:
        if self.index is None:
            return "answers"
        return f"answers[{self.index}].{self.part}"


@dataclass(frozen=True)
class ValidatedAnswers:
    """Scores and free texts, kept apart because they are stored apart."""

    scores: list[tuple[str, int]] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    # Customer praise: every answered recognition item in its top-2 box.
    positive: bool = False
    # Rounded mean of the staff_treatment items (0 when none answered).
    staff_treatment_score: int = 0


def text_problem(text: str, max_chars: int) -> str | None:
    """Why a free text is unacceptable, or None. Newline, carriage return and tab are the
    only control characters allowed; lone surrogates (not encodable as UTF-8) are refused."""
    if len(text) > max_chars:
        return f"is {len(text)} characters long; the limit is {max_chars}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    for ch in text:
        if ch in "\n\r\t":
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            return f"contains the control character U+{ord(ch):04X}"
    return None


def validate_answers(
    answers: Sequence[types_pb2.Answer],
    definition: types_pb2.SurveyDefinition,
    *,
    asked_item_ids: Collection[str] = (),
    max_answers: int,
    max_comment_chars: int,
) -> ValidatedAnswers:
    """Check ``answers`` against the exact survey version; ``asked_item_ids`` (non-empty) is
    the rotation subset this respondent was shown. Raises ``AnswerProblem``. Blank free texts
    are treated as not answered."""
    if len(answers) > max_answers:
        raise AnswerProblem(None, "", "", f"at most {max_answers} answers per response")
    items = {item.item_id: item for item in definition.items}
    asked = set(asked_item_ids) if asked_item_ids else set(items)
    seen: set[str] = set()
    scores: list[tuple[str, int]] = []
    comments: list[tuple[str, str]] = []
    for index, answer in enumerate(answers):
        item = items.get(answer.item_id)
        if not answer.item_id:
            raise AnswerProblem(index, "", "item_id", "is required")
        if item is None:
            raise AnswerProblem(
                index,
                answer.item_id,
                "item_id",
                f"unknown item {answer.item_id!r} for survey {definition.survey_id} "
                f"version {definition.version}",
            )
        if answer.item_id not in asked:
            raise AnswerProblem(
                index, answer.item_id, "item_id", f"item {answer.item_id!r} was not asked"
            )
        if answer.item_id in seen:
            raise AnswerProblem(
                index, answer.item_id, "item_id", f"item {answer.item_id!r} is answered twice"
            )
        seen.add(answer.item_id)
        value = answer.WhichOneof("value")
        if item.scale == types_pb2.SCALE_FREE_TEXT:
            if value != "text":
                raise AnswerProblem(
                    index, item.item_id, "text", f"item {item.item_id!r} takes text, not a score"
                )
            problem = text_problem(answer.text, max_comment_chars)
            if problem is not None:
                raise AnswerProblem(index, item.item_id, "text", problem)
            if answer.text.strip():
                comments.append((item.item_id, answer.text.strip()))
            else:
                seen.discard(item.item_id)  # blank: as if not answered
            continue
        bounds = SCALE_RANGES.get(item.scale)
        if bounds is None:
            raise AnswerProblem(
                index, item.item_id, "item_id", f"item {item.item_id!r} has no usable scale"
            )
        if value != "score":
            raise AnswerProblem(
                index, item.item_id, "score", f"item {item.item_id!r} takes a score, not text"
            )
        low, high = bounds
        if not low <= answer.score <= high:
            raise AnswerProblem(
                index,
                item.item_id,
                "score",
                f"must be between {low} and {high} for item {item.item_id!r}, got {answer.score}",
            )
        scores.append((item.item_id, answer.score))
    for item_id in sorted(asked):
        item = items.get(item_id)
        if item is not None and item.required and item_id not in seen:
            raise AnswerProblem(None, item_id, "", f"required item {item_id!r} is not answered")
    positive, staff = recognition_of(scores, items)
    return ValidatedAnswers(scores, comments, positive, staff)


def recognition_of(
    scores: Sequence[tuple[str, int]], items: dict[str, types_pb2.Item]
) -> tuple[bool, int]:
    """(is praise, staff treatment score): praise when at least one staff_treatment/csat
    item is answered and every such answer is in the top two boxes of its scale."""
    relevant = [
        (items[item_id], score)
        for item_id, score in scores
        if items[item_id].construct in RECOGNITION_CONSTRUCTS
    ]
    positive = bool(relevant) and all(
        score >= SCALE_RANGES[item.scale][1] - 1 for item, score in relevant
    )
    staff = [score for item, score in relevant if item.construct == "staff_treatment"]
    staff_score = round(sum(staff) / len(staff)) if staff else 0
    return positive, staff_score


def period_problem(period: str, granularity: PeriodGranularity) -> str | None:
    if granularity == "month":
        return None if MONTH_PERIOD.match(period) else "must be a month like 2026-03"
    match = WEEK_PERIOD.match(period)
    if not match:
        return "must be an ISO week like 2026-W11"
    year, week = int(match.group(1)), int(match.group(2))
    if week == 53 and date(year, 12, 28).isocalendar().week != 53:
        return f"{year} has no ISO week 53"
    return None


def period_of(day: date, granularity: PeriodGranularity) -> str:
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def idempotency_key_problem(key: str) -> str | None:
    if not IDEMPOTENCY_KEY_MIN <= len(key) <= IDEMPOTENCY_KEY_MAX:
        return f"must be {IDEMPOTENCY_KEY_MIN} to {IDEMPOTENCY_KEY_MAX} characters, got {len(key)}"
    if not key.isprintable() or not key.isascii():
        return "must be printable ASCII"
    return None


def import_response_id(survey_id: str, version: int, line: int, row_bytes: bytes) -> uuid.UUID:
    """Deterministic id of an imported row (survey version + line + the row's deterministic
    serialisation), so re-sending the same file adds nothing, while an edited row counts as
    a new response."""
    return uuid.uuid5(IMPORT_NAMESPACE, f"{survey_id}\x1f{version}\x1f{line}\x1f{row_bytes.hex()}")
