"""Survey definitions: the ``pulse.types.v1.SurveyDefinition`` a published version is
stored and announced as, built from bank items. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from pulse.types.v1 import types_pb2

from pulse_survey.domain import BankItem, SurveyDraft


def item_message(item: BankItem) -> types_pb2.Item:
    """A bank item as surveys and ``ListItems`` carry it, with its version."""
    spec = item.spec
    return types_pb2.Item(
        item_id=spec.item_id,
        construct=spec.construct,
        text=spec.text,
        language=spec.language,
        scale=types_pb2.Scale.ValueType(spec.scale),
        reverse_scored=spec.reverse_scored,
        required=spec.required,
        item_version=item.item_version,
        translations=dict(spec.translations),
        kinds=[types_pb2.SurveyKind.ValueType(kind) for kind in spec.kinds],
    )


def languages_of(language: str, items: Sequence[types_pb2.Item]) -> list[str]:
    """The languages a respondent may answer in: the survey's own first, then every other
    language each item has a wording in."""
    common: set[str] | None = None
    for item in items:
        wording = {item.language, *item.translations}
        common = wording if common is None else common & wording
    return [language, *sorted((common or set()) - {language})]


def is_scored(item: types_pb2.Item) -> bool:
    return item.scale != types_pb2.SCALE_FREE_TEXT


def optional_item_ids(definition: types_pb2.SurveyDefinition) -> list[str]:
    """The items a wave may rotate: those not required."""
    return [item.item_id for item in definition.items if not item.required]


def item_ids(definition: types_pb2.SurveyDefinition) -> list[str]:
    return [item.item_id for item in definition.items]


def parse_definition(data: bytes) -> types_pb2.SurveyDefinition:
    definition = types_pb2.SurveyDefinition()
    definition.ParseFromString(data)
    return definition


def new_definition(
    draft: SurveyDraft, survey_id: str, version: int, items: Sequence[types_pb2.Item]
) -> types_pb2.SurveyDefinition:
    """The definition of a draft; its thresholds are locked when it is published."""
    return types_pb2.SurveyDefinition(
        survey_id=survey_id,
        version=version,
        name=draft.name,
        kind=types_pb2.SurveyKind.ValueType(draft.kind),
        items=items,
        min_group_size=draft.min_group_size,
        min_comment_group_size=draft.min_comment_group_size,
        language=draft.language,
        languages=languages_of(draft.language, items),
        rated_unit_id=draft.rated_unit_id,
        name_translations=dict(draft.name_translations),
    )
