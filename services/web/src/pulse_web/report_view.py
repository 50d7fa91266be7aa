"""A linkage report as the page shows it: chart data (JSON for the static chart script) and
rows for the tables (pure)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import human_name

from pulse_web.fit import fit_with_band
from pulse_web.words import driver_name, format_p, scale_of, unit_word

LAG_NOTE = "negative lag: the outcome leads; positive lag: treatment leads"


def _or_gap(value: float) -> float | None:
    """A chart gap (JSON null) for NaN or infinity."""
    return value if math.isfinite(value) else None


def pick_linkage(report: corr_pb.LinkageReport, predictor: str) -> corr_pb.PredictorLinkage | None:
    for linkage in report.linkages:
        if linkage.predictor == predictor:
            return linkage
    with_points = [lk for lk in report.linkages if lk.points]
    if with_points:
        return with_points[0]
    return report.linkages[0] if report.linkages else None


def scatter_data(
    report: corr_pb.LinkageReport, linkage: corr_pb.PredictorLinkage
) -> dict[str, Any]:
    usable = [p for p in linkage.points if math.isfinite(p.predictor) and math.isfinite(p.outcome)]
    points = [{"x": p.predictor, "y": p.outcome, "label": p.unit_name or p.unit_id} for p in usable]
    level = report.options.confidence_level or 0.95
    band = fit_with_band([p.predictor for p in usable], [p.outcome for p in usable], level)
    data: dict[str, Any] = {
        "xLabel": f"{human_name(linkage.predictor)} ({unit_word(linkage.predictor)})",
        "yLabel": f"{human_name(report.outcome)} ({unit_word(report.outcome)})",
        "points": points,
        "fit": [],
        "lower": [],
        "upper": [],
        "bandLabel": f"{level * 100:.0f} % confidence band of the fit",
        # Axes end at the scales' ends (never "to 110").
        "xRange": scale_of(linkage.predictor),
        "yRange": scale_of(report.outcome),
    }
    if band is not None:
        data["fit"] = [{"x": x, "y": f} for x, f, _, _ in band.line]
        data["lower"] = [{"x": x, "y": lo} for x, _, lo, _ in band.line]
        data["upper"] = [{"x": x, "y": hi} for x, _, _, hi in band.line]
    return data


def lag_data(linkage: corr_pb.PredictorLinkage) -> dict[str, Any]:
    lags = sorted(linkage.lags, key=lambda lag: lag.lag)
    labels = []
    for lag in lags:
        who = (
            "outcome leads" if lag.lag < 0 else "treatment leads" if lag.lag > 0 else "same period"
        )
        labels.append(f"{lag.lag:+d} ({who})" if lag.lag else "0 (same period)")
    return {
        "labels": labels,
        "r": [_or_gap(lag.estimate.r) for lag in lags],
        "ci": [[_or_gap(lag.estimate.ci_low), _or_gap(lag.estimate.ci_high)] for lag in lags],
        "n": [lag.estimate.n for lag in lags],
        "note": LAG_NOTE,
    }


def driver_data(
    report: corr_pb.LinkageReport, items: Mapping[str, str] | None = None
) -> dict[str, Any]:
    drivers = sorted(
        report.drivers, key=lambda d: -abs(d.estimate.r) if math.isfinite(d.estimate.r) else 0
    )
    return {
        # Every bar is labelled by its measure's name; q goes to the tooltip and the table.
        "labels": [driver_name(d.name, items or {}) for d in drivers],
        "r": [_or_gap(d.estimate.r) for d in drivers],
        "ci": [[_or_gap(d.estimate.ci_low), _or_gap(d.estimate.ci_high)] for d in drivers],
        "q": [format_p(d.q_value) for d in drivers],
    }


def chart_payload(
    report: corr_pb.LinkageReport, predictor: str = "", items: Mapping[str, str] | None = None
) -> dict[str, Any]:
    linkage = pick_linkage(report, predictor)
    payload: dict[str, Any] = {"drivers": driver_data(report, items)}
    if linkage is not None:
        payload["predictor"] = linkage.predictor
        payload["scatter"] = scatter_data(report, linkage)
        payload["lags"] = lag_data(linkage)
    return payload


def script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script type="application/json"> element (no "</script>" breakout)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "not computable"


def estimate_row(label: str, estimate: corr_pb.Estimate) -> dict[str, str] | None:
    if not estimate.method and estimate.n == 0:
        return None
    return {
        "label": label,
        "r": fmt(estimate.r),
        "ci": f"{fmt(estimate.ci_low)} to {fmt(estimate.ci_high)}",
        "p": format_p(estimate.p_value),
        "n": str(estimate.n),
    }


def _names(codes: Iterable[str]) -> str:
    return ", ".join(human_name(code) for code in codes)


def estimate_rows(linkage: corr_pb.PredictorLinkage) -> list[dict[str, str]]:
    candidates = [
        ("Pearson", linkage.pearson),
        ("Spearman", linkage.spearman),
        ("Bootstrap", linkage.bootstrap),
        ("Permutation", linkage.permutation),
        ("Repeated measures (within unit)", linkage.repeated_measures),
        ("Multilevel (units weighted by respondents)", linkage.multilevel),
    ]
    rows = [estimate_row(label, est) for label, est in candidates]
    for partial in linkage.partials:
        rows.append(
            estimate_row(f"Partial (controlling {_names(partial.covariates)})", partial.estimate)
        )
    return [row for row in rows if row is not None]


def alpha_rows(
    found: Iterable[corr_pb.ConstructReliability], items: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """Cronbach's alpha per measure as a table shows it: alpha, Feldt interval, items and
    respondents, each corrected item-total correlation by the item's words, and the
    warnings (alpha under 0.7, weak items, cells left out)."""
    rows = []
    for r in found:
        totals = "; ".join(
            f"{driver_name(t.item_id, items or {})}: {fmt(t.r)}" for t in r.item_totals
        )
        rows.append(
            {
                "measure": human_name(r.construct),
                "alpha": fmt(r.alpha),
                "interval": f"{fmt(r.ci_low)} to {fmt(r.ci_high)}",
                "items": str(r.items),
                "n": str(r.n),
                "item_totals": totals or "not computed",
                "notes": "; ".join(r.warnings),
            }
        )
    return rows
