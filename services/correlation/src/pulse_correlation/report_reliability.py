"""Cronbach's alpha of a linkage report's multi-item measures, pure: pooled over the cells
of the report's released units only, each cell of at least the measure's k people
(``reliability.construct_reliability``), so alpha reads nothing the report does not
release and never an individual answer."""

from __future__ import annotations

from pulse_common.measures import is_nps

from pulse_correlation.reliability import ConstructReliability, construct_reliability
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_release import Release


def linkage_reliability(
    data: ReportData, release: Release, level: float
) -> dict[str, ConstructReliability]:
    """Alpha per predictor and outcome with at least two items, by construct."""
    released = set(release.owner_of)
    org = data.scope.org
    rows = [r for r in data.rows if org.canonical(r.unit_id) in released]
    items = [i for i in data.items if org.canonical(i.unit_id) in released]
    found: dict[str, ConstructReliability] = {}
    for construct, measure in data.measures.by_construct.items():
        if is_nps(construct):  # one 0-10 item by definition
            continue
        reliability = construct_reliability(construct, rows, items, release.k_of[measure], level)
        if reliability is not None:
            found[construct] = reliability
    return found
