"""Leadership pages: sign-in, dashboard heatmap and trends, linkage reports, recognition.

Every service call carries the signed-in account as the Viewer; the web also refuses units
outside the viewer's subtree itself (403) before asking."""

from __future__ import annotations

import math
import re
import secrets
from datetime import date
from typing import Any
from urllib.parse import quote

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common import errors
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.accounts import Account, authenticate
from pulse_web.csrf import check_csrf_token, make_csrf_token
from pulse_web.heatmap import build_tables
from pulse_web.pages import error_page
from pulse_web.periods import periods_back
from pulse_web.report_view import chart_payload, estimate_rows, fmt, script_json
from pulse_web.scope import in_scope
from pulse_web.state import UnitInfo, WebState, viewer_of

OUTCOMES = ("csat", "nps", "ces", "staff_treatment")
PERIOD = re.compile(r"^(\d{4}-\d{2}|\d{4}-W\d{2})?$")
REPORT_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
UNIT_ID = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")


class LoginRequired(Exception):
    pass


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def session_nonce(request: Request) -> str:
    nonce = request.session.get("nonce")
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        request.session["nonce"] = nonce
    return nonce


def csrf_for(request: Request) -> str:
    return make_csrf_token(
        _state(request).config.session_secret, f"session:{session_nonce(request)}"
    )


def csrf_ok(request: Request, token: str) -> bool:
    nonce = request.session.get("nonce")
    if not isinstance(nonce, str):
        return False
    return check_csrf_token(_state(request).config.session_secret, f"session:{nonce}", token)


def current_account(request: Request) -> Account:
    username = request.session.get("user")
    account = _state(request).config.accounts.get(username) if isinstance(username, str) else None
    if account is None:
        raise LoginRequired
    return account


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    account = current_account(request)
    base = {"account": account, "csrf_token": csrf_for(request), "nav": name}
    return _state(request).templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status
    )


def _clean(value: str | None, pattern: re.Pattern[str], name: str) -> str:
    text = (value or "").strip()
    if not pattern.match(text):
        raise errors.InvalidArgument(name, "is not valid")
    return text


async def check_scope(request: Request, account: Account, unit_id: str) -> list[UnitInfo]:
    """The viewer's subtree; PermissionDenied when ``unit_id`` lies outside it."""
    units = await _state(request).subtree(account.scope_unit_id)
    if not in_scope(account.scope_unit_id, unit_id, {u.unit_id for u in units}):
        raise errors.PermissionDenied(f"unit {unit_id!r} is outside your part of the organisation")
    return units


# --- sign-in -------------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    state = _state(request)
    next_path = request.query_params.get("next", "/dashboard")
    return state.templates.TemplateResponse(
        request,
        "login.html",
        {"csrf_token": csrf_for(request), "next": _safe_next(next_path), "error": ""},
    )


def _safe_next(path: str) -> str:
    """Only local absolute paths, so the login page is no open redirect."""
    return (
        path
        if path.startswith("/") and not path.startswith("//") and "\\" not in path
        else "/dashboard"
    )


async def login(request: Request) -> Response:
    state = _state(request)
    if not state.login_limiter.allow(state.client_id(request)):
        return error_page(request, errors.ResourceExhausted("too many sign-in attempts"))
    form = await request.form(max_files=0, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the sign-in form expired; reload it"))
    account = authenticate(
        state.config.accounts, fields.get("username", "").strip(), fields.get("password", "")
    )
    next_path = _safe_next(fields.get("next", "/dashboard"))
    if account is None:
        return state.templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf_token": csrf_for(request),
                "next": next_path,
                "error": "Unknown user name or wrong password.",
                "username": fields.get("username", ""),
            },
            status_code=401,
        )
    request.session.clear()  # fresh nonce after sign-in (no session fixation)
    request.session["user"] = account.username
    session_nonce(request)
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    token = form.get("csrf")
    if isinstance(token, str) and csrf_ok(request, token):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- dashboard -----------------------------------------------------------------------------


async def dashboard(request: Request) -> Response:
    account = current_account(request)
    state = _state(request)
    params = request.query_params
    scope = _clean(params.get("scope"), UNIT_ID, "scope")
    period_from = _clean(params.get("from"), PERIOD, "from")
    period_to = _clean(params.get("to"), PERIOD, "to")
    construct = (params.get("construct") or "").strip()
    units = await check_scope(request, account, scope)
    api = state.api()
    viewer = viewer_of(account)
    scores = await api.call(
        api.correlation.GetScores,
        corr_pb.GetScoresRequest(
            viewer=viewer,
            scope_unit_id=scope or account.scope_unit_id,
            period_from=period_from,
            period_to=period_to,
        ),
    )
    constructs = sorted({c.construct for c in scores.cells})
    tables = build_tables(
        (c for c in scores.cells if not construct or c.construct == construct),
        scores.min_group_size or state.settings.min_group_size,
        tree_order(units),
    )
    trend_unit = scope or account.scope_unit_id or (units[0].unit_id if units else "")
    trend_construct = construct or _default_construct(constructs)
    trend: dict[str, Any] = {"labels": [], "values": [], "construct": trend_construct}
    if trend_unit and trend_construct:
        trends = await api.call(
            api.correlation.GetTrends,
            corr_pb.GetTrendsRequest(
                viewer=viewer,
                unit_id=trend_unit,
                construct=trend_construct,
                period_from=period_from,
                period_to=period_to,
            ),
        )
        points = sorted(trends.points, key=lambda p: p.period)
        trend["labels"] = [p.period for p in points]
        trend["values"] = [_shown(p, p.value) for p in points]
        trend["low"] = [_shown(p, p.ci_low) for p in points]
        trend["high"] = [_shown(p, p.ci_high) for p in points]
        trend["unit"] = next((u.name for u in units if u.unit_id == trend_unit), trend_unit)
    return render(
        request,
        "dashboard.html",
        {
            "units": units,
            "scope": scope,
            "period_from": period_from,
            "period_to": period_to,
            "construct": construct,
            "constructs": constructs,
            "tables": tables,
            "min_group_size": scores.min_group_size or state.settings.min_group_size,
            "chart_json": script_json({"trend": trend}),
            "trend": trend,
        },
    )


def tree_order(units: list[UnitInfo]) -> list[str]:
    """Unit ids depth-first (each parent followed by its children), for table rows."""
    children: dict[str, list[UnitInfo]] = {}
    ids = {u.unit_id for u in units}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else "", []).append(unit)
    order: list[str] = []
    stack = sorted(children.get("", []), key=lambda u: u.name, reverse=True)
    while stack:
        unit = stack.pop()
        order.append(unit.unit_id)
        stack.extend(sorted(children.get(unit.unit_id, []), key=lambda u: u.name, reverse=True))
    return order


def _shown(cell: corr_pb.ScoreCell, value: float) -> float | None:
    """A chart gap for suppressed or undefined values."""
    return None if cell.suppressed or not math.isfinite(value) else round(value, 2)


def _default_construct(constructs: list[str]) -> str:
    for preferred in ("treatment.fairness", "csat"):
        if preferred in constructs:
            return preferred
    return constructs[0] if constructs else ""


# --- reports -------------------------------------------------------------------------------


async def reports(request: Request) -> Response:
    account = current_account(request)
    api = _state(request).api()
    reply = await api.call(
        api.correlation.ListReports,
        corr_pb.ListReportsRequest(viewer=viewer_of(account), limit=50),
    )
    units = await check_scope(request, account, "")
    return render(
        request,
        "reports.html",
        {"reports": list(reply.reports), "units": units, "outcomes": OUTCOMES, "form": {}},
    )


async def run_report(request: Request) -> Response:
    account = current_account(request)
    form = await request.form(max_files=0, max_fields=20)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the form expired; reload the page"))
    scope = _clean(fields.get("scope"), UNIT_ID, "scope")
    period_from = _clean(fields.get("from"), PERIOD, "from")
    period_to = _clean(fields.get("to"), PERIOD, "to")
    outcome = fields.get("outcome", "csat")
    if outcome not in OUTCOMES:
        raise errors.InvalidArgument("outcome", f"must be one of {', '.join(OUTCOMES)}")
    max_lag_text = fields.get("max_lag", "1").strip() or "0"
    if not max_lag_text.isdigit() or int(max_lag_text) > 6:
        raise errors.InvalidArgument("max_lag", "must be a whole number from 0 to 6")
    await check_scope(request, account, scope)
    api = _state(request).api()
    reply = await api.call(
        api.correlation.RunLinkageReport,
        corr_pb.RunLinkageReportRequest(
            viewer=viewer_of(account),
            scope_unit_id=scope or account.scope_unit_id,
            period_from=period_from,
            period_to=period_to,
            outcome=outcome,
            max_lag=int(max_lag_text),
        ),
    )
    return RedirectResponse(f"/reports/{quote(reply.report.report_id)}", status_code=303)


async def _load_report(request: Request) -> tuple[Account, corr_pb.LinkageReport]:
    account = current_account(request)
    report_id = _clean(request.path_params["report_id"], REPORT_ID, "report_id")
    api = _state(request).api()
    reply = await api.call(
        api.correlation.GetReport,
        corr_pb.GetReportRequest(viewer=viewer_of(account), report_id=report_id),
    )
    await check_scope(request, account, reply.report.scope_unit_id)
    return account, reply.report


async def report_page(request: Request) -> Response:
    _, report = await _load_report(request)
    predictor = request.query_params.get("predictor", "")
    payload = chart_payload(report, predictor)
    linkage = next((lk for lk in report.linkages if lk.predictor == payload.get("predictor")), None)
    return render(
        request,
        "report.html",
        {
            "report": report,
            "linkage": linkage,
            "estimates": estimate_rows(linkage) if linkage is not None else [],
            "predictors": [lk.predictor for lk in report.linkages],
            "chart_json": script_json(payload),
            "payload": payload,
            "fmt": fmt,
        },
    )


async def report_export(request: Request) -> Response:
    account = current_account(request)
    report_id = _clean(request.path_params["report_id"], REPORT_ID, "report_id")
    kind = request.path_params["kind"]
    if kind not in ("csv", "json"):
        raise errors.NotFound("downloads exist as .csv and .json")
    await _load_report(request)  # also applies the web's own scope check
    api = _state(request).api()
    export_format = corr_pb.EXPORT_FORMAT_CSV if kind == "csv" else corr_pb.EXPORT_FORMAT_JSON
    reply = await api.call(
        api.correlation.ExportReport,
        corr_pb.ExportReportRequest(
            viewer=viewer_of(account), report_id=report_id, format=export_format
        ),
    )
    filename = re.sub(r"[^A-Za-z0-9_.-]", "_", reply.filename or f"report-{report_id}.{kind}")
    default_type = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    return Response(
        reply.content,
        media_type=reply.content_type or default_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


# --- recognition ---------------------------------------------------------------------------


async def recognition(request: Request) -> Response:
    account = current_account(request)
    state = _state(request)
    unit = _clean(request.query_params.get("unit"), UNIT_ID, "unit")
    default_from, default_to = periods_back(date.today(), state.settings.period, 6)
    period_from = _clean(request.query_params.get("from"), PERIOD, "from") or default_from
    period_to = _clean(request.query_params.get("to"), PERIOD, "to") or default_to
    units = await check_scope(request, account, unit)
    # No unit chosen: the whole visible subtree (each unit/period group is released or
    # withheld on its own against the comment threshold by the response service).
    target = unit
    api = state.api()
    reply = await api.call(
        api.response.ListRecognition,
        resp_pb.ListRecognitionRequest(
            unit_id=target,
            viewer=viewer_of(account),
            limit=50,
            period_from=period_from,
            period_to=period_to,
        ),
    )
    return render(
        request,
        "recognition.html",
        {
            "units": units,
            "unit": target,
            "unit_name": next((u.name for u in units if u.unit_id == target), target)
            or "all teams you can see",
            "entries": list(reply.entries),
            "suppressed": reply.suppressed,
            "suppression_reason": reply.suppression_reason,
            "min_comment_group_size": state.settings.min_comment_group_size,
            "period_from": period_from,
            "period_to": period_to,
        },
    )


async def home(request: Request) -> Response:
    return RedirectResponse("/dashboard", status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/reports", reports, methods=["GET"]),
    Route("/reports", run_report, methods=["POST"]),
    Route("/reports/{report_id}.{kind:str}", report_export, methods=["GET"]),
    Route("/reports/{report_id}", report_page, methods=["GET"]),
    Route("/recognition", recognition, methods=["GET"]),
]


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
