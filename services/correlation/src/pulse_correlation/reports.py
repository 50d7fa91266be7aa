"""Stored reports and ingestion totals: the reads that are neither scores nor a new report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.errors import NotFound

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import export
from pulse_correlation import report_repository as reports_repo
from pulse_correlation.access import Viewer
from pulse_correlation.aggregate_repository import IngestionStats
from pulse_correlation.context import Deps
from pulse_correlation.report_repository import StoredReportSummary


@dataclass(frozen=True)
class ExportedReport:
    content_type: str
    content: bytes
    filename: str


async def ingestion_stats(deps: Deps) -> IngestionStats:
    async with deps.db.connection() as conn:
        return await aggregates_repo.ingestion_stats(conn)


async def get_report(deps: Deps, viewer: Viewer, report_id: uuid.UUID) -> pb.LinkageReport:
    """Reports are readable by the viewer who ran them only: releasing one to another viewer
    would bypass that viewer's differencing ledger."""
    async with deps.db.connection() as conn:
        report = await reports_repo.get_report(conn, report_id, viewer.viewer_id)
    if report is None:
        raise NotFound(f"report {report_id} not found")
    return report


async def list_reports(deps: Deps, viewer: Viewer, limit: int) -> list[StoredReportSummary]:
    """The viewer's reports, newest first."""
    async with deps.db.connection() as conn:
        return await reports_repo.list_reports(conn, viewer.viewer_id, limit)


async def export_report(
    deps: Deps, viewer: Viewer, report_id: uuid.UUID, csv_format: bool
) -> ExportedReport:
    report = await get_report(deps, viewer, report_id)
    if csv_format:
        return ExportedReport(
            "text/csv; charset=utf-8", export.to_csv(report), f"linkage-report-{report_id}.csv"
        )
    return ExportedReport(
        "application/json", export.to_json(report), f"linkage-report-{report_id}.json"
    )
