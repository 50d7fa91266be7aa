"""A linkage report as tidy tables (pure): one CSV per kind of observation, one row per
observation and one column per variable (Wickham 2014, "Tidy data", J. Stat. Softw. 59(10),
https://doi.org/10.18637/jss.v059.i10), with human column names, the codes in their own
columns, and a README that says what every column holds. Zipped with the report's JSON."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb

from pulse_web.exports import to_csv
from pulse_web.leader_notes import leader_note
from pulse_web.words import driver_name, measure_label, metric_name, suppression_words

# Column -> what it holds (the README's dictionary; every table's columns are listed here).
COLUMNS: dict[str, str] = {
    "Report id": "The report's id (as in its address).",
    "Created": "When the report was run (UTC, ISO 8601).",
    "Scope unit id": "The part of the organisation reported on; empty = whole organisation.",
    "From period": "First period included; empty = no lower bound.",
    "To period": "Last period included; empty = no upper bound.",
    "Outcome": "The customer outcome, by name.",
    "Outcome code": "The outcome's measure code.",
    "Units reported": "Units with enough answers to enter the report.",
    "Units suppressed": "Units left out to protect small groups.",
    "Minimum group size": "Fewest people a released figure may rest on.",
    "Verdict": "The report's overall reading (supported, weak, no evidence, ...).",
    "Verdict text": "The verdict in a sentence.",
    "Code version": "The version of Pulse that computed the report.",
    "Predictor": "The treatment measure, by name.",
    "Predictor code": "The treatment measure's code.",
    "Method": "How the correlation was estimated.",
    "r": "Correlation coefficient, -1 to 1; empty when not computable.",
    "Interval low": "Lower end of the 95 % interval; empty when not computable.",
    "Interval high": "Upper end of the 95 % interval; empty when not computable.",
    "p": "Two-sided p-value; empty when not computable.",
    "q": "p-value adjusted for the false discovery rate (Benjamini-Hochberg).",
    "Units": "Units (or unit-period pairs for lags) the estimate rests on.",
    "Note": "Why a value is missing or needs care, in words.",
    "Lag (periods)": "Positive: treatment leads the outcome; negative: the outcome leads.",
    "Driver": "A treatment measure or survey item, by name.",
    "Driver code": "The measure code or item id.",
    "Level": "construct (a measure) or item (one question).",
    "Measure": "A survey measure, by name.",
    "Measure code": "The measure's code.",
    "ICC(1)": "Share of answer variance between units.",
    "ICC(2)": "Reliability of one period's unit mean.",
    "rwg(j) mean": "Mean within-unit agreement.",
    "rwg(j) median": "Median within-unit agreement.",
    "Groups": "Units with answers.",
    "Mean group size": "Mean respondents per unit and period.",
    "Warnings": "Diagnostic warnings, in words, separated by ' | '.",
    "Metric": "A customer metric, by name.",
    "Metric code": "The metric's code.",
    "Value": "The metric's value on its own scale.",
    "Standard error": "Standard error of the value.",
    "Responses": "Answers the value rests on.",
    "Unit": "Unit name.",
    "Unit id": "Unit id.",
    "Predictor score": "The unit's treatment score (0 to 100).",
    "Outcome score": "The unit's outcome on its own scale.",
    "Employees": "Employee answers behind the unit's score.",
    "Customers": "Customer answers behind the unit's outcome.",
    "Reason": "Why the unit is not shown, in words.",
    "Reason code": "The suppression code.",
    "Caveat": "A caveat of the verdict, in words.",
}


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    header: tuple[str, ...]
    rows: list[list[str]]


def _num(value: float) -> str:
    """Full precision, empty for NaN or infinity (a spreadsheet reads it as missing)."""
    return repr(float(value)) if math.isfinite(value) else ""


def _estimate(e: corr_pb.Estimate) -> list[str]:
    return [_num(e.r), _num(e.ci_low), _num(e.ci_high), _num(e.p_value), str(e.n)]


def _estimates(report: corr_pb.LinkageReport) -> list[list[str]]:
    rows = []
    for link in report.linkages:
        head = [measure_label(link.predictor), link.predictor]
        named = [
            ("Pearson", link.pearson),
            ("Spearman", link.spearman),
            ("Bootstrap", link.bootstrap),
            ("Permutation", link.permutation),
            ("Repeated measures (within unit)", link.repeated_measures),
            ("Multilevel (units weighted by respondents)", link.multilevel),
        ]
        named += [
            (f"Partial (controlling {', '.join(map(measure_label, p.covariates))})", p.estimate)
            for p in link.partials
        ]
        for method, e in named:
            if e.method or e.n:
                rows.append([*head, method, *_estimate(e), leader_note(e.note)])
    return rows


def tables(report: corr_pb.LinkageReport, items: Mapping[str, str]) -> list[Table]:
    k = report.min_group_size
    verdict = report.verdict
    return [
        Table(
            "report",
            "The report: what it covers and its verdict (one row).",
            (
                "Report id",
                "Created",
                "Scope unit id",
                "From period",
                "To period",
                "Outcome",
                "Outcome code",
                "Units reported",
                "Units suppressed",
                "Minimum group size",
                "Verdict",
                "Verdict text",
                "Code version",
            ),
            [
                [
                    report.report_id,
                    report.created_at,
                    report.scope_unit_id,
                    report.period_from,
                    report.period_to,
                    measure_label(report.outcome),
                    report.outcome,
                    str(report.units_reported),
                    str(report.units_suppressed),
                    str(k),
                    verdict.level.replace("_", " "),
                    leader_note(verdict.text, items),
                    report.code_version,
                ]
            ],
        ),
        Table(
            "caveats",
            "The verdict's caveats, one per row.",
            ("Caveat",),
            [[leader_note(c, items)] for c in verdict.caveats],
        ),
        Table(
            "estimates",
            "One row per treatment measure and estimation method.",
            (
                "Predictor",
                "Predictor code",
                "Method",
                "r",
                "Interval low",
                "Interval high",
                "p",
                "Units",
                "Note",
            ),
            _estimates(report),
        ),
        Table(
            "lags",
            "Within-unit correlation by lag, one row per treatment measure and lag.",
            (
                "Predictor",
                "Predictor code",
                "Lag (periods)",
                "r",
                "Interval low",
                "Interval high",
                "p",
                "Units",
            ),
            [
                [
                    measure_label(link.predictor),
                    link.predictor,
                    str(lag.lag),
                    *_estimate(lag.estimate)[:4],
                    str(lag.units or lag.estimate.n),
                ]
                for link in report.linkages
                for lag in sorted(link.lags, key=lambda lag: lag.lag)
            ],
        ),
        Table(
            "drivers",
            "Each driver's correlation with the outcome across units.",
            ("Driver", "Driver code", "Level", "r", "Interval low", "Interval high", "q", "Units"),
            [
                [
                    driver_name(d.name, items),
                    d.name,
                    d.level,
                    *_estimate(d.estimate)[:3],
                    _num(d.q_value),
                    str(d.estimate.n),
                ]
                for d in report.drivers
            ],
        ),
        Table(
            "diagnostics",
            "Whether unit scores can be trusted, one row per measure.",
            (
                "Measure",
                "Measure code",
                "ICC(1)",
                "ICC(2)",
                "rwg(j) mean",
                "rwg(j) median",
                "Groups",
                "Mean group size",
                "Warnings",
            ),
            [
                [
                    measure_label(d.construct),
                    d.construct,
                    _num(d.icc1),
                    _num(d.icc2),
                    _num(d.rwg_j_mean),
                    _num(d.rwg_j_median),
                    str(d.n_groups),
                    _num(d.mean_group_size),
                    " | ".join(leader_note(w, items) for w in d.warnings),
                ]
                for d in report.diagnostics
            ],
        ),
        Table(
            "customer_metrics",
            "The customer metrics of the scope, one row per metric.",
            (
                "Metric",
                "Metric code",
                "Value",
                "Interval low",
                "Interval high",
                "Standard error",
                "Responses",
            ),
            [
                [
                    metric_name(m.metric, report.outcome),
                    m.metric,
                    _num(m.value),
                    _num(m.ci_low),
                    _num(m.ci_high),
                    _num(m.std_error),
                    str(m.n),
                ]
                for m in report.customer_metrics
            ],
        ),
        Table(
            "unit_points",
            "Each unit's scores, one row per treatment measure and unit (the scatter).",
            (
                "Predictor",
                "Predictor code",
                "Unit",
                "Unit id",
                "Predictor score",
                "Outcome score",
                "Employees",
                "Customers",
            ),
            [
                [
                    measure_label(link.predictor),
                    link.predictor,
                    p.unit_name or p.unit_id,
                    p.unit_id,
                    _num(p.predictor),
                    _num(p.outcome),
                    str(p.n_employees),
                    str(p.n_customers),
                ]
                for link in report.linkages
                for p in link.points
            ],
        ),
        Table(
            "suppressions",
            "Units left out to protect small groups, one row per unit.",
            ("Unit id", "Reason", "Reason code"),
            [[s.unit_id, suppression_words(s.reason, k), s.reason] for s in report.suppressions],
        ),
    ]


def readme(report: corr_pb.LinkageReport, found: Sequence[Table]) -> str:
    lines = [
        f"# Linkage report {report.report_id}",
        "",
        "Tidy tables: one CSV per kind of observation, one row per observation, one column",
        "per variable. Numbers are written in full precision; an empty number was not",
        "computable. report.json holds the whole report as the service stores it.",
        "",
    ]
    for table in found:
        lines += [f"## {table.name}.csv", "", table.description, ""]
        lines += [f"- {column}: {COLUMNS[column]}" for column in table.header]
        lines.append("")
    return "\n".join(lines)


def report_zip(
    report: corr_pb.LinkageReport, items: Mapping[str, str], report_json: bytes
) -> bytes:
    """README.md, report.json and one CSV per table, in a zip."""
    found = tables(report, items)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.md", readme(report, found))
        archive.writestr("report.json", report_json)
        for table in found:
            archive.writestr(f"{table.name}.csv", to_csv([list(table.header), *table.rows]))
    return buffer.getvalue()
