"""The unit mapping a linkage report shares between its steps (``report_cells.ScopeRows``)
and a frozen decision's row atoms as codes (``report_partition.row_atoms``), issue 20."""

from __future__ import annotations

from pulse_common.measures import EMPLOYEE
from pulse_correlation.access import Scope
from pulse_correlation.aggregates import ConstructRow
from pulse_correlation.confidentiality import Tree
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, UnitInfo
from pulse_correlation.releases import FrozenPeriod, decide
from pulse_correlation.report_cells import ScopeRows, period_columns
from pulse_correlation.report_partition import row_atoms

FAIR = "treatment.fairness"


def _org() -> OrgSnapshot:
    units = {u: UnitInfo(u, p, u, "") for u, p in {"A": ORG_ROOT, "B": "A", "C": "A"}.items()}
    return OrgSnapshot(units, {"old": "B"})


def test_scope_rows_resolve_merged_units_and_mark_units_outside() -> None:
    org = _org()
    scope = Scope(org, "A", Tree("A", org.subtree_parents("A")))
    rows_of = ScopeRows(scope)
    assert rows_of.units == ["A", "B", "C"]
    ids = ["C", "old", "elsewhere", "A"]
    assert rows_of(ids).tolist() == [2, 1, -1, 0]
    assert rows_of(ids) is rows_of(ids)  # remembered per list
    assert rows_of(list(ids)) is rows_of(ids)  # and per vocabulary
    assert not rows_of(ids).flags.writeable
    flags = rows_of.flags({"B"})
    assert flags is not None
    assert flags.tolist() == [False, True, False]
    assert rows_of.flags({"elsewhere"}) is None


def test_row_atoms_are_the_distinct_pairs_in_row_order_and_kept_with_the_period() -> None:
    rows = [
        ConstructRow(u, "2026-01", FAIR, EMPLOYEE, n, 50.0 * n, 2600.0 * n)
        for u, n in [("C", 9), ("B", 2), ("C", 1), ("A", 8), ("B", 0)]
    ]
    frozen = FrozenPeriod("2026-01", _org(), rows, [])
    decision = decide(frozen, 5)[FAIR]
    table = row_atoms(frozen, decision)
    assert table is row_atoms(frozen, decision)
    pairs = zip(table.unit.tolist(), table.atom.tolist(), strict=True)
    atoms = [None, *dict.fromkeys(a for _, a in decision.row_atoms if a is not None)]
    assert [(table.units[u], atoms[a]) for u, a in pairs] == list(dict.fromkeys(decision.row_atoms))
    assert table.units is period_columns(frozen).units  # one mapping per period and report
