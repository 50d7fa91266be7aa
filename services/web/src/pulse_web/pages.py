"""Error pages: one readable page per status a person can meet."""

from __future__ import annotations

from pulse_common import errors
from starlette.requests import Request
from starlette.responses import Response

from pulse_web.state import state_of

INVALID_LINK_STATUS = 410

PAGES: tuple[tuple[type[errors.DomainError], int, str, str], ...] = (
    (
        errors.PermissionDenied,
        403,
        "Not allowed",
        "You do not have access to this page. Leaders see only their own part of the organisation.",
    ),
    (
        errors.ResourceExhausted,
        429,
        "Please slow down",
        "Too many requests came from your connection in a short time. Wait a minute and try again.",
    ),
    (
        errors.Unavailable,
        503,
        "Temporarily unavailable",
        "Part of Pulse is not answering right now. Your answers have not been lost if you "
        "have not sent them yet: wait a moment and try again.",
    ),
    (errors.NotFound, 404, "Not found", "There is nothing here."),
    (errors.InvalidArgument, 422, "Please check your request", ""),
    (errors.FailedPrecondition, 409, "Not possible right now", ""),
    (errors.Unauthenticated, 401, "Sign-in needed", ""),
)


def error_page(request: Request, error: errors.DomainError) -> Response:
    """Status and heading by error type; the service's message (safe to show by contract)
    as detail where it helps the reader."""
    status, title, text, detail = 500, "Something went wrong", "Please try again later.", ""
    for error_type, code, heading, default_text in PAGES:
        if isinstance(error, error_type):
            status, title, text = code, heading, default_text
            if error_type not in (errors.Unavailable, errors.ResourceExhausted):
                detail = error.message
            break
    context = {"title": title, "text": text, "detail": detail, "status": status}
    return state_of(request).templates.TemplateResponse(
        request, "error.html", context, status_code=status
    )


def invalid_link_page(request: Request) -> Response:
    """The same page and status whether the link was used, unknown or expired."""
    return state_of(request).templates.TemplateResponse(
        request, "invalid_link.html", {}, status_code=INVALID_LINK_STATUS
    )
