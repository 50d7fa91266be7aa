"""Local cache of published survey versions: filled by the pulse.survey.published consumer,
and on a miss (the event has not arrived yet) from SurveyService.GetSurvey."""

from __future__ import annotations

from pulse.types.v1 import types_pb2
from pulse_common.uow import Database

from pulse_response import repository
from pulse_response.survey_client import SurveyClient


class DefinitionCache:
    def __init__(self, db: Database, survey: SurveyClient) -> None:
        self.db = db
        self.survey = survey
        # Published versions are immutable, so an in-process copy never goes stale.
        self._memo: dict[tuple[str, int], types_pb2.SurveyDefinition] = {}

    async def get(self, survey_id: str, version: int) -> types_pb2.SurveyDefinition | None:
        """The published version, or None when the survey service does not know it.
        Raises ``Unavailable`` when it is missing locally and the survey service is down."""
        key = (survey_id, version)
        if key in self._memo:
            return self._memo[key]
        async with self.db.connection() as conn:
            definition = await repository.get_definition(conn, survey_id, version)
        if definition is None:
            definition = await self.survey.get_survey(survey_id, version)
            if definition is None:
                return None
            async with self.db.unit_of_work() as uow:
                await repository.save_definition(uow.conn, definition)
        self._memo[key] = definition
        return definition
