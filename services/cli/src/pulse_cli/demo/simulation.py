"""The people and their encounters, as numbers: team sizes, employees with turnover, every
invited employee's answers per monthly wave, and the customer interactions with their
answers. Pure numpy, no I/O, deterministic per seed; ``generator`` turns it into records.

Interactions per front-line team and month are Poisson with a mean proportional to team size
and exp(0.25 W): busy teams serve more customers (the observable side of the confounder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pulse_common.periods import Period

from pulse_cli.demo.answers import Scores, item_scores
from pulse_cli.demo.config import DemoConfig, SizePreset
from pulse_cli.demo.items import ItemBank
from pulse_cli.demo.latent import Design, Latent, simulate_latent
from pulse_cli.demo.org import serving_rows, team_regions

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

CHANNELS = ("ticket", "call", "visit", "chat")
# Channel mix per front-line division (stores, contact centre, field service, ...), cycled.
CHANNEL_MIX = (
    (0.15, 0.15, 0.60, 0.10),
    (0.25, 0.45, 0.00, 0.30),
    (0.30, 0.30, 0.30, 0.10),
)
WORKLOAD_INTENSITY = 0.25


@dataclass(frozen=True)
class Core:
    """Everything numeric; records (ids, dates, strings) are built from it by ``generate``."""

    team_size: IntArray
    team_front: BoolArray
    design: Design
    latent: Latent
    # Employees: team, start and end day (ordinal; end -1 = still employed).
    emp_team: IntArray
    emp_start: IntArray
    emp_end: IntArray
    # Employee answers of everyone invited (eligible at the wave's opening), all periods.
    ans_emp: IntArray
    ans_period: IntArray
    ans_responds: BoolArray
    ans_scores: Scores
    # Interactions, in time order.
    int_team: IntArray
    int_period: IntArray
    int_second: IntArray  # seconds since the first generated month began
    int_channel: IntArray
    int_customer: IntArray
    int_responds: BoolArray
    int_sampled: BoolArray  # the Monte Carlo's stand-in for the service's sampling
    int_scores: Scores


def _team_sizes(rng: np.random.Generator, n: int, mean: float, minimum: int) -> IntArray:
    extra = mean - minimum
    shape = 1.0 / 0.4**2  # coefficient of variation 0.4 of the random part
    return (minimum + rng.poisson(rng.gamma(shape, extra / shape, n))).astype(np.int64)


def _employees(
    rng: np.random.Generator, config: DemoConfig, sizes: IntArray, periods: tuple[Period, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    first = periods[0].start.toordinal()
    team = np.repeat(np.arange(sizes.size), sizes)
    start = first - rng.integers(30, 8 * 365, team.size)
    end = np.full(team.size, -1, dtype=np.int64)
    teams, starts, ends = [team], [start], [end]
    window_end = periods[-1].end.toordinal()
    for period in periods:
        all_team = np.concatenate(teams)
        all_end = np.concatenate(ends)
        all_start = np.concatenate(starts)
        month0, days = period.start.toordinal(), (period.end - period.start).days + 1
        active = np.flatnonzero((all_end < 0) & (all_start <= month0))
        leaving = active[rng.random(active.size) < config.monthly_turnover]
        leave_day = month0 + rng.integers(0, days, leaving.size)
        all_end[leaving] = leave_day
        hire_day = leave_day + 1 + rng.integers(0, 21, leaving.size)
        hired = hire_day <= window_end
        teams = [all_team, all_team[leaving][hired]]
        starts = [all_start, hire_day[hired]]
        ends = [all_end, np.full(int(hired.sum()), -1, dtype=np.int64)]
    return np.concatenate(teams), np.concatenate(starts), np.concatenate(ends)


def design_of(config: DemoConfig, sizes: IntArray) -> Design:
    """Where the planted structure sits: the reverse region's teams, who serves whom, and
    the two teams that take an action (the largest front-line teams outside the reverse
    region: the one that works, then the one that does not)."""
    preset = config.preset
    n_front = preset.front_line_teams
    reversed_teams = np.zeros(sizes.size, dtype=bool)
    reversed_teams[:n_front] = [r == config.reverse_region for r in team_regions(preset)]
    candidates = [
        int(t) for t in np.argsort(-sizes[:n_front], kind="stable") if not reversed_teams[t]
    ]
    return Design(
        n_front=n_front,
        serving=np.asarray(serving_rows(preset), dtype=np.int64),
        reversed_teams=reversed_teams,
        action_works=candidates[0] if candidates else -1,
        action_fails=candidates[1] if len(candidates) > 1 else -1,
    )


def simulate(config: DemoConfig, seed: int, bank: ItemBank) -> Core:
    """Everything numeric of ``config`` for ``seed`` (identical for identical arguments)."""
    preset = config.preset
    periods = config.months()
    # Independent streams per part: changing one part's size never reshuffles another.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    org_rng, latent_rng, emp_rng, ans_rng, int_rng, cus_rng = streams
    n_front, n_back = preset.front_line_teams, preset.back_office_teams
    sizes = _team_sizes(org_rng, n_front + n_back, preset.mean_team_size, preset.min_team_size)
    front = np.arange(n_front + n_back) < n_front
    design = design_of(config, sizes)
    latent = simulate_latent(latent_rng, config, design)
    employee_constructs = [slot.construct for slot in bank.employee]

    emp_team, emp_start, emp_end = _employees(emp_rng, config, sizes, periods)
    trait = ans_rng.standard_normal(emp_team.size)
    a_emp, a_period, a_resp, a_scores = [], [], [], []
    for index, period in enumerate(periods):
        opens = period.start.toordinal()
        eligible = np.flatnonzero((emp_start <= opens) & ((emp_end < 0) | (emp_end >= opens)))
        persistence = config.person_persistence
        person = math.sqrt(persistence) * trait[eligible] + math.sqrt(
            1.0 - persistence
        ) * ans_rng.standard_normal(eligible.size)
        unit = latent.employee_latent(index, employee_constructs)[emp_team[eligible]]
        a_scores.append(
            item_scores(
                unit, person, bank.employee, config.icc_treatment, config.person_share, ans_rng
            )
        )
        a_emp.append(eligible)
        a_period.append(np.full(eligible.size, index, dtype=np.int64))
        a_resp.append(ans_rng.random(eligible.size) < config.employee_response_rate)

    # Interactions: Poisson per front-line team and month, busier under higher workload.
    base = preset.interactions / (config.periods * float(sizes[:n_front].sum()))
    intensity = np.exp(
        WORKLOAD_INTENSITY * latent.workload[:n_front, config.lag_periods :]
        - WORKLOAD_INTENSITY**2 / 2
    )
    counts = int_rng.poisson(base * sizes[:n_front, None] * intensity)
    team_of = np.repeat(np.repeat(np.arange(n_front), config.periods), counts.ravel())
    period_of = np.repeat(np.tile(np.arange(config.periods), n_front), counts.ravel())
    origin = periods[0].start.toordinal()
    month_start = np.array([(p.start.toordinal() - origin) * 86400 for p in periods])
    month_days = np.array([(p.end - p.start).days + 1 for p in periods])
    day = (int_rng.random(team_of.size) * month_days[period_of]).astype(np.int64)
    second = month_start[period_of] + day * 86400 + int_rng.integers(8 * 3600, 19 * 3600, day.size)
    order = np.argsort(second, kind="stable")
    team_of, period_of, second = team_of[order], period_of[order], second[order]
    division = _front_division(n_front, preset)
    channel = np.empty(team_of.size, dtype=np.int64)
    draws = int_rng.random(team_of.size)
    for d in range(preset.front_line_divisions):
        mask = division[team_of] == d
        cumulative = np.cumsum(CHANNEL_MIX[d % len(CHANNEL_MIX)])
        channel[mask] = np.minimum(np.searchsorted(cumulative, draws[mask]), len(CHANNELS) - 1)
    customer = int_rng.integers(0, preset.customers, team_of.size)
    responds = int_rng.random(team_of.size) < config.customer_response_rate
    sampled = int_rng.random(team_of.size) < config.customer_sample_rate
    mood = cus_rng.standard_normal(team_of.size)
    outcome = latent.outcome[team_of, period_of]
    scores = item_scores(
        outcome, mood, bank.customer, config.icc_customer, config.person_share, cus_rng
    )
    return Core(
        team_size=sizes,
        team_front=front,
        design=design,
        latent=latent,
        emp_team=emp_team,
        emp_start=emp_start,
        emp_end=emp_end,
        ans_emp=np.concatenate(a_emp),
        ans_period=np.concatenate(a_period),
        ans_responds=np.concatenate(a_resp),
        ans_scores=np.concatenate(a_scores),
        int_team=team_of,
        int_period=period_of,
        int_second=second,
        int_channel=channel,
        int_customer=customer,
        int_responds=responds,
        int_sampled=sampled,
        int_scores=scores,
    )


def _front_division(n_front: int, preset: SizePreset) -> IntArray:
    """Division of each front-line team: departments of ``teams_per_department`` teams are
    dealt to the front-line divisions in turn."""
    department = np.arange(n_front) // preset.teams_per_department
    return (department % preset.front_line_divisions).astype(np.int64)
