"""SQL of stored linkage reports: each is kept as run (protobuf and JSON), readable by the
viewer who ran it only."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.db import Connection


@dataclass(frozen=True)
class StoredReportSummary:
    report_id: uuid.UUID
    created_at: dt.datetime
    scope_unit_id: str
    outcome: str
    verdict_level: str
    units_reported: int


async def insert_report(
    conn: Connection,
    report: pb.LinkageReport,
    *,
    viewer_scope: str,
    inputs: dict[str, Any],
) -> None:
    """Store ``report`` with the request that produced it (``inputs``)."""
    await conn.execute(
        "INSERT INTO reports (report_id, viewer_id, viewer_scope, scope_unit_id, outcome,"
        " verdict_level, units_reported, created_at, code_version, inputs, report_json,"
        " report_pb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)",
        uuid.UUID(report.report_id),
        report.viewer_id,
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
    conn: Connection, report_id: uuid.UUID, viewer_id: str
) -> pb.LinkageReport | None:
    raw = await conn.fetchval(
        "SELECT report_pb FROM reports WHERE report_id = $1 AND viewer_id = $2",
        report_id,
        viewer_id,
    )
    if raw is None:
        return None
    report = pb.LinkageReport()
    report.ParseFromString(bytes(raw))
    return report


async def list_reports(conn: Connection, viewer_id: str, limit: int) -> list[StoredReportSummary]:
    rows = await conn.fetch(
        "SELECT report_id, created_at, scope_unit_id, outcome, verdict_level, units_reported"
        " FROM reports WHERE viewer_id = $1 ORDER BY created_at DESC, report_id LIMIT $2",
        viewer_id,
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
