"""SQL of stored reports, linkage (``reports``) and chain (``chain_reports``): each is kept
as run (protobuf and JSON) with the scope it covers. Who may read one is decided by the
caller (``reports``) from the scope: this module selects by report id or scope unit only."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf import json_format
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.db import Connection

Report = TypeVar("Report", pb.LinkageReport, pb.ChainReport)


@dataclass(frozen=True)
class ReportKind(Generic[Report]):
    """Where a kind of report is stored and how it reads back."""

    name: str  # "linkage" | "chain"
    table: str
    message: type[Report]


LINKAGE = ReportKind("linkage", "reports", pb.LinkageReport)
CHAIN = ReportKind("chain", "chain_reports", pb.ChainReport)


@dataclass(frozen=True)
class StoredReportSummary:
    report_id: uuid.UUID
    created_at: dt.datetime
    scope_unit_id: str
    outcome: str
    verdict_level: str
    units_reported: int


@dataclass(frozen=True)
class StoredReport(Generic[Report]):
    report: Report
    scope_unit_id: str


async def insert_report(
    conn: Connection,
    kind: ReportKind[Report],
    report: Report,
    *,
    viewer_id: str,
    viewer_scope: str,
    inputs: dict[str, Any],
) -> None:
    """Store ``report`` with who ran it and the request that produced it (``inputs``)."""
    await conn.execute(
        f"INSERT INTO {kind.table} (report_id, viewer_id, viewer_scope, scope_unit_id, outcome,"
        " verdict_level, units_reported, created_at, code_version, inputs, report_json,"
        " report_pb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)",
        uuid.UUID(report.report_id),
        viewer_id,
        viewer_scope,
        report.scope_unit_id,
        report.outcome,
        report.verdict.level,
        report.units_reported,
        dt.datetime.fromisoformat(report.created_at),
        report.code_version,
        json.dumps(inputs),
        json_format.MessageToJson(report, indent=None),
        report.SerializeToString(),
    )


async def get_report(
    conn: Connection, kind: ReportKind[Report], report_id: uuid.UUID
) -> StoredReport[Report] | None:
    row = await conn.fetchrow(
        f"SELECT report_pb, scope_unit_id FROM {kind.table} WHERE report_id = $1", report_id
    )
    if row is None:
        return None
    report = kind.message()
    report.ParseFromString(bytes(row["report_pb"]))
    return StoredReport(report, str(row["scope_unit_id"]))


async def report_scopes(conn: Connection, kind: ReportKind[Report]) -> list[str]:
    """Every scope unit some stored report covers."""
    rows = await conn.fetch(f"SELECT DISTINCT scope_unit_id FROM {kind.table}")
    return [str(r["scope_unit_id"]) for r in rows]


async def list_reports(
    conn: Connection, kind: ReportKind[Report], scopes: Collection[str] | None, limit: int
) -> list[StoredReportSummary]:
    """Reports on any of ``scopes`` (None = every report), newest first."""
    rows = await conn.fetch(
        "SELECT report_id, created_at, scope_unit_id, outcome, verdict_level, units_reported"
        f" FROM {kind.table} WHERE ($1::text[] IS NULL OR scope_unit_id = ANY($1::text[]))"
        " ORDER BY created_at DESC, report_id LIMIT $2",
        None if scopes is None else sorted(scopes),
        limit,
    )
    return [
        StoredReportSummary(
            report_id=r["report_id"],
            created_at=r["created_at"],
            scope_unit_id=r["scope_unit_id"],
            outcome=r["outcome"],
            verdict_level=r["verdict_level"],
            units_reported=r["units_reported"],
        )
        for r in rows
    ]
