"""Chain report CSV export (JSON is ``export.to_json``): one section per table, not
computable is "nan"."""

from __future__ import annotations

import csv
import io

from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation.export import reliability_section, section

ESTIMATE = ["method", "r", "p_value", "ci_low", "ci_high", "n", "note"]


def _estimate(e: pb.Estimate) -> list[object]:
    return [e.method, e.r, e.p_value, e.ci_low, e.ci_high, e.n, e.note]


def to_csv(report: pb.ChainReport) -> bytes:
    """Sections: report, links, lags, indirect, reliability, verdict."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    section(
        w,
        "report",
        [
            "report_id",
            "created_at",
            "scope_unit_id",
            "period_from",
            "period_to",
            "service_measure",
            "mediator",
            "outcome",
            "units_reported",
            "serving_units",
            "unit_periods",
            "min_group_size",
            "code_version",
        ],
        [
            [
                report.report_id,
                report.created_at,
                report.scope_unit_id,
                report.period_from,
                report.period_to,
                report.service_measure,
                report.mediator,
                report.outcome,
                report.units_reported,
                report.serving_units,
                report.unit_periods,
                report.min_group_size,
                report.code_version,
            ]
        ],
    )
    section(
        w,
        "links",
        ["path", *ESTIMATE, "beta"],
        [[link.path, *_estimate(link.estimate), link.beta] for link in report.links],
    )
    section(
        w,
        "lags",
        ["path", "lag", *ESTIMATE],
        [
            [link.path, lag.lag, *_estimate(lag.estimate)]
            for link in report.links
            for lag in link.lags
        ],
    )
    section(w, "indirect", ESTIMATE, [_estimate(report.indirect)])
    reliability_section(w, report.reliability)
    v = report.verdict
    section(
        w,
        "verdict",
        ["level", "text", "caveats"],
        [[v.level, v.text, " | ".join(v.caveats)]],
    )
    return out.getvalue().encode()
