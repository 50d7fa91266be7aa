"""Use cases that are not scores or linkage: ingestion totals and stored reports."""

from __future__ import annotations

import uuid

import asyncpg
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.errors import InvalidArgument, NotFound

from pulse_correlation import export
from pulse_correlation import repository as repo
from pulse_correlation.access import Viewer


async def ingestion_stats(pool: asyncpg.Pool) -> dict[str, int]:
    return await repo.ingestion_stats(pool)


def parse_report_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidArgument("report_id", "must be a report id (UUID)") from None


async def get_report(pool: asyncpg.Pool, viewer: Viewer, report_id: uuid.UUID) -> pb.LinkageReport:
    """Reports are readable by the viewer who ran them only: releasing one to another viewer
    would bypass that viewer's differencing ledger."""
    raw = await repo.get_report(pool, report_id, viewer.viewer_id)
    if raw is None:
        raise NotFound(f"report {report_id} not found")
    report = pb.LinkageReport()
    report.ParseFromString(raw)
    return report


async def list_reports(pool: asyncpg.Pool, viewer: Viewer, limit: int) -> list[pb.ReportSummary]:
    rows = await repo.list_reports(pool, viewer.viewer_id, limit)
    return [
        pb.ReportSummary(
            report_id=str(r["report_id"]),
            created_at=r["created_at"].isoformat(timespec="seconds"),
            scope_unit_id=r["scope_unit_id"],
            outcome=r["outcome"],
            verdict_level=r["verdict_level"],
            units_reported=r["units_reported"],
        )
        for r in rows
    ]


async def export_report(
    pool: asyncpg.Pool, viewer: Viewer, report_id: uuid.UUID, csv_format: bool
) -> pb.ExportReportResponse:
    report = await get_report(pool, viewer, report_id)
    if csv_format:
        return pb.ExportReportResponse(
            content_type="text/csv; charset=utf-8",
            content=export.to_csv(report),
            filename=f"linkage-report-{report_id}.csv",
        )
    return pb.ExportReportResponse(
        content_type="application/json",
        content=export.to_json(report),
        filename=f"linkage-report-{report_id}.json",
    )
