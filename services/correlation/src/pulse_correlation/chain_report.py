"""RunChainReport: the dated org and "serves" links, the three measures' aggregates, the
panel of served units (cells of at least k only), the chain statistics and the report.

Reads only aggregates, O(units x periods); only estimates are released (no unit values), so
no differencing ledger entry is needed. The report is stored like a linkage report (readable
by every viewer whose scope holds its scope, ``reports``)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.measures import CUSTOMER, EMPLOYEE, INTERNAL, Population

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation import report_repository as reports_repo
from pulse_correlation import serves_repository as serves_repo
from pulse_correlation.access import Viewer, as_of, resolve_scope
from pulse_correlation.aggregates import ConstructRow, Sums, measure_key
from pulse_correlation.chain import analyse_chain
from pulse_correlation.chain_model import (
    ChainCells,
    ChainRequest,
    ServesLink,
    build_panel,
    servers_by_period,
)
from pulse_correlation.chain_pb import ChainIdentity, chain_message
from pulse_correlation.confidentiality import effective_k
from pulse_correlation.context import Deps
from pulse_correlation.org import OrgSnapshot
from pulse_correlation.reliability import construct_reliability


def _cells(
    rows: Iterable[ConstructRow], org: OrgSnapshot, population: Population, construct: str
) -> dict[tuple[str, str], Sums]:
    found: dict[tuple[str, str], Sums] = defaultdict(Sums)
    for r in rows:
        if r.population == population and r.construct == construct:
            found[(org.canonical(r.unit_id), r.period)].add(r.n, r.sum, r.sumsq)
    return dict(found)


async def run_chain_report(deps: Deps, request: ChainRequest, viewer: Viewer) -> pb.ChainReport:
    measures = (request.service_measure, request.mediator, request.outcome)
    async with deps.db.connection() as conn:
        versions = await org_repo.load_org(conn)
        links = await serves_repo.load_links(conn)
        rows = await aggregates_repo.construct_rows(
            conn, request.period_from, request.period_to, list(measures)
        )
        measure_k = await aggregates_repo.measure_ks(conn)
        items = await aggregates_repo.item_rows(
            conn, request.period_from, request.period_to, list(measures)
        )
    scope = resolve_scope(
        versions,
        as_of(request.period_to, deps.today()),
        (r.unit_id for r in rows),
        viewer,
        request.scope_unit_id,
    )
    org = scope.org
    keys = (
        measure_key(INTERNAL, request.service_measure),
        measure_key(EMPLOYEE, request.mediator),
        measure_key(CUSTOMER, request.outcome),
    )
    ks = [effective_k(deps.k, measure_k, key) for key in keys]
    cells = ChainCells(
        service=_cells(rows, org, INTERNAL, request.service_measure),
        mediator=_cells(rows, org, EMPLOYEE, request.mediator),
        outcome=_cells(rows, org, CUSTOMER, request.outcome),
        k_service=ks[0],
        k_mediator=ks[1],
        k_outcome=ks[2],
    )
    periods = sorted({r.period for r in rows})
    canonical_links = [
        ServesLink(
            org.canonical(link.serving_unit_id),
            org.canonical(link.served_unit_id),
            link.valid_from,
            link.valid_to,
        )
        for link in links
    ]
    servers = servers_by_period(canonical_links, periods)
    in_scope = scope.units()
    panel = build_panel(cells, (u for u in in_scope if u), servers)
    result = await asyncio.to_thread(analyse_chain, panel, request.max_lag, request.options)
    level = request.options.confidence_level
    # Alpha over the scope's cells (the serving units' service wherever they sit).
    scoped_rows = [
        r for r in rows if r.population == INTERNAL or org.canonical(r.unit_id) in in_scope
    ]
    scoped_items = [
        r
        for r in items
        if r.construct in {request.service_measure} or org.canonical(r.unit_id) in in_scope
    ]
    reliability = [
        found
        for construct, k in zip(measures, ks, strict=True)
        if (found := construct_reliability(construct, scoped_rows, scoped_items, k, level))
        is not None
    ]
    identity = ChainIdentity(
        report_id=str(uuid.uuid4()),
        created_at=deps.now().isoformat(timespec="seconds"),
        scope_unit_id=scope.root,
        serving_units=len(panel.serving_units),
        min_group_size=max(ks),
    )
    report = chain_message(request, result, identity, reliability)
    async with deps.db.unit_of_work() as uow:
        await reports_repo.insert_report(
            uow.conn,
            reports_repo.CHAIN,
            report,
            viewer_id=viewer.viewer_id,
            viewer_scope=viewer.scope_unit_id,
            inputs=asdict(request),
        )
    return report
