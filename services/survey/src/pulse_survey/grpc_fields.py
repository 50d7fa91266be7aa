"""What every survey servicer shares: the servicer base holding ``Deps`` and the checks of
request fields that are not plain text (enums, UUIDs). Field errors name the field; the
shared interceptor turns them into status codes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import grpc.aio
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse_common.errors import InvalidArgument
from pulse_common.fields import require_uuid

from pulse_survey.context import Deps

Context = grpc.aio.ServicerContext[Any, Any]


class AreaServicer(pb_grpc.SurveyServiceServicer):
    """Base of the per-area servicers; ``grpc_api.SurveyServicer`` combines them."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps


def require_enum(field: str, value: int, allowed: Collection[int], *, required: bool = True) -> int:
    """``value`` among ``allowed``; 0 (unset) passes when not ``required``."""
    if value == 0 and not required:
        return 0
    if value not in allowed:
        raise InvalidArgument(field, "is required" if value == 0 else "has an unknown value")
    return value


def survey_id_of(field: str, value: str, *, required: bool = True) -> str:
    """A survey id in its canonical form; "" when empty and not ``required``."""
    if not value and not required:
        return ""
    return str(require_uuid(field, value, "a survey id"))


def wave_id_of(field: str, value: str) -> uuid.UUID:
    return require_uuid(field, value, "a wave id")
