"""The demo's organisation and people as records: a company of divisions, departments and
teams (``hierarchy``), the reorganisation half-way (``reorganisation``), and the records the
driver sends (units, moves, employees). Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from pulse_common.periods import Period

from pulse_cli.demo.config import DemoConfig, SizePreset

DIVISION_NAMES = ("Stores", "Contact Centre", "Field Service", "Online", "Partners")
REGIONS = ("North", "South", "East", "West", "Central", "Coast", "Valley", "Metro")
BACK_OFFICE_NAMES = ("Finance", "IT", "HR", "Logistics", "Procurement", "Legal")


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    parent_id: str  # "" for the company
    unit_type: str  # a name of pulse_cli.enums.UNIT_TYPES: management, front_line, back_office


@dataclass(frozen=True)
class Move:
    """The reorganisation: ``unit_id`` reports to ``parent_id`` from ``effective_from``."""

    unit_id: str
    parent_id: str
    previous_parent_id: str
    effective_from: date
    period: int  # position of effective_from's month in DemoConfig.months()


@dataclass(frozen=True)
class Employee:
    employee_id: str
    email: str
    unit_id: str
    start_date: date
    end_date: date | None


def hierarchy(preset: SizePreset) -> tuple[list[Unit], list[str]]:
    """Company -> divisions -> departments -> teams; returns the units (parents first) and
    the team ids (front-line first)."""
    units = [Unit("ORG", "Pulse Demo Company", "", "management")]
    for d in range(preset.front_line_divisions):
        units.append(
            Unit(f"D-{d + 1}", DIVISION_NAMES[d % len(DIVISION_NAMES)], "ORG", "management")
        )
    units.append(Unit("D-BO", "Operations", "ORG", "management"))
    teams: list[str] = []
    per = preset.teams_per_department
    n_front_departments = math.ceil(preset.front_line_teams / per)
    departments = []
    for p in range(n_front_departments):
        division = f"D-{p % preset.front_line_divisions + 1}"
        region = REGIONS[(p // preset.front_line_divisions) % len(REGIONS)]
        name = f"{DIVISION_NAMES[p % preset.front_line_divisions % len(DIVISION_NAMES)]} {region}"
        if p // preset.front_line_divisions >= len(REGIONS):
            name += f" {p // preset.front_line_divisions // len(REGIONS) + 1}"
        departments.append(Unit(f"P-{p + 1:02d}", name, division, "management"))
    n_back_departments = math.ceil(preset.back_office_teams / per)
    for q in range(n_back_departments):
        name = BACK_OFFICE_NAMES[q % len(BACK_OFFICE_NAMES)]
        departments.append(Unit(f"P-{n_front_departments + q + 1:02d}", name, "D-BO", "management"))
    units.extend(departments)
    for t in range(preset.front_line_teams):
        department = departments[t // per]
        team_id = f"T-{t + 1:03d}"
        teams.append(team_id)
        units.append(
            Unit(team_id, f"{department.name} team {t % per + 1}", department.unit_id, "front_line")
        )
    for b in range(preset.back_office_teams):
        department = departments[n_front_departments + b // per]
        team_id = f"T-{preset.front_line_teams + b + 1:03d}"
        teams.append(team_id)
        units.append(
            Unit(
                team_id, f"{department.name} team {b % per + 1}", department.unit_id, "back_office"
            )
        )
    return units, teams


def team_regions(preset: SizePreset) -> list[str]:
    """The region of each front-line team (its department's, as ``hierarchy`` names it)."""
    per, divisions = preset.teams_per_department, preset.front_line_divisions
    return [
        REGIONS[((t // per) // divisions) % len(REGIONS)] for t in range(preset.front_line_teams)
    ]


def serving_rows(preset: SizePreset) -> list[int]:
    """Per front-line team, the team row (``hierarchy``'s team order) of the back-office team
    that serves it: back-office teams take the front line in turn."""
    n_front, n_back = preset.front_line_teams, preset.back_office_teams
    return [n_front + t % n_back for t in range(n_front)] if n_back else []


def reorganisation(
    rng: np.random.Generator, config: DemoConfig, units: list[Unit], months: tuple[Period, ...]
) -> list[Move]:
    """A share (``reorg_share``) of the front-line teams moves to another department of the
    same division (any other, when the division has one department) in month ``reorg_at``."""
    front = [u for u in units if u.unit_type == "front_line"]
    departments = {u.unit_id: u for u in units if u.unit_id.startswith("P-")}
    front_departments = sorted({u.parent_id for u in front})
    movers = rng.choice(len(front), size=round(config.reorg_share * len(front)), replace=False)
    moves = []
    when = months[config.reorg_at]
    for index in sorted(int(i) for i in movers):
        team = front[index]
        division = departments[team.parent_id].parent_id
        same_division = [
            d
            for d in front_departments
            if d != team.parent_id and departments[d].parent_id == division
        ]
        options = same_division or [d for d in front_departments if d != team.parent_id]
        if not options:
            continue
        target = options[int(rng.integers(0, len(options)))]
        moves.append(Move(team.unit_id, target, team.parent_id, when.start, config.reorg_at))
    return moves
