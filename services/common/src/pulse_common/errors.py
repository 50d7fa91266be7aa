"""Domain errors: raised by domain and service code, translated once at the gRPC edge.

Each class corresponds to one gRPC status code (DESIGN §4); the mapping lives in
``pulse_common.grpc_errors`` so no servicer chooses codes by hand.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of all errors a caller may see; ``message`` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """A request field is malformed; ``field`` names it (dotted path for nested fields)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class FailedPrecondition(DomainError):
    """The request is valid but the state forbids it (closed wave, group below k...)."""


class Unauthenticated(DomainError):
    """Bad, used or expired token. Always built with the same message so they look alike."""


class PermissionDenied(DomainError):
    pass


class ResourceExhausted(DomainError):
    """A rate or size limit was hit."""


class Unavailable(DomainError):
    """A dependency is down; the caller may retry."""


INVALID_TOKEN_MESSAGE = "this survey link is not valid: it may be used, expired or mistyped"


def invalid_token() -> Unauthenticated:
    """The one error for unknown, used and expired tokens (no oracle for which it was)."""
    return Unauthenticated(INVALID_TOKEN_MESSAGE)
