"""The respondent form as data: which choices each scale offers, and turning posted form
fields into answers with per-item error messages (pure; no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pulse.types.v1 import types_pb2
from pulse_common.measures import scale_range

from pulse_web.i18n import N_, Translator, item_text

MAX_TEXT_CHARS = 2000
REQUIRED_MESSAGE = N_("Please answer this question.")
CHOICE_MESSAGE = N_("Please choose one of the options.")
TOO_LONG_MESSAGE = N_("Please keep this under %(limit)s characters (it has %(length)s).")
ENGLISH = Translator("en")

LIKERT_5 = (
    N_("Strongly disagree"),
    N_("Disagree"),
    N_("Neither agree nor disagree"),
    N_("Agree"),
    N_("Strongly agree"),
)
LIKERT_7 = (
    N_("Strongly disagree"),
    N_("Disagree"),
    N_("Somewhat disagree"),
    N_("Neither agree nor disagree"),
    N_("Somewhat agree"),
    N_("Agree"),
    N_("Strongly agree"),
)
CSAT = (
    N_("Very dissatisfied"),
    N_("Dissatisfied"),
    N_("Neutral"),
    N_("Satisfied"),
    N_("Very satisfied"),
)
CES = (
    N_("Very difficult"),
    N_("Difficult"),
    N_("Somewhat difficult"),
    N_("Neither easy nor difficult"),
    N_("Somewhat easy"),
    N_("Easy"),
    N_("Very easy"),
)
NPS_LOW, NPS_HIGH = N_("Not at all likely"), N_("Extremely likely")


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


@dataclass(frozen=True)
class FormItem:
    """One question as the template draws it."""

    item_id: str
    field_name: str
    text: str
    required: bool
    # "choice" (radio group) or "text" (textarea).
    widget: str
    choices: tuple[Choice, ...] = ()
    # Low/high anchors shown above wide numeric scales (NPS).
    anchors: tuple[str, str] | None = None


@dataclass
class ParsedForm:
    answers: list[tuple[str, int | str]] = field(default_factory=list)
    # Error message per item id.
    errors: dict[str, str] = field(default_factory=dict)
    # What the respondent entered, per field name (to refill the form after an error).
    values: dict[str, str] = field(default_factory=dict)


def field_name(item_id: str) -> str:
    return f"a_{item_id}"


def _labelled(labels: Sequence[str], tr: Translator, start: int = 1) -> tuple[Choice, ...]:
    return tuple(
        Choice(start + i, f"{start + i} – {tr.gettext(label)}") for i, label in enumerate(labels)
    )


def choices_for(
    scale: int, tr: Translator = ENGLISH
) -> tuple[tuple[Choice, ...], tuple[str, str] | None]:
    if scale == types_pb2.SCALE_LIKERT_5:
        return _labelled(LIKERT_5, tr), None
    if scale == types_pb2.SCALE_LIKERT_7:
        return _labelled(LIKERT_7, tr), None
    if scale == types_pb2.SCALE_CSAT_1_5:
        return _labelled(CSAT, tr), None
    if scale == types_pb2.SCALE_CES_1_7:
        return _labelled(CES, tr), None
    if scale == types_pb2.SCALE_NPS_0_10:
        bottom, top = scale_range(scale)
        low, high = tr.gettext(NPS_LOW), tr.gettext(NPS_HIGH)
        choices = tuple(
            Choice(v, f"{v} – {low}" if v == bottom else f"{v} – {high}" if v == top else str(v))
            for v in range(bottom, top + 1)
        )
        return choices, (f"{bottom} = {low}", f"{top} = {high}")
    return (), None


def form_items(items: Sequence[types_pb2.Item], tr: Translator = ENGLISH) -> list[FormItem]:
    """The questions in ``tr``'s language: the item's translation and translated labels."""
    result = []
    for item in items:
        text = item_text(item, tr.language)
        if item.scale == types_pb2.SCALE_FREE_TEXT:
            result.append(
                FormItem(item.item_id, field_name(item.item_id), text, item.required, "text")
            )
            continue
        choices, anchors = choices_for(item.scale, tr)
        result.append(
            FormItem(
                item.item_id,
                field_name(item.item_id),
                text,
                item.required,
                "choice",
                choices,
                anchors,
            )
        )
    return result


def parse_answers(
    items: Sequence[FormItem], form: Mapping[str, str], tr: Translator = ENGLISH
) -> ParsedForm:
    """Answers in item order; blank optional items are left out. Messages in ``tr``'s
    language."""
    parsed = ParsedForm()
    for item in items:
        raw = (form.get(item.field_name) or "").strip()
        parsed.values[item.field_name] = raw
        if not raw:
            if item.required:
                parsed.errors[item.item_id] = tr.gettext(REQUIRED_MESSAGE)
            continue
        if item.widget == "text":
            if len(raw) > MAX_TEXT_CHARS:
                parsed.errors[item.item_id] = tr.gettext(
                    TOO_LONG_MESSAGE, limit=MAX_TEXT_CHARS, length=len(raw)
                )
                continue
            parsed.answers.append((item.item_id, raw))
            continue
        allowed = {choice.value for choice in item.choices}
        if not re.fullmatch(r"-?\d{1,3}", raw) or int(raw) not in allowed:
            parsed.errors[item.item_id] = tr.gettext(CHOICE_MESSAGE)
            continue
        parsed.answers.append((item.item_id, int(raw)))
    return parsed


def to_proto(answers: Sequence[tuple[str, int | str]]) -> list[types_pb2.Answer]:
    return [
        types_pb2.Answer(item_id=item_id, text=value)
        if isinstance(value, str)
        else types_pb2.Answer(item_id=item_id, score=value)
        for item_id, value in answers
    ]


_INDEXED = re.compile(r"^answers\[(\d+)\]")
_QUOTED = re.compile(r"'([^']+)'")


def item_for_server_error(
    field_path: str, message: str, sent: Sequence[tuple[str, int | str]], known: Sequence[str]
) -> str | None:
    """Which item a service's INVALID_ARGUMENT points at: ``answers[i].x`` names the i-th
    answer sent; a set-level error quotes the item id in its message."""
    match = _INDEXED.match(field_path)
    if match and int(match.group(1)) < len(sent):
        return sent[int(match.group(1))][0]
    for candidate in _QUOTED.findall(message):
        if str(candidate) in known:
            return str(candidate)
    return None


def readable_server_message(message: str) -> str:
    """Strip the "field: " prefix the service puts on INVALID_ARGUMENT details."""
    head, sep, tail = message.partition(": ")
    return tail if sep and (head.startswith("answers") or head == "request") else message
