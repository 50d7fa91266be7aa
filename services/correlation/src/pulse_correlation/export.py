"""Report exports: JSON (the proto's canonical JSON; a number that is not computable is
"NaN") and CSV (one section per table; not computable is "nan")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format
from pulse.correlation.v1 import correlation_service_pb2 as pb


def to_json(report: pb.LinkageReport | pb.ChainReport) -> bytes:
    return json_format.MessageToJson(report, indent=2, preserving_proto_field_name=True).encode()


def _estimate(e: pb.Estimate) -> list[object]:
    return [e.method, e.r, e.p_value, e.ci_low, e.ci_high, e.n, e.note]


def section(
    writer: Any,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    writer.writerow([f"# {name}"])
    writer.writerow(list(header))
    writer.writerows(rows)
    writer.writerow([])


def reliability_section(writer: Any, found: Iterable[pb.ConstructReliability]) -> None:
    """Cronbach's alpha with Feldt's interval per construct, then each corrected item-total
    correlation on its own row (``item_id`` set, alpha columns empty)."""
    rows: list[list[object]] = []
    for c in found:
        rows.append(
            [
                c.construct,
                "",
                c.alpha,
                c.ci_low,
                c.ci_high,
                c.items,
                c.n,
                "",
                " | ".join(c.warnings),
            ]
        )
        rows.extend([c.construct, t.item_id, "", "", "", "", "", t.r, ""] for t in c.item_totals)
    section(
        writer,
        "reliability",
        [
            "construct",
            "item_id",
            "alpha",
            "ci_low",
            "ci_high",
            "items",
            "n",
            "item_total_r",
            "warnings",
        ],
        rows,
    )


def to_csv(report: pb.LinkageReport) -> bytes:
    """Sections: report, estimates, lags, tests, direction, partials, drivers, diagnostics,
    reliability, customer_metrics, unit_points, suppressions, power, verdict."""
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
            "outcome",
            "units_reported",
            "units_suppressed",
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
                report.outcome,
                report.units_reported,
                report.units_suppressed,
                report.min_group_size,
                report.code_version,
            ]
        ],
    )
    head = ["method", "r", "p_value", "ci_low", "ci_high", "n", "note"]
    estimates: list[list[object]] = []
    for link in report.linkages:
        for kind in (
            "pearson",
            "spearman",
            "bootstrap",
            "permutation",
            "repeated_measures",
            "multilevel",
        ):
            if link.HasField(kind):
                estimates.append([link.predictor, kind, *_estimate(getattr(link, kind))])
        d = link.disattenuation
        estimates.append(
            [link.predictor, "disattenuated", "pearson", d.r, "", d.ci_low, d.ci_high, "", d.note]
        )
        estimates.append(
            [link.predictor, "units_needed", "", "", "", "", "", link.units_needed, ""]
        )
    section(w, "estimates", ["predictor", "estimate", *head], estimates)
    section(
        w,
        "lags",
        ["predictor", "lag", *head, "units"],
        [
            [lk.predictor, lag.lag, *_estimate(lag.estimate), lag.units]
            for lk in report.linkages
            for lag in lk.lags
        ],
    )
    section(
        w,
        "tests",
        ["predictor", "source", "lag", "r", "p_value", "adjusted_p_value"],
        [
            [lk.predictor, t.source, t.lag, t.r, t.p_value, t.adjusted_p_value]
            for lk in report.linkages
            for t in lk.tests
        ],
    )
    section(
        w,
        "direction",
        [
            "predictor",
            "leader",
            "forward",
            "backward",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
            "adjusted_p_value",
            "units",
            "note",
        ],
        [
            [
                lk.predictor,
                lk.direction.leader,
                lk.direction.forward,
                lk.direction.backward,
                lk.direction.difference,
                lk.direction.ci_low,
                lk.direction.ci_high,
                lk.direction.p_value,
                lk.direction.adjusted_p_value,
                lk.direction.units,
                lk.direction.note,
            ]
            for lk in report.linkages
        ],
    )
    section(
        w,
        "partials",
        ["predictor", "covariates", *head],
        [
            [lk.predictor, "+".join(p.covariates), *_estimate(p.estimate)]
            for lk in report.linkages
            for p in lk.partials
        ],
    )
    section(
        w,
        "drivers",
        ["name", "level", *head, "q_value"],
        [[d.name, d.level, *_estimate(d.estimate), d.q_value] for d in report.drivers],
    )
    section(
        w,
        "diagnostics",
        [
            "construct",
            "icc1",
            "icc2",
            "rwg_j_mean",
            "rwg_j_median",
            "n_groups",
            "mean_group_size",
            "reliability",
            "periods",
            "single_item",
            "warnings",
        ],
        [
            [
                d.construct,
                d.icc1,
                d.icc2,
                d.rwg_j_mean,
                d.rwg_j_median,
                d.n_groups,
                d.mean_group_size,
                d.reliability,
                d.periods,
                d.single_item,
                " | ".join(d.warnings),
            ]
            for d in report.diagnostics
        ],
    )
    reliability_section(w, (d.alpha for d in report.diagnostics if d.HasField("alpha")))
    section(
        w,
        "customer_metrics",
        ["metric", "value", "ci_low", "ci_high", "n", "std_error"],
        [
            [m.metric, m.value, m.ci_low, m.ci_high, m.n, m.std_error]
            for m in report.customer_metrics
        ],
    )
    section(
        w,
        "unit_points",
        [
            "predictor",
            "unit_id",
            "unit_name",
            "predictor_value",
            "outcome_value",
            "n_employees",
            "n_customers",
        ],
        [
            [
                lk.predictor,
                p.unit_id,
                p.unit_name,
                p.predictor,
                p.outcome,
                p.n_employees,
                p.n_customers,
            ]
            for lk in report.linkages
            for p in lk.points
        ],
    )
    section(
        w,
        "suppressions",
        ["unit_id", "reason"],
        [[s.unit_id, s.reason] for s in report.suppressions],
    )
    power = report.power
    section(
        w,
        "power",
        ["smallest_effect", "units", "power", "units_needed", "alpha"],
        [[power.smallest_effect, power.units, power.power, power.units_needed, power.alpha]],
    )
    v = report.verdict
    section(
        w,
        "verdict",
        ["level", "leader", "linked", "text", "caveats"],
        [[v.level, v.leader, " | ".join(v.linked), v.text, " | ".join(v.caveats)]],
    )
    return out.getvalue().encode()
