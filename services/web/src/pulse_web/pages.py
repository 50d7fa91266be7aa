"""Error pages: one readable page per status a person can meet."""

from __future__ import annotations

from pulse_common import errors
from starlette.requests import Request
from starlette.responses import Response

from pulse_web.form_errors import field_words
from pulse_web.i18n import LANGUAGES, N_, Translator, choose
from pulse_web.state import state_of

INVALID_LINK_STATUS = 410

PAGES: tuple[tuple[type[errors.DomainError], int, str, str], ...] = (
    (
        errors.PermissionDenied,
        403,
        N_("Not allowed"),
        N_(
            "You do not have access to this page. Leaders see only their own part of the"
            " organisation."
        ),
    ),
    (
        errors.ResourceExhausted,
        429,
        N_("Please slow down"),
        N_(
            "Too many requests came from your connection in a short time. Wait a minute and"
            " try again."
        ),
    ),
    (
        errors.Unavailable,
        503,
        N_("Temporarily unavailable"),
        N_(
            "Part of Pulse is not answering right now. Your answers have not been lost if you"
            " have not sent them yet: wait a moment and try again."
        ),
    ),
    (errors.NotFound, 404, N_("Not found"), N_("There is nothing here.")),
    (errors.InvalidArgument, 422, N_("Please check your request"), ""),
    (errors.FailedPrecondition, 409, N_("Not possible right now"), ""),
    (errors.Unauthenticated, 401, N_("Sign-in needed"), ""),
)


def translator_for(request: Request, language: str = "") -> Translator:
    """``language`` when given, else the switch's ``?lang=`` or the browser's choice."""
    if language in LANGUAGES:
        return Translator(language)
    picked = request.query_params.get("lang", "")
    accept = request.headers.get("accept-language", "")
    return Translator(choose(LANGUAGES, picked, "", accept))


def error_page(request: Request, error: errors.DomainError, language: str = "") -> Response:
    """Status and heading by error type, in the reader's language; the service's message
    (safe to show by contract) as detail where it helps the reader."""
    status, title, text, detail = (
        500,
        N_("Something went wrong"),
        N_("Please try again later."),
        "",
    )
    for error_type, code, heading, default_text in PAGES:
        if isinstance(error, error_type):
            status, title, text = code, heading, default_text
            if error_type not in (errors.Unavailable, errors.ResourceExhausted):
                detail = error.message
            if isinstance(error, errors.InvalidArgument):  # the field by its label, in words
                detail = field_words(error.field, error.description)
            break
    tr = translator_for(request, language)
    context = {
        **tr.context(),
        "title": tr.gettext(title),
        "text": tr.gettext(text) if text else "",
        "detail": detail,
        "status": status,
    }
    return state_of(request).templates.TemplateResponse(
        request, "error.html", context, status_code=status
    )


def invalid_link_page(request: Request, language: str = "") -> Response:
    """The same page and status whether the link was used, unknown or expired."""
    context = translator_for(request, language).context()
    return state_of(request).templates.TemplateResponse(
        request, "invalid_link.html", context, status_code=INVALID_LINK_STATUS
    )
