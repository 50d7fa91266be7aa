"""A realistic organisation with a planted truth, as the records the driver sends: pure,
no I/O, deterministic per seed. The parts: ``config`` (sizes and the truth), ``latent`` (the
unit-level model), ``answers`` (latent values to item scores), ``simulation`` (people and
interactions as numbers), ``org`` (units and the reorganisation), ``observed`` (what a
report sees, and ``expected_observed_r``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pulse_common.fields import rfc3339
from pulse_common.periods import Period

from pulse_cli.demo.answers import construct_scores
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.items import DEFAULT_BANK, ItemBank
from pulse_cli.demo.latent import Design, FloatArray, Latent
from pulse_cli.demo.observed import UnitMeans, unit_means
from pulse_cli.demo.org import Employee, Move, Unit, hierarchy, reorganisation
from pulse_cli.demo.simulation import CHANNELS, Core, IntArray, simulate

POSITIVE = (
    "The team was friendly and quick.",
    "Thanks, that was really helpful.",
    "Great support, problem solved.",
    "Clear and kind explanation.",
)
NEGATIVE = (
    "I had to wait far too long.",
    "Nobody seemed to own my problem.",
    "Staff looked overworked.",
    "I was passed around between people.",
)
EMPLOYEE_COMMENTS = (
    "More people on the busy shifts.",
    "Better tools for the counter.",
    "More feedback from my manager.",
    "Fewer last-minute schedule changes.",
)


@dataclass(frozen=True)
class EmployeeAnswer:
    employee: int  # index into Organisation.employees
    period: int
    scores: tuple[int, ...]  # ItemBank.employee order
    comment: str


@dataclass(frozen=True)
class Interaction:
    interaction_id: str
    unit_id: str
    occurred_at: str  # RFC 3339, UTC
    channel: str
    customer_key: str
    contact: str
    period: int
    responds: bool
    scores: tuple[int, ...]  # ItemBank.customer order
    comment: str


@dataclass(frozen=True)
class Organisation:
    config: DemoConfig
    seed: int
    bank: ItemBank
    periods: tuple[Period, ...]  # DemoConfig.months(); a record's period is a position here
    units: tuple[Unit, ...]  # parents before children
    teams: tuple[str, ...]  # row order of ``latent``
    moves: tuple[Move, ...]
    employees: tuple[Employee, ...]
    # Per period: how many employees are on the roster when its wave opens.
    eligible: tuple[int, ...]
    answers: tuple[EmployeeAnswer, ...]  # of those who respond
    interactions: tuple[Interaction, ...]  # in time order
    latent: Latent
    _core: Core = field(repr=False, compare=False)

    @property
    def front_line_teams(self) -> tuple[str, ...]:
        return tuple(u.unit_id for u in self.units if u.unit_type == "front_line")

    @property
    def design(self) -> Design:
        return self._core.design

    def serves(self) -> list[tuple[str, str]]:
        """(back-office team, front-line team it serves) of every serves link."""
        n_front = self.design.n_front
        return [(self.teams[int(b)], self.teams[t]) for t, b in enumerate(self.design.serving)][
            :n_front
        ]

    def action_team(self, works: bool) -> str:
        """The team whose action works (on support) or does not (on workload); "" if none."""
        row = self.design.action_works if works else self.design.action_fails
        return self.teams[row] if row >= 0 else ""

    def reversed_teams(self) -> list[str]:
        """The teams of the reverse region (support works the other way there)."""
        return [self.teams[int(i)] for i in np.flatnonzero(self.design.reversed_teams)]

    @property
    def root_id(self) -> str:
        return self.units[0].unit_id

    def wave_opens_on(self, period: int) -> date:
        return self.periods[period].start

    def observed(
        self,
        lag: int = 0,
        invited: Collection[str] | None = None,
        predictor: str | None = None,
    ) -> UnitMeans:
        """Unit means of the generated answers (``lag`` as in ``expected_observed_r``).
        Pass the interaction ids the survey service invited to get exactly what the report
        computes once every response is counted; without them the sampling stand-in
        decides."""
        mask = None
        if invited is not None:
            chosen = set(invited)
            mask = np.array([i.interaction_id in chosen for i in self.interactions], dtype=bool)
        return unit_means(self._core, self.config, self.bank, lag, mask, predictor)

    def respondent_scores(self, construct: str, lag: int = 0) -> tuple[IntArray, FloatArray]:
        """(team row, 0-100 construct score) of every respondent in the analysis window of
        ``observed(lag)``: the input of ICC(1)/ICC(2) over the range."""
        core, periods = self._core, self.config.periods
        if construct in {s.construct for s in self.bank.employee}:
            rows = core.ans_responds & (core.ans_period <= periods - 1 - lag)
            scores = construct_scores(core.ans_scores[rows], self.bank.employee, construct)
            return core.emp_team[core.ans_emp[rows]], scores
        rows = core.int_responds & core.int_sampled & (core.int_period >= lag)
        scores = construct_scores(core.int_scores[rows], self.bank.customer, construct)
        return core.int_team[rows], scores

    def counts(self) -> dict[str, int]:
        return {
            "units": len(self.units),
            "front_line_teams": len(self.front_line_teams),
            "teams": len(self.teams),
            "employees": len(self.employees),
            "periods": len(self.periods),
            "employee_invitations": sum(self.eligible),
            "employee_responses": len(self.answers),
            "interactions": len(self.interactions),
            "customer_responses_if_all_invited": sum(i.responds for i in self.interactions),
            "customer_responses_expected": int(
                (self._core.int_responds & self._core.int_sampled).sum()
            ),
        }


def generate(config: DemoConfig, seed: int, bank: ItemBank = DEFAULT_BANK) -> Organisation:
    """The organisation, its people, their answers and the customer interactions of
    ``config`` for ``seed`` (identical for identical arguments)."""
    core = simulate(config, seed, bank)
    months = config.months()
    units, teams = hierarchy(config.preset)
    reorg_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0E09]))
    moves = reorganisation(reorg_rng, config, units, months)
    text_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E27]))
    return Organisation(
        config=config,
        seed=seed,
        bank=bank,
        periods=months,
        units=tuple(units),
        teams=tuple(teams),
        moves=tuple(moves),
        employees=_employees(core, teams),
        eligible=tuple(int((core.ans_period == p).sum()) for p in range(config.periods)),
        answers=_employee_answers(core, config, text_rng),
        interactions=_interactions(core, config, bank, seed, months[0], teams, text_rng),
        latent=core.latent,
        _core=core,
    )


def _employees(core: Core, teams: list[str]) -> tuple[Employee, ...]:
    return tuple(
        Employee(
            employee_id=f"e{i + 1:05d}",
            email=f"e{i + 1:05d}@example.test",
            unit_id=teams[int(core.emp_team[i])],
            start_date=date.fromordinal(int(core.emp_start[i])),
            end_date=None if core.emp_end[i] < 0 else date.fromordinal(int(core.emp_end[i])),
        )
        for i in range(core.emp_team.size)
    )


def _employee_answers(
    core: Core, config: DemoConfig, text_rng: np.random.Generator
) -> tuple[EmployeeAnswer, ...]:
    """The answers of those who respond, some with a comment."""
    responders = np.flatnonzero(core.ans_responds)
    with_comment = text_rng.random(responders.size) < config.comment_rate
    picks = text_rng.integers(0, len(EMPLOYEE_COMMENTS), responders.size)
    return tuple(
        EmployeeAnswer(
            employee=int(core.ans_emp[row]),
            period=int(core.ans_period[row]),
            scores=tuple(int(v) for v in core.ans_scores[row]),
            comment=EMPLOYEE_COMMENTS[int(picks[n])] if with_comment[n] else "",
        )
        for n, row in enumerate(responders)
    )


def _interactions(
    core: Core,
    config: DemoConfig,
    bank: ItemBank,
    seed: int,
    first_month: Period,
    teams: list[str],
    text_rng: np.random.Generator,
) -> tuple[Interaction, ...]:
    """Every interaction in time order; a responding customer sometimes comments, praise
    when the outcome item is rated in its top two."""
    origin = datetime.combine(first_month.start, datetime.min.time(), tzinfo=UTC)
    outcome_cols = bank.customer_columns(config.outcome)
    high = max(bank.customer[c].spec.high for c in outcome_cols)
    n_int = core.int_team.size
    commenting = text_rng.random(n_int) < config.comment_rate
    comment_pick = text_rng.integers(0, len(POSITIVE), n_int)
    interactions = []
    for m in range(n_int):
        scores = tuple(int(v) for v in core.int_scores[m])
        comment = ""
        if commenting[m] and core.int_responds[m]:
            happy = scores[outcome_cols[0]] >= high - 1
            comment = (POSITIVE if happy else NEGATIVE)[int(comment_pick[m])]
        customer = int(core.int_customer[m])
        interactions.append(
            Interaction(
                interaction_id=f"I-{seed}-{m + 1:07d}",
                unit_id=teams[int(core.int_team[m])],
                occurred_at=rfc3339(origin + timedelta(seconds=int(core.int_second[m]))),
                channel=CHANNELS[int(core.int_channel[m])],
                customer_key=f"K{customer + 1:06d}",
                contact=f"c{customer + 1:06d}@example.test",
                period=int(core.int_period[m]),
                responds=bool(core.int_responds[m]),
                scores=scores,
                comment=comment,
            )
        )
    return tuple(interactions)
