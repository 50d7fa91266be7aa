"""ListComments: a group's free texts, released only when the group has at least the comment
threshold of responses (the larger of ``PULSE_MIN_COMMENT_GROUP_SIZE`` and the survey's);
contact details are redacted."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulse_common.fields import require_id, require_unit_id
from pulse_common.periods import require_period

from pulse_response import read_repository, repository
from pulse_response.context import Deps
from pulse_response.domain import Comment, Group
from pulse_response.redact import redact
from pulse_response.viewer import require_in_scope


@dataclass(frozen=True)
class Comments:
    threshold: int
    comments: list[Comment] = field(default_factory=list)
    suppression_reason: str = ""  # set when the group is below the threshold

    @property
    def suppressed(self) -> bool:
        return bool(self.suppression_reason)


async def list_comments(
    deps: Deps, *, unit_id: str, period: str, survey_id: str, scope_unit_id: str
) -> Comments:
    require_unit_id("unit_id", unit_id)
    require_period("period", period, deps.settings.common.period)
    require_id("survey_id", survey_id)
    await require_in_scope(deps, scope_unit_id, unit_id)
    group = Group(unit_id, period)
    async with deps.db.connection() as conn:
        survey_k = (await repository.survey_thresholds(conn, survey_id)).min_comment_group_size
        threshold = max(deps.settings.common.min_comment_group_size, survey_k)
        if await read_repository.group_size(conn, survey_id, group) < threshold:
            return Comments(
                threshold,
                suppression_reason=(
                    f"comments are shown only for groups of at least {threshold} responses"
                ),
            )
        stored = await read_repository.comments_of_group(conn, survey_id, group)
    return Comments(threshold, [Comment(c.item_id, redact(c.text)) for c in stored])
