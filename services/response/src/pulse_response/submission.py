"""A Submit request and its receipt as plain records, and the shape rules checked before
anything (the token included) is touched. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.types.v1 import types_pb2
from pulse_common import errors

from pulse_response.settings import ResponseSettings

MAX_TOKEN_CHARS = 512
MAX_CLIENT_ID_CHARS = 128
IDEMPOTENCY_KEY_MIN, IDEMPOTENCY_KEY_MAX = 16, 128


@dataclass(frozen=True)
class Submission:
    token: str
    answers: Sequence[types_pb2.Answer]
    idempotency_key: str
    share_comment_with_team: bool
    client_id: str
    # Size of the request on the wire (the limit is on what the caller sent).
    size_bytes: int
    # Customers: consent to be contacted about a bottom-box answer, and how (issue 16).
    contact_consent: bool = False
    contact: str = ""
    # GetForm's sealed grant of this token, passed back (``form_grant``); may be empty.
    form_grant: bytes = b""


@dataclass(frozen=True)
class Receipt:
    """What Submit answers; stored under the idempotency key and replayed to retries."""

    response_id: str
    survey_id: str
    survey_version: int
    replayed: bool = False


def idempotency_key_problem(key: str) -> str | None:
    if not IDEMPOTENCY_KEY_MIN <= len(key) <= IDEMPOTENCY_KEY_MAX:
        return f"must be {IDEMPOTENCY_KEY_MIN} to {IDEMPOTENCY_KEY_MAX} characters, got {len(key)}"
    if not key.isprintable() or not key.isascii():
        return "must be printable ASCII"
    return None


def require_token(token: str) -> str:
    """A token that may be sent to the survey service; an absurdly long one is just invalid
    (the one invalid-token error, no hint)."""
    if not token:
        raise errors.InvalidArgument("token", "is required")
    if len(token) > MAX_TOKEN_CHARS:
        raise errors.invalid_token()
    return token


def check_shape(submission: Submission, settings: ResponseSettings) -> None:
    """Size, key, token, client id and answer count, in this order."""
    if submission.size_bytes > settings.max_request_bytes:
        raise errors.ResourceExhausted(
            f"request is {submission.size_bytes} bytes; "
            f"the limit is {settings.max_request_bytes} bytes"
        )
    problem = idempotency_key_problem(submission.idempotency_key)
    if problem is not None:
        raise errors.InvalidArgument("idempotency_key", problem)
    require_token(submission.token)
    if len(submission.client_id) > MAX_CLIENT_ID_CHARS:
        raise errors.InvalidArgument(
            "client_id", f"must be at most {MAX_CLIENT_ID_CHARS} characters"
        )
    count = len(submission.answers)
    if count > settings.max_answers:
        raise errors.InvalidArgument(
            "answers", f"at most {settings.max_answers} answers per response, got {count}"
        )
    if not count:
        raise errors.InvalidArgument("answers", "at least one answer is required")
