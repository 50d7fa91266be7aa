"""gRPC edge of the item bank and surveys: ListItems, CreateItem, CreateSurvey,
PublishSurvey, GetSurvey, ListSurveys. Checks the fields (naming them), calls ``items`` /
``surveys``."""

from __future__ import annotations

from collections.abc import Mapping

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common import measures
from pulse_common.errors import InvalidArgument
from pulse_common.fields import require_language, require_name, require_unit_id

from pulse_survey import domain, items, surveys
from pulse_survey.definitions import item_message
from pulse_survey.grpc_fields import AreaServicer, Context, require_enum, survey_id_of

KINDS = tuple(measures.KIND_NAMES.values())
SURVEY_STATUS = {
    domain.DRAFT: pb.SURVEY_STATUS_DRAFT,
    domain.PUBLISHED: pb.SURVEY_STATUS_PUBLISHED,
}
DEFAULT_LANGUAGE = "en"


def summary_message(summary: domain.Summary) -> pb.SurveySummary:
    return pb.SurveySummary(
        survey_id=summary.survey_id,
        name=summary.name,
        kind=types_pb2.SurveyKind.ValueType(summary.kind),
        status=SURVEY_STATUS[summary.status],
        latest_version=summary.latest_version,
    )


def _item_spec(item: types_pb2.Item) -> domain.ItemSpec:
    """Checked by ``domain.validate_item`` in the use case (the bank's seed obeys it too)."""
    return domain.ItemSpec(
        item_id=item.item_id,
        construct=item.construct,
        text=item.text.strip(),
        language=item.language or DEFAULT_LANGUAGE,
        scale=int(item.scale),
        reverse_scored=item.reverse_scored,
        required=item.required,
        translations=tuple(sorted((tag, text.strip()) for tag, text in item.translations.items())),
        kinds=tuple(sorted(set(item.kinds))),
    )


def _name_translations(names: Mapping[str, str], language: str) -> tuple[tuple[str, str], ...]:
    """The survey's name in further languages, each checked like the name itself."""
    checked = []
    for tag, text in sorted(names.items()):
        field = f"name_translations[{tag}]"
        require_language(field, tag)
        if tag == language:
            raise InvalidArgument(field, f"repeats the survey's own language ({language})")
        checked.append((tag, require_name(field, text)))
    return tuple(checked)


def _item_ids(values: list[str]) -> list[str]:
    if not values:
        raise InvalidArgument("item_ids", "needs at least one item")
    if len(set(values)) != len(values):
        raise InvalidArgument("item_ids", "must not repeat an item")
    return values


class SurveysServicer(AreaServicer):
    async def ListItems(  # noqa: N802
        self, request: pb.ListItemsRequest, context: Context
    ) -> pb.ListItemsResponse:
        kind = require_enum("kind", request.kind, KINDS, required=False)
        found = await items.list_items(self.deps, request.construct, request.language, kind)
        return pb.ListItemsResponse(items=[item_message(i) for i in found])

    async def CreateItem(  # noqa: N802
        self, request: pb.CreateItemRequest, context: Context
    ) -> pb.CreateItemResponse:
        if not request.HasField("item"):
            raise InvalidArgument("item", "is required")
        created = await items.create_item(self.deps, _item_spec(request.item))
        return pb.CreateItemResponse(item=item_message(created))

    async def CreateSurvey(  # noqa: N802
        self, request: pb.CreateSurveyRequest, context: Context
    ) -> pb.CreateSurveyResponse:
        name = require_name("name", request.name)
        kind = require_enum("kind", request.kind, KINDS)
        item_ids = _item_ids(list(request.item_ids))
        if request.min_group_size < 0 or request.min_comment_group_size < 0:
            raise InvalidArgument("min_group_size", "must not be negative")
        language = require_language("language", request.language or DEFAULT_LANGUAGE)
        if request.rated_unit_id:
            require_unit_id("rated_unit_id", request.rated_unit_id)
        survey_id = survey_id_of("survey_id", request.survey_id, required=False)
        common = self.deps.settings.common
        k = request.min_group_size or common.min_group_size
        draft = domain.SurveyDraft(
            name=name,
            kind=kind,
            item_ids=item_ids,
            min_group_size=k,
            min_comment_group_size=request.min_comment_group_size
            or max(k, common.min_comment_group_size),
            language=language,
            rated_unit_id=request.rated_unit_id,
            survey_id=survey_id,
            name_translations=_name_translations(request.name_translations, language),
        )
        summary = await surveys.create_survey(self.deps, draft)
        return pb.CreateSurveyResponse(survey=summary_message(summary))

    async def PublishSurvey(  # noqa: N802
        self, request: pb.PublishSurveyRequest, context: Context
    ) -> pb.PublishSurveyResponse:
        survey_id = survey_id_of("survey_id", request.survey_id)
        definition = await surveys.publish_survey(self.deps, survey_id)
        return pb.PublishSurveyResponse(definition=definition)

    async def GetSurvey(  # noqa: N802
        self, request: pb.GetSurveyRequest, context: Context
    ) -> pb.GetSurveyResponse:
        survey_id = survey_id_of("survey_id", request.survey_id)
        if request.version < 0:
            raise InvalidArgument("version", "must not be negative")
        definition, status = await surveys.get_survey(self.deps, survey_id, request.version)
        return pb.GetSurveyResponse(definition=definition, status=SURVEY_STATUS[status])

    async def ListSurveys(  # noqa: N802
        self, request: pb.ListSurveysRequest, context: Context
    ) -> pb.ListSurveysResponse:
        kind = require_enum("kind", request.kind, KINDS, required=False)
        found = await surveys.list_surveys(self.deps, kind)
        return pb.ListSurveysResponse(surveys=[summary_message(s) for s in found])
