"""The web front: respondent pages and the leadership dashboard over the three services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse_common import errors
from pulse_common.measures import human_name
from pulse_common.ratelimit import SlidingWindowLimiter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pulse_web import (
    chain_page,
    comments,
    dashboard,
    recognition,
    reports,
    respondent,
    signin,
    unit_actions,
)
from pulse_web.clients import open_clients
from pulse_web.config import DEV_ACCOUNT_WARNING, WebConfig
from pulse_web.identity import IdentityMiddleware
from pulse_web.pages import error_page
from pulse_web.security import SecurityHeadersMiddleware
from pulse_web.session import LoginRequired, login_redirect
from pulse_web.state import PACKAGE_DIR, WebState, state_of
from pulse_web.static_files import StaticDeliveryMiddleware, favicon, static_url

log = logging.getLogger(__name__)
SESSION_MAX_AGE_S = 8 * 3600


# The services behind the web, in the order of ``Clients.channels``.
UPSTREAMS = (
    ("survey", "pulse.survey.v1.SurveyService"),
    ("response", "pulse.response.v1.ResponseService"),
    ("correlation", "pulse.correlation.v1.CorrelationService"),
)
UPSTREAM_CHECK_S = 2.0


async def _upstream_status(channel: grpc.aio.Channel, service: str) -> str:
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=UPSTREAM_CHECK_S
        )
    except grpc.aio.AioRpcError as error:
        return f"UNREACHABLE ({error.code().name})"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def healthz(request: Request) -> Response:
    """Readiness: 200 only when every upstream's standard health check says SERVING (which
    includes their database, NATS and consumers); else 503, naming the one that is not."""
    channels = state_of(request).api().channels
    statuses = await asyncio.gather(
        *(
            _upstream_status(channel, service)
            for channel, (_, service) in zip(channels, UPSTREAMS, strict=True)
        )
    )
    lines = [f"{name}: {status}" for (name, _), status in zip(UPSTREAMS, statuses, strict=True)]
    ready = all(status == "SERVING" for status in statuses)
    body = "\n".join(["ok" if ready else "not ready", *lines]) + "\n"
    return PlainTextResponse(body, status_code=200 if ready else 503)


async def livez(request: Request) -> Response:
    """Liveness: the process answers (an upstream's outage is no reason to restart it)."""
    return PlainTextResponse("ok")


async def _domain_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    if isinstance(exc, errors.DomainError):
        if not isinstance(exc, errors.InvalidArgument | errors.NotFound | errors.PermissionDenied):
            log.warning("request failed", extra={"path": request.url.path, "error": exc.message})
        return error_page(request, exc)
    raise exc


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_page(request, errors.NotFound("There is no page at this address."))
    if exc.status_code == 405:
        return PlainTextResponse("method not allowed", status_code=405)
    return PlainTextResponse(exc.detail, status_code=exc.status_code)


def create_app(web_config: WebConfig) -> Starlette:
    if web_config.using_dev_account:
        log.warning(DEV_ACCOUNT_WARNING)
    templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    templates.env.autoescape = True  # every template, whatever its extension
    # Respondent pages pass their language's gettext in the context (``i18n``); every other
    # page falls back to these (English, the source language).
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    templates.env.filters["human_name"] = human_name  # measure codes as leaders read them
    templates.env.globals["static_url"] = static_url  # content-addressed, cached for a year
    state = WebState(
        config=web_config,
        templates=templates,
        submit_limiter=SlidingWindowLimiter(
            web_config.submit_rate_limit, web_config.submit_rate_window_s
        ),
        login_limiter=SlidingWindowLimiter(web_config.login_rate_limit, 60),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.clients = open_clients(web_config.settings)
        try:
            yield
        finally:
            await state.clients.close()
            state.clients = None

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
            *respondent.routes,
            *signin.routes,
            *dashboard.routes,
            *comments.routes,
            *reports.routes,
            *recognition.routes,
            *unit_actions.routes,
            *chain_page.routes,
            Mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(StaticDeliveryMiddleware),
            # Every request starts without a leader identity (see pulse_web.identity).
            Middleware(IdentityMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=web_config.session_secret,
                session_cookie="pulse_session",
                max_age=SESSION_MAX_AGE_S,
                same_site="lax",
                https_only=web_config.secure_cookies,
            ),
        ],
        exception_handlers={
            errors.DomainError: _domain_error,
            LoginRequired: _domain_error,
            HTTPException: _http_error,
        },
        lifespan=lifespan,
    )
    app.state.web = state
    return app
