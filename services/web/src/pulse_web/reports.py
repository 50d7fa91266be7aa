"""Linkage reports: the list, running one (the default report comes from
``pulse_common.measures.REPORT_DEFAULTS``), one report's page and its downloads. The form
offers the predictors the service accepts, grouped and by name: employee constructs and the
internal-service measures (``internal.*``, how the teams a unit serves rate it); none ticked
is the default report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import errors
from pulse_common.measures import (
    CHAIN_CONSTRUCTS,
    INTERNAL_OUTCOMES,
    OUTCOMES,
    REPORT_DEFAULTS,
    TREATMENT_CONSTRUCTS,
    close_matches,
    human_name,
)
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.accounts import Account
from pulse_web.filters import checked_unit_and_periods
from pulse_web.form_errors import FormErrors, typed
from pulse_web.leader_notes import leader_note
from pulse_web.leader_page import render, units_for
from pulse_web.pages import error_page
from pulse_web.report_tables import report_zip
from pulse_web.report_view import alpha_rows, chart_payload, estimate_rows, fmt, script_json
from pulse_web.session import csrf_ok, current_account
from pulse_web.state import state_of
from pulse_web.words import (
    driver_name,
    format_p,
    item_label,
    metric_name,
    suppression_words,
)

# Report ids travel in paths: refuse anything else before asking the service.
REPORT_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# The default report's predictors (REPORT_DEFAULTS.predictors, the treatment constructs) as
# the request states them: none named, so the correlation service takes every treatment
# construct *with data in scope*. Naming all of them would drop every unit as soon as one
# construct has no answers there (a unit needs every predictor to enter the panel).
DEFAULT_PREDICTORS: tuple[str, ...] = ()
# The largest lag the form offers (the service allows more; beyond this, panels get thin).
MAX_LAG = 6
DOWNLOADS = {
    "csv": (corr_pb.EXPORT_FORMAT_CSV, "text/csv; charset=utf-8"),
    "json": (corr_pb.EXPORT_FORMAT_JSON, "application/json"),
}


FORM_FIELDS = ("scope", "from", "to", "outcome", "max_lag")
# The predictors the form offers, grouped as a leader reads them: (legend, codes).
PREDICTOR_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("How people are treated (employee survey)", TREATMENT_CONSTRUCTS),
    ("Engagement and how work is led (employee survey)", ("engagement", "enps", *CHAIN_CONSTRUCTS)),
    ("Internal customers: how the teams a unit serves rate its service", INTERNAL_OUTCOMES),
)
OFFERED_PREDICTORS = tuple(code for _, codes in PREDICTOR_GROUPS for code in codes)


@dataclass(frozen=True)
class PredictorChoice:
    """One checkbox of the form: the measure's code, its name, the input's id, ticked."""

    code: str
    name: str
    input_id: str
    checked: bool


def predictor_groups(chosen: tuple[str, ...]) -> list[tuple[str, list[PredictorChoice]]]:
    """(legend, choices) of each group. The first input's id is ``predictors``: the error
    summary links to it."""
    groups = []
    for index, (legend, codes) in enumerate(PREDICTOR_GROUPS):
        choices = [
            PredictorChoice(
                code,
                human_name(code),
                "predictors" if index == 0 and position == 0 else f"predictor-{code}",
                code in chosen,
            )
            for position, code in enumerate(codes)
        ]
        groups.append((legend, choices))
    return groups


def _predictors(values: list[str], outcome: str) -> tuple[str, ...]:
    """The ticked predictors, each one the form offers and none the outcome itself; none
    ticked is the default report's ``DEFAULT_PREDICTORS``."""
    chosen = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    for code in chosen:
        if code not in OFFERED_PREDICTORS:
            raise errors.InvalidArgument(
                "predictors",
                f"{code!r} is not one of the measures offered here",
            )
        if code == outcome:
            raise errors.InvalidArgument(
                "predictors", f"{human_name(code)} is the outcome; it cannot also predict it"
            )
    return chosen or DEFAULT_PREDICTORS


async def _form_page(
    request: Request,
    account: Account,
    typed: dict[str, str] | None = None,
    found: FormErrors | None = None,
    chosen: tuple[str, ...] = (),
) -> Response:
    """The list and the form: empty, or as sent with each problem beside its field (422)."""
    api = state_of(request).api()
    reply = await api.call(
        api.correlation.ListReports,
        corr_pb.ListReportsRequest(limit=50),
    )
    units = await units_for(request, account, "")
    values = typed or {
        "scope": "",
        "from": "",
        "to": "",
        "outcome": REPORT_DEFAULTS.outcome,
        "max_lag": str(REPORT_DEFAULTS.max_lag),
    }
    return render(
        request,
        "reports.html",
        {
            "reports": list(reply.reports),
            "units": units,
            "outcomes": OUTCOMES,
            "defaults": REPORT_DEFAULTS,
            "values": values,
            "predictor_groups": predictor_groups(chosen),
            "scope": values["scope"],
            "errors": found.by_field if found else {},
            "error_summary": found.summary() if found else [],
        },
        status=422 if found else 200,
    )


async def reports(request: Request) -> Response:
    return await _form_page(request, current_account(request))


def _max_lag(text: str | None) -> int:
    value = (text or "").strip() or "0"
    if not value.isdigit() or int(value) > MAX_LAG:
        raise errors.InvalidArgument("max_lag", f"must be a whole number from 0 to {MAX_LAG}")
    return int(value)


def _outcome(text: str) -> str:
    if text not in OUTCOMES:
        raise errors.InvalidArgument("outcome", close_matches(text, OUTCOMES))
    return text


async def run_report(request: Request) -> Response:
    account = current_account(request)
    form = await request.form(max_files=0, max_fields=20)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    ticked = [v for v in form.getlist("predictors") if isinstance(v, str)]
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the form expired; reload the page"))
    granularity = state_of(request).config.settings.period
    found = FormErrors()
    scope, period_from, period_to = checked_unit_and_periods(fields, "scope", granularity, found)
    outcome = found.check(lambda: _outcome(fields.get("outcome", REPORT_DEFAULTS.outcome)), "")
    max_lag = found.check(lambda: _max_lag(fields.get("max_lag", str(REPORT_DEFAULTS.max_lag))), 0)
    # None ticked: the default report (every treatment construct with data in scope).
    predictors = found.check(lambda: _predictors(ticked, outcome), DEFAULT_PREDICTORS)
    if scope:
        await found.check_async(units_for(request, account, scope))
    if not found:
        api = state_of(request).api()
        try:
            reply = await api.call(
                api.correlation.RunLinkageReport,
                corr_pb.RunLinkageReportRequest(
                    scope_unit_id=scope or account.scope_unit_id,
                    period_from=period_from,
                    period_to=period_to,
                    outcome=outcome,
                    predictors=predictors,
                    max_lag=max_lag,
                ),
            )
        except errors.InvalidArgument as error:
            found.add(_predictor_field(error))
        else:
            return RedirectResponse(f"/reports/{quote(reply.report.report_id)}", status_code=303)
    chosen = tuple(v for v in ticked if v in OFFERED_PREDICTORS)
    return await _form_page(request, account, typed(fields, FORM_FIELDS), found, chosen)


def _predictor_field(error: errors.InvalidArgument) -> errors.InvalidArgument:
    """The service names ``predictors[i]``; the form has one field for them all."""
    if error.field.startswith("predictors["):
        return errors.InvalidArgument("predictors", error.description)
    return error


def _report_id(request: Request) -> str:
    report_id = str(request.path_params["report_id"])
    if not REPORT_ID.match(report_id):
        raise errors.InvalidArgument("report_id", "is not valid")
    return report_id


async def _load_report(request: Request) -> tuple[Account, corr_pb.LinkageReport]:
    """The report, if the viewer may see it: the service's check, then the web's own."""
    account = current_account(request)
    api = state_of(request).api()
    reply = await api.call(
        api.correlation.GetReport,
        corr_pb.GetReportRequest(report_id=_report_id(request)),
    )
    await units_for(request, account, reply.report.scope_unit_id)
    return account, reply.report


async def item_labels(request: Request) -> dict[str, str]:
    """Item id -> "Measure: wording", for item-level drivers (never an item code)."""
    api = state_of(request).api()
    listing = await api.call(api.survey.ListItems, survey_pb.ListItemsRequest())
    return {i.item_id: item_label(i.construct, i.text) for i in listing.items}


async def report_page(request: Request) -> Response:
    _, report = await _load_report(request)
    predictor = request.query_params.get("predictor", "")
    items = await item_labels(request)
    payload = chart_payload(report, predictor, items)
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
            "alpha_rows": alpha_rows(
                (d.alpha for d in report.diagnostics if d.HasField("alpha")), items
            ),
            "driver_name": lambda name: driver_name(name, items),
            "metric_name": metric_name,
            "format_p": format_p,
            "suppression_words": suppression_words,
            "note": lambda text: leader_note(text, items),
        },
    )


async def report_export(request: Request) -> Response:
    report_id = _report_id(request)
    kind = request.path_params["kind"]
    if kind not in (*DOWNLOADS, "zip"):
        raise errors.NotFound("downloads exist as .zip, .csv and .json")
    _, report = await _load_report(request)  # also applies the web's own scope check
    export_format, default_type = DOWNLOADS["json" if kind == "zip" else kind]
    api = state_of(request).api()
    reply = await api.call(
        api.correlation.ExportReport,
        corr_pb.ExportReportRequest(report_id=report_id, format=export_format),
    )
    if kind == "zip":
        content = report_zip(report, await item_labels(request), reply.content)
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", f"report-{report_id}.zip")
        return Response(
            content,
            media_type="application/zip",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    filename = re.sub(r"[^A-Za-z0-9_.-]", "_", reply.filename or f"report-{report_id}.{kind}")
    return Response(
        reply.content,
        media_type=reply.content_type or default_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


routes = [
    Route("/reports", reports, methods=["GET"]),
    Route("/reports", run_report, methods=["POST"]),
    Route("/reports/{report_id}.{kind:str}", report_export, methods=["GET"]),
    Route("/reports/{report_id}", report_page, methods=["GET"]),
]
