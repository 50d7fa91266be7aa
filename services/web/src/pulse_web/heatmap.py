"""Heatmap table model: rows are units, columns periods, one table per construct; colour is
a light diverging scale in 11 steps under dark text (contrast >= 7:1), never the only cue:
every cell prints its value or, in words, why it is not shown. Steps are CSS classes
(``heat-0`` .. ``heat-10`` in static/style.css) because the content security policy forbids
inline styles (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import is_nps

from pulse_web.org import natural_key
from pulse_web.words import short_suppression, suppression_words

LOW = (0xEF, 0x9F, 0x94)  # light red
MID = (0xF5, 0xF5, 0xF0)  # near white
HIGH = (0x86, 0xCB, 0x99)  # light green
STEPS = 10


def value_range(construct: str) -> tuple[float, float]:
    """Scale of the released value: NPS runs -100..100, top-2-box 0..1, the rest 0..100."""
    if is_nps(construct):
        return -100.0, 100.0
    if construct.endswith("top2box"):
        return 0.0, 1.0
    return 0.0, 100.0


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def step_for(value: float, low: float, high: float) -> int:
    """Colour step 0..STEPS of ``value`` on [low, high] (clamped)."""
    if high <= low:
        return STEPS // 2
    t = min(1.0, max(0.0, (value - low) / (high - low)))
    return round(t * STEPS)


def step_colour(step: int) -> str:
    """Background of a step: light red (0) - near white (middle) - light green (STEPS)."""
    t = step / STEPS
    return _mix(LOW, MID, t * 2) if t < 0.5 else _mix(MID, HIGH, (t - 0.5) * 2)


def stylesheet_rules() -> str:
    """The CSS rules static/style.css must contain (a test keeps them in sync)."""
    return "\n".join(f".heat-{i} {{ background: {step_colour(i)}; }}" for i in range(STEPS + 1))


NO_DATA = "no answers from this unit in this period"


@dataclass(frozen=True)
class LegendEntry:
    css_class: str
    sample: str
    text: str


def legend(construct: str) -> list[LegendEntry]:
    """What the colours and signs of a heatmap mean: three steps of the scale with their
    values, the empty cell and the hidden one."""
    low, high = value_range(construct)
    mid = (low + high) / 2
    return [
        LegendEntry("heat-0", format_value(construct, low), "lowest on the scale (red)"),
        LegendEntry(f"heat-{STEPS // 2}", format_value(construct, mid), "middle (near white)"),
        LegendEntry(f"heat-{STEPS}", format_value(construct, high), "highest (green)"),
        LegendEntry("heat-none", "–", NO_DATA),
        LegendEntry(
            "heat-suppressed", "too few responses", "hidden so that nobody can be picked out"
        ),
    ]


@dataclass
class HeatCell:
    text: str
    # Spoken/hover description (suppression stated in words).
    description: str
    css_class: str
    suppressed: bool = False


@dataclass
class HeatRow:
    unit_id: str
    unit_name: str
    cells: list[HeatCell] = field(default_factory=list)


@dataclass
class HeatTable:
    construct: str
    periods: list[str]
    rows: list[HeatRow]

    @property
    def legend(self) -> list[LegendEntry]:
        return legend(self.construct)


def format_value(construct: str, value: float) -> str:
    if construct.endswith("top2box"):
        return f"{value * 100:.0f} %"
    return f"{value:.0f}"


def build_tables(
    cells: Iterable[corr_pb.ScoreCell],
    min_group_size: int,
    unit_order: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> list[HeatTable]:
    """One table per construct; rows follow ``unit_order`` (the org tree), then by name;
    ``names`` names units a reason mentions (the parent a small unit is counted in)."""
    rank = {unit_id: i for i, unit_id in enumerate(unit_order)}
    by_construct: dict[str, list[corr_pb.ScoreCell]] = {}
    for cell in cells:
        by_construct.setdefault(cell.construct, []).append(cell)
    tables = []
    for construct in sorted(by_construct):
        group = by_construct[construct]
        periods = sorted({c.period for c in group})
        units: dict[str, str] = {}
        for member in group:
            units.setdefault(member.unit_id, member.unit_name or member.unit_id)
        lookup = {(m.unit_id, m.period): m for m in group}
        low, high = value_range(construct)
        rows = []
        order = sorted(units, key=lambda u: (rank.get(u, len(rank)), natural_key(units[u]), u))
        for unit_id in order:
            row = HeatRow(unit_id, units[unit_id])
            for period in periods:
                c = lookup.get((unit_id, period))
                if c is None:
                    row.cells.append(HeatCell("–", NO_DATA, "heat-none"))
                elif c.suppressed:
                    row.cells.append(
                        HeatCell(
                            short_suppression(c.suppression_reason),
                            suppression_words(
                                c.suppression_reason, min_group_size, {**units, **(names or {})}
                            ),
                            "heat-suppressed",
                            suppressed=True,
                        )
                    )
                else:
                    text = format_value(construct, c.value)
                    note = " (rolled up from small teams)" if c.rolled_up else ""
                    row.cells.append(
                        HeatCell(
                            text,
                            f"{text}, n = {c.n}, interval {format_value(construct, c.ci_low)}"
                            f" to {format_value(construct, c.ci_high)}{note}",
                            f"heat-{step_for(c.value, low, high)}",
                        )
                    )
            rows.append(row)
        tables.append(HeatTable(construct, periods, rows))
    return tables
