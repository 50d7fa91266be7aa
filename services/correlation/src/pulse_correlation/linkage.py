"""RunLinkageReport: aggregates -> released analysis units -> unit table -> report, stored.

Analysis units are disjoint (``confidentiality.partition_units``): a unit whose employees on
any predictor, or customers on the outcome, number fewer than k over the range joins its
parent. Each released unit's predictor and outcome values are then ledgered for the viewer
(differencing rule); a unit the ledger refuses is dropped (``differencing``). Panel cells
(unit, period) enter lags, cross-lagged and repeated-measures estimates only when that
period's predictor and outcome each have at least k respondents. An NPS outcome's panel
value is the cell's NPS from its promoter/passive/detractor counts. k is per measure
(``confidentiality.effective_k``): the deployment's, or more if a survey feeding the measure
promised more; the report states the largest k applied.

Cost: everything reads the (unit, period[, item]) aggregates, O(units x periods x items),
independent of the number of responses; r_wg(j) comes from the per-item n, sums and sums of
squares (``pulse_stats.rwg_j_from_summaries``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import pulse_stats
from google.protobuf import json_format
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.events.v1 import events_pb2
from pulse_common import outbox, subjects

from pulse_correlation import repository as repo
from pulse_correlation.access import Viewer, load_org, resolve_scope
from pulse_correlation.confidentiality import (
    DIFFERENCING,
    Group,
    Ledger,
    Tree,
    cell_id,
    effective_k,
    make_group,
    partition_units,
)
from pulse_correlation.domain import (
    EMPLOYEE,
    INTERNAL_PREFIX,
    TREATMENT_PREFIX,
    is_nps_construct,
    outcome_population,
    period_index,
)
from pulse_correlation.org import OrgSnapshot
from pulse_correlation.report import Options, PanelRow, RwgInput, UnitTable, build_report
from pulse_correlation.version import code_version

STRUCTURAL_COVARIATES = ("unit_size", "unit_type", "channel_mix")


@dataclass(frozen=True)
class ReportRequest:
    viewer: Viewer
    scope_unit_id: str
    period_from: str
    period_to: str
    predictors: list[str]
    outcome: str
    max_lag: int
    covariates: list[str]
    options: Options


@dataclass
class _Stat:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, n: int, total: float, squares: float) -> None:
        self.n += n
        self.total += total
        self.squares += squares

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan


async def run_report(
    pool: asyncpg.Pool, k: int, request: ReportRequest, relay_notify: object
) -> pb.LinkageReport:
    async with repo.transaction(pool) as conn:
        report, groups = await _compute(conn, k, request)
        await repo.record_groups(conn, request.viewer.viewer_id, groups, "report")
        report_id = uuid.UUID(report.report_id)
        await repo.insert_report(
            conn,
            report_id=report_id,
            viewer_id=request.viewer.viewer_id,
            viewer_scope=request.viewer.scope_unit_id,
            scope_unit_id=report.scope_unit_id,
            outcome=request.outcome,
            verdict_level=report.verdict.level,
            units_reported=report.units_reported,
            created_at=dt.datetime.fromisoformat(report.created_at),
            code_version=report.code_version,
            inputs=_inputs(request),
            report_json=json_format.MessageToJson(report, indent=None),
            report_pb=report.SerializeToString(),
        )
        await outbox.enqueue(
            conn,
            subjects.REPORT_READY,
            events_pb2.ReportReady(
                report_id=report.report_id,
                scope_unit_id=report.scope_unit_id,
                outcome=report.outcome,
                created_at=report.created_at,
            ),
            msg_id=f"report:{report.report_id}",
        )
    if callable(relay_notify):
        relay_notify()
    return report


def _inputs(request: ReportRequest) -> dict[str, object]:
    return {
        "viewer_id": request.viewer.viewer_id,
        "viewer_scope": request.viewer.scope_unit_id,
        "scope_unit_id": request.scope_unit_id,
        "period_from": request.period_from,
        "period_to": request.period_to,
        "predictors": request.predictors,
        "outcome": request.outcome,
        "max_lag": request.max_lag,
        "covariates": request.covariates,
        "options": vars(request.options),
    }


async def _compute(
    conn: asyncpg.Connection, base_k: int, request: ReportRequest
) -> tuple[pb.LinkageReport, list[Group]]:
    org = await load_org(conn, request.period_to)
    rows = await repo.construct_rows(conn, request.period_from, request.period_to, None)
    org = org.with_units(org.canonical(r.unit_id) for r in rows)
    scope = resolve_scope(org, request.viewer, request.scope_unit_id)
    tree = Tree(scope, org.subtree_parents(scope))
    in_scope = set(tree.units())
    outcome, out_pop = request.outcome, outcome_population(request.outcome)

    # (construct) -> (unit, period) -> stats, units already mapped through merges.
    stats: dict[str, dict[tuple[str, str], _Stat]] = defaultdict(lambda: defaultdict(_Stat))
    employee_constructs: set[str] = set()
    for r in rows:
        unit = org.canonical(r.unit_id)
        if unit not in in_scope:
            continue
        stats[r.construct][(unit, r.period)].add(r.n, r.sum, r.sumsq)
        if r.population == EMPLOYEE:
            employee_constructs.add(r.construct)
    predictors = request.predictors or sorted(
        c for c in employee_constructs if c.startswith(TREATMENT_PREFIX)
    )
    notes: list[str] = []
    if not predictors:
        notes.append("no treatment construct has data in scope")
    measures = {p: f"{EMPLOYEE}:{p}" for p in predictors}
    measures[outcome] = f"{out_pop}:{outcome}"
    nps_construct = INTERNAL_PREFIX + "nps" if out_pop != "customer" else "nps"
    all_measures = {*measures.values(), f"{out_pop}:{nps_construct}"}
    measure_k = await repo.measure_ks(conn)
    k_of = {m: effective_k(base_k, measure_k, m) for m in all_measures}
    k_construct = {c: k_of[m] for c, m in measures.items()}
    own: dict[str, dict[str, int]] = defaultdict(dict)
    for construct, measure in measures.items():
        for (unit, _), s in stats[construct].items():
            own[unit][measure] = own[unit].get(measure, 0) + s.n
    partition = partition_units(tree, own, sorted(set(measures.values())), k_of)

    # Ledger: every released unit point, per measure, then the scope totals.
    await repo.lock_viewer(conn, request.viewer.viewer_id)
    ledger = Ledger(
        base_k,
        await repo.released_groups(conn, request.viewer.viewer_id, all_measures),
        measure_k,
    )
    already = len(ledger.released)
    periods = sorted({p for c in stats.values() for (_, p) in c})
    suppressions = dict(partition.reasons)
    released: dict[str, list[str]] = {}
    for root, members in sorted(partition.members.items()):
        groups = [
            make_group(
                measure,
                {
                    cell_id(m, p): stats[c][(m, p)].n
                    for m in members
                    for p in periods
                    if (m, p) in stats[c]
                },
            )
            for c, measure in measures.items()
        ]
        if all(ledger.allows(g) for g in groups):
            for g in groups:
                ledger.release(g)
            released[root] = members
        else:
            suppressions[root] = DIFFERENCING
    units = sorted(released)

    table = UnitTable(
        units=units,
        names={u: org.name(u) for u in units},
        outcome=outcome,
        predictors=predictors,
        x={},
        n_x={},
        y=[],
        n_y=[],
        items={},
        covariates={},
        panel=[],
        icc_inputs={},
        rwg_inputs={},
        nps_counts=None,
        top2=None,
        outcome_totals=None,
        max_lag=request.max_lag,
        suppressions=sorted(suppressions.items()),
        notes=notes,
    )

    def unit_stat(construct: str, unit: str, only: str | None = None) -> _Stat:
        total = _Stat()
        for member in released[unit]:
            for period in [only] if only else periods:
                s = stats[construct].get((member, period))
                if s is not None:
                    total.add(s.n, s.total, s.squares)
        return total

    # Item rows give NPS categories (per unit and per unit-period), top-2-box counts,
    # item-level drivers and the per-item sums r_wg(j) needs.
    treatment_items: dict[str, str] = {}
    item_stats: dict[str, dict[str, _Stat]] = defaultdict(lambda: defaultdict(_Stat))
    item_scale: dict[str, tuple[int, int]] = {}
    categories: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    period_nps: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    rwg_constructs = {*predictors, outcome}
    rwg_stats: dict[str, dict[tuple[str, str], _Stat]] = defaultdict(lambda: defaultdict(_Stat))
    rwg_options: dict[str, dict[str, int]] = defaultdict(dict)  # construct -> item -> A
    member_of = {m: u for u, ms in released.items() for m in ms}
    wanted = sorted({*employee_constructs, *predictors, outcome, nps_construct})
    for i in await repo.item_rows(conn, request.period_from, request.period_to, wanted):
        owner = member_of.get(org.canonical(i.unit_id))
        if owner is None:
            continue
        if i.construct.startswith(TREATMENT_PREFIX):
            treatment_items[i.item_id] = i.construct
            item_stats[i.item_id][owner].add(i.n, i.sum, i.sumsq)
            item_scale[i.item_id] = (i.scale_min, i.scale_max)
        if i.construct in rwg_constructs:
            rwg_stats[i.construct][(owner, i.item_id)].add(i.n, i.sum, i.sumsq)
            rwg_options[i.construct][i.item_id] = i.scale_max - i.scale_min + 1
        if i.construct in (outcome, nps_construct):
            cat = categories[(i.construct, owner)]
            cat[0] += i.promoters
            cat[1] += i.passives
            cat[2] += i.detractors
            if (i.scale_min, i.scale_max) != (0, 10):
                cat[3] += i.top2
                cat[4] += i.n
            if i.construct == outcome:
                per_period = period_nps[(owner, i.period)]
                per_period[0] += i.promoters
                per_period[1] += i.passives
                per_period[2] += i.detractors

    for construct in sorted(employee_constructs | set(predictors)):
        table.x[construct] = [unit_stat(construct, u).mean for u in units]
        table.n_x[construct] = [unit_stat(construct, u).n for u in units]
    if is_nps_construct(outcome):
        for u in units:
            p, pa, d = categories[(outcome, u)][:3]
            table.y.append(pulse_stats.nps_from_counts(p, pa, d).nps if p + pa + d else math.nan)
    else:
        table.y = [unit_stat(outcome, u).mean for u in units]
    table.n_y = [unit_stat(outcome, u).n for u in units]
    for item_id, construct in sorted(treatment_items.items()):
        low, high = item_scale[item_id]
        values = []
        for u in units:
            found = item_stats[item_id].get(u)
            values.append(
                (found.mean - low) / (high - low) * 100 if found and found.n else math.nan
            )
        table.items[item_id] = (construct, values)

    await _covariates(conn, table, request, org, released, units, out_pop)

    def outcome_cell(unit: str, period: str) -> tuple[int, float]:
        """(respondents, value) of the outcome in one unit-period: mean, or NPS."""
        s = unit_stat(outcome, unit, period)
        if not is_nps_construct(outcome):
            return s.n, s.mean
        p, pa, d = period_nps[(unit, period)]
        return s.n, (pulse_stats.nps_from_counts(p, pa, d).nps if p + pa + d else math.nan)

    _panel(table, predictors, units, periods, k_construct, unit_stat, outcome_cell)
    for construct in [*predictors, outcome]:
        per_unit = [unit_stat(construct, u) for u in units]
        if any(s.n for s in per_unit):
            table.icc_inputs[construct] = (
                [s.n for s in per_unit if s.n],
                [s.total for s in per_unit if s.n],
                [s.squares for s in per_unit if s.n],
            )
        table.rwg_inputs[construct] = _rwg_input(
            units, rwg_stats[construct], rwg_options[construct]
        )

    # Scope-level customer metrics: the union of released units, ledgered like any group.
    outcome_total = make_group(
        f"{out_pop}:{outcome}",
        {
            cell_id(m, p): stats[outcome][(m, p)].n
            for u in units
            for m in released[u]
            for p in periods
            if (m, p) in stats[outcome]
        },
    )
    if units and ledger.release(outcome_total):
        totals = _Stat()
        for u in units:
            s = unit_stat(outcome, u)
            totals.add(s.n, s.total, s.squares)
        table.outcome_totals = (totals.n, totals.total, totals.squares)
        cats = [sum(categories[(outcome, u)][j] for u in units) for j in range(5)]
        if is_nps_construct(outcome):
            table.nps_counts = (cats[0], cats[1], cats[2])
        elif cats[4]:
            table.top2 = (cats[3], cats[4])
    elif units:
        notes.append("scope-level customer metrics withheld (differencing rule)")
    if not is_nps_construct(outcome) and units:
        nps_group = make_group(
            f"{out_pop}:{nps_construct}",
            {
                cell_id(m, p): stats[nps_construct][(m, p)].n
                for u in units
                for m in released[u]
                for p in periods
                if (m, p) in stats[nps_construct]
            },
        )
        if nps_group.n >= k_of[nps_group.measure] and ledger.release(nps_group):
            counts = [sum(categories[(nps_construct, u)][j] for u in units) for j in range(3)]
            table.nps_counts = (counts[0], counts[1], counts[2])

    # CPU-bound resampling runs off the event loop so consumers and RPCs keep flowing.
    report = await asyncio.to_thread(build_report, table, request.options)
    report.report_id = str(uuid.uuid4())
    report.created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report.scope_unit_id = scope
    report.period_from = request.period_from
    report.period_to = request.period_to
    report.max_lag = request.max_lag
    report.covariates.extend(request.covariates)
    report.min_group_size = max(k_of.values())
    report.code_version = code_version()
    report.viewer_id = request.viewer.viewer_id
    report.options.CopyFrom(
        pb.LinkageOptions(
            bootstrap_resamples=request.options.bootstrap_resamples,
            permutation_resamples=request.options.permutation_resamples,
            confidence_level=request.options.confidence_level,
            method=request.options.method,
            random_seed=request.options.random_seed,
        )
    )
    return report, ledger.released[already:]


async def _covariates(
    conn: asyncpg.Connection,
    table: UnitTable,
    request: ReportRequest,
    org: OrgSnapshot,
    released: dict[str, list[str]],
    units: list[str],
    out_pop: str,
) -> None:
    for name in request.covariates:
        if name == "unit_size":
            sizes = [
                max(table.n_x[p][i] for p in table.predictors) if table.predictors else 0
                for i in range(len(units))
            ]
            table.covariates[name] = [math.log(s) if s > 0 else math.nan for s in sizes]
        elif name == "unit_type":
            table.covariates[name] = [1.0 if org.front_line(u) else 0.0 for u in units]
        elif name == "channel_mix":
            by_unit: dict[str, Counter[str]] = {u: Counter() for u in units}
            member_of = {m: u for u, ms in released.items() for m in ms}
            for unit_id, _, channel, n in await repo.channel_rows(
                conn, out_pop, request.period_from, request.period_to
            ):
                owner = member_of.get(org.canonical(unit_id))
                if owner is not None:
                    by_unit[owner][channel] += n
            table.covariates[name] = [
                max(c.values()) / sum(c.values()) if c else math.nan
                for c in (by_unit[u] for u in units)
            ]
        elif name in table.x:
            table.covariates[name] = list(table.x[name])
        else:
            table.notes.append(f"covariate {name} has no data in scope")


def _panel(
    table: UnitTable,
    predictors: Sequence[str],
    units: Sequence[str],
    periods: Sequence[str],
    k: Mapping[str, int],
    stat: Callable[[str, str, str | None], _Stat],
    outcome_cell: Callable[[str, str], tuple[int, float]],
) -> None:
    """Unit-period points whose outcome and at least one predictor reach their k."""
    for u in units:
        for period in periods:
            n_y, y = outcome_cell(u, period)
            if n_y < k[table.outcome] or not math.isfinite(y):
                continue
            xs = {}
            for p in predictors:
                s = stat(p, u, period)
                if s.n >= k[p]:
                    xs[p] = s.mean
            if xs:
                table.panel.append(PanelRow(u, period, period_index(period), xs, y))


def _rwg_input(
    units: Sequence[str], sums: Mapping[tuple[str, str], _Stat], options: Mapping[str, int]
) -> RwgInput:
    """Per released unit and item: answers, sum and sum of squares over the range, for the
    items on the construct's most used scale (r_wg(j) needs one null distribution)."""
    if not options:
        return RwgInput([], [], [], 2)
    answers: Counter[int] = Counter()
    for (_, item_id), s in sums.items():
        answers[options[item_id]] += s.n
    n_options = answers.most_common(1)[0][0]
    items = sorted(i for i, a in options.items() if a == n_options)
    n, total, squares = [], [], []
    for u in units:
        cells = [sums.get((u, i)) for i in items]
        if not any(c is not None and c.n for c in cells):
            continue
        n.append([c.n if c else 0 for c in cells])
        total.append([c.total if c else 0.0 for c in cells])
        squares.append([c.squares if c else 0.0 for c in cells])
    return RwgInput(n, total, squares, n_options)
