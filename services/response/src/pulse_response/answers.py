"""Pure rules of an answer set: what is valid against the exact survey version, what a free
text may hold, and which customer answers count as praise. No I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

from pulse.types.v1 import types_pb2
from pulse_common.measures import RECOGNITION_CONSTRUCTS, SCALE_RANGES, scale_range

from pulse_response.domain import ValidatedAnswers

STAFF_TREATMENT = "staff_treatment"


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


def comment_problem(text: str, max_chars: int) -> str | None:
    """Why a free-text answer is unacceptable, or None. Stricter than
    ``pulse_common.fields.text_problem``: newline, carriage return and tab are the only
    control characters allowed (C1 controls too are refused, and the message names the
    character), and lone surrogates (not encodable as UTF-8) are refused."""
    if len(text) > max_chars:
        return f"is {len(text)} characters long; the limit is {max_chars}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    for ch in text:
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
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
        item = _asked_item(index, answer, items, asked, seen, definition)
        seen.add(item.item_id)
        if item.scale == types_pb2.SCALE_FREE_TEXT:
            text = _free_text(index, answer, item, max_comment_chars)
            if text:
                comments.append((item.item_id, text))
            else:
                seen.discard(item.item_id)  # blank: as if not answered
        else:
            scores.append((item.item_id, _score(index, answer, item)))
    for item_id in sorted(asked):
        asked_item = items.get(item_id)
        if asked_item is not None and asked_item.required and item_id not in seen:
            raise AnswerProblem(None, item_id, "", f"required item {item_id!r} is not answered")
    positive, staff = recognition_of(scores, items)
    return ValidatedAnswers(scores, comments, positive, staff)


def _asked_item(
    index: int,
    answer: types_pb2.Answer,
    items: dict[str, types_pb2.Item],
    asked: set[str],
    seen: set[str],
    definition: types_pb2.SurveyDefinition,
) -> types_pb2.Item:
    """The item an answer names: known, asked of this respondent and not answered before."""
    item_id = answer.item_id
    if not item_id:
        raise AnswerProblem(index, "", "item_id", "is required")
    item = items.get(item_id)
    if item is None:
        raise AnswerProblem(
            index,
            item_id,
            "item_id",
            f"unknown item {item_id!r} for survey {definition.survey_id} "
            f"version {definition.version}",
        )
    if item_id not in asked:
        raise AnswerProblem(index, item_id, "item_id", f"item {item_id!r} was not asked")
    if item_id in seen:
        raise AnswerProblem(index, item_id, "item_id", f"item {item_id!r} is answered twice")
    return item


def _free_text(index: int, answer: types_pb2.Answer, item: types_pb2.Item, max_chars: int) -> str:
    """The stripped text of a free-text answer ("" when blank)."""
    if answer.WhichOneof("value") != "text":
        raise AnswerProblem(
            index, item.item_id, "text", f"item {item.item_id!r} takes text, not a score"
        )
    problem = comment_problem(answer.text, max_chars)
    if problem is not None:
        raise AnswerProblem(index, item.item_id, "text", problem)
    return answer.text.strip()


def _score(index: int, answer: types_pb2.Answer, item: types_pb2.Item) -> int:
    if item.scale not in SCALE_RANGES:
        raise AnswerProblem(
            index, item.item_id, "item_id", f"item {item.item_id!r} has no usable scale"
        )
    if answer.WhichOneof("value") != "score":
        raise AnswerProblem(
            index, item.item_id, "score", f"item {item.item_id!r} takes a score, not text"
        )
    low, high = scale_range(item.scale)
    if not low <= answer.score <= high:
        raise AnswerProblem(
            index,
            item.item_id,
            "score",
            f"must be between {low} and {high} for item {item.item_id!r}, got {answer.score}",
        )
    return answer.score


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
        score >= scale_range(item.scale)[1] - 1 for item, score in relevant
    )
    staff = [score for item, score in relevant if item.construct == STAFF_TREATMENT]
    staff_score = round(sum(staff) / len(staff)) if staff else 0
    return positive, staff_score
