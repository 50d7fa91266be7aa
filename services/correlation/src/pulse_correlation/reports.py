"""Stored reports and ingestion totals: the reads that are neither scores nor a new report.

Reports within a scope are shared (issue 15): a report, whoever ran it, is readable by every
viewer whose scope holds the report's scope in today's org; a report on the whole
organisation only by viewers of the whole organisation. This is safe because what a report
releases does not depend on who asked (deterministic releases, issue 13). A report outside
the viewer's scope reads as not found, so its existence is not disclosed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.db import Connection
from pulse_common.errors import NotFound

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import chain_export, export
from pulse_correlation import org_repository as org_repo
from pulse_correlation import report_repository as reports_repo
from pulse_correlation.access import Viewer
from pulse_correlation.aggregate_repository import IngestionStats
from pulse_correlation.context import Deps
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, snapshot
from pulse_correlation.report_repository import (
    CHAIN,
    LINKAGE,
    Report,
    ReportKind,
    StoredReportSummary,
)


@dataclass(frozen=True)
class ExportedReport:
    content_type: str
    content: bytes
    filename: str


def may_read(org: OrgSnapshot, viewer: Viewer, report_scope: str) -> bool:
    """True when the viewer's scope holds ``report_scope`` (pure; module doc)."""
    if not viewer.scope_unit_id:
        return True
    org = org.with_units(u for u in (report_scope, viewer.scope_unit_id) if u)
    root = org.canonical(viewer.scope_unit_id)
    scope = org.canonical(report_scope) if report_scope else ORG_ROOT
    return scope != ORG_ROOT and org.is_within(scope, root)


async def _org(deps: Deps, conn: Connection) -> OrgSnapshot:
    return snapshot(await org_repo.load_org(conn), deps.today())


async def ingestion_stats(deps: Deps) -> IngestionStats:
    async with deps.db.connection() as conn:
        return await aggregates_repo.ingestion_stats(conn)


async def read_report(
    deps: Deps, kind: ReportKind[Report], viewer: Viewer, report_id: uuid.UUID
) -> Report:
    """The stored report when the viewer may read it; NotFound otherwise."""
    async with deps.db.connection() as conn:
        stored = await reports_repo.get_report(conn, kind, report_id)
        if stored is None or not may_read(await _org(deps, conn), viewer, stored.scope_unit_id):
            raise NotFound(f"report {report_id} not found")
    return stored.report


async def get_report(deps: Deps, viewer: Viewer, report_id: uuid.UUID) -> pb.LinkageReport:
    return await read_report(deps, LINKAGE, viewer, report_id)


async def get_chain_report(deps: Deps, viewer: Viewer, report_id: uuid.UUID) -> pb.ChainReport:
    return await read_report(deps, CHAIN, viewer, report_id)


async def list_of(
    deps: Deps, kind: ReportKind[Report], viewer: Viewer, limit: int
) -> list[StoredReportSummary]:
    """The reports the viewer may read, newest first."""
    async with deps.db.connection() as conn:
        if not viewer.scope_unit_id:
            return await reports_repo.list_reports(conn, kind, None, limit)
        org = await _org(deps, conn)
        scopes = [
            s for s in await reports_repo.report_scopes(conn, kind) if may_read(org, viewer, s)
        ]
        return await reports_repo.list_reports(conn, kind, scopes, limit)


async def list_reports(deps: Deps, viewer: Viewer, limit: int) -> list[StoredReportSummary]:
    return await list_of(deps, LINKAGE, viewer, limit)


async def list_chain_reports(deps: Deps, viewer: Viewer, limit: int) -> list[StoredReportSummary]:
    return await list_of(deps, CHAIN, viewer, limit)


async def export_report(
    deps: Deps, viewer: Viewer, report_id: uuid.UUID, csv_format: bool
) -> ExportedReport:
    """A linkage or chain report (found by id in either store) as CSV or JSON."""
    try:
        linkage = await get_report(deps, viewer, report_id)
    except NotFound:
        chain = await get_chain_report(deps, viewer, report_id)
        if csv_format:
            return ExportedReport(
                "text/csv; charset=utf-8",
                chain_export.to_csv(chain),
                f"chain-report-{report_id}.csv",
            )
        return ExportedReport(
            "application/json", export.to_json(chain), f"chain-report-{report_id}.json"
        )
    if csv_format:
        return ExportedReport(
            "text/csv; charset=utf-8", export.to_csv(linkage), f"linkage-report-{report_id}.csv"
        )
    return ExportedReport(
        "application/json", export.to_json(linkage), f"linkage-report-{report_id}.json"
    )
