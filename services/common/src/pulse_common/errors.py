"""Domain errors: raised by domain and service code, translated once at the gRPC edge.

Each class corresponds to one gRPC status code (DESIGN §4); the mapping lives in
``pulse_common.grpc_errors`` so no servicer chooses codes by hand. As in httpx, errors are
grouped by what the caller should do: a ``CallerError`` will fail again until the request
changes; a ``RetryableError`` may succeed if the same request is sent again later.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of all errors a caller may see; ``message`` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CallerError(DomainError):
    """The request (or the caller) is wrong; sending it again changes nothing."""


class RetryableError(DomainError):
    """A dependency is down or slow; the same request may succeed later."""


class InvalidArgument(CallerError):
    """A request field is malformed; ``field`` names it (dotted path for nested fields)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class NotFound(CallerError):
    pass


class AlreadyExists(CallerError):
    pass


class FailedPrecondition(CallerError):
    """The request is valid but the state forbids it (closed wave, group below k...)."""


class Unauthenticated(CallerError):
    """Bad, used or expired token. Always built with the same message so they look alike."""


class PermissionDenied(CallerError):
    pass


class ResourceExhausted(CallerError):
    """A rate or size limit was hit."""


class Unavailable(RetryableError):
    """A dependency is down or cannot be reached; the caller may retry."""


class DeadlineExceeded(RetryableError):
    """The work did not finish in time; narrow the request or allow more time."""


INVALID_TOKEN_MESSAGE = "this survey link is not valid: it may be used, expired or mistyped"


def invalid_token() -> Unauthenticated:
    """The one error for unknown, used and expired tokens (no oracle for which it was)."""
    return Unauthenticated(INVALID_TOKEN_MESSAGE)
