"""What every leader page shares: rendering with the signed-in account and the session's
CSRF token, and the web's own subtree check before any service is asked."""

from __future__ import annotations

from datetime import date
from typing import Any

from pulse_common.measures import REPORT_DEFAULTS
from pulse_common.periods import periods_back
from starlette.requests import Request
from starlette.responses import Response

from pulse_web.accounts import Account
from pulse_web.org import UnitInfo
from pulse_web.session import csrf_for, current_account
from pulse_web.state import state_of


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    state = state_of(request)
    account = current_account(request)
    # Example bounds for the period fields: the default report's range, in this
    # deployment's granularity.
    example_from, example_to = periods_back(
        date.today(), state.config.settings.period, REPORT_DEFAULTS.periods
    )
    base = {
        "account": account,
        "csrf_token": csrf_for(request),
        "nav": name,
        "example_from": example_from,
        "example_to": example_to,
    }
    return state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


async def units_for(
    request: Request, account: Account, requested: str, field: str = "scope"
) -> list[UnitInfo]:
    """The viewer's subtree; PermissionDenied (403) when ``requested`` lies outside it,
    InvalidArgument naming ``field`` when it is no unit at all."""
    return await state_of(request).org.units_for(account.scope_unit_id, requested, field)
