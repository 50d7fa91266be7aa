"""The demo generator: deterministic, near its size targets, and carrying the truth it plants."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pulse_cli.demo.calibrate import calibrate
from pulse_cli.demo.config import SIZES, DemoConfig
from pulse_cli.demo.generator import generate
from pulse_cli.demo.items import DEFAULT_BANK, BankEntry, bank_from_entries
from pulse_cli.demo.latent import (
    FAIRNESS,
    GROWTH,
    LOADINGS,
    SUPPORT,
    Design,
    Latent,
    outcome_weights,
    simulate_latent,
)
from pulse_cli.demo.observed import expected_driver_rs, expected_observed_r, unit_means
from pulse_cli.demo.simulation import CHANNELS, simulate
from pulse_common.measures import TREATMENT_CONSTRUCTS
from pulse_stats import icc
from pulse_stats.simulation import SimulationDesign, observed_scale_icc


def test_same_seed_same_organisation_and_other_seed_differs() -> None:
    config = DemoConfig(size="tiny")
    first, again, other = generate(config, 7), generate(config, 7), generate(config, 8)
    assert first.units == again.units
    assert first.employees == again.employees
    assert first.answers == again.answers
    assert first.interactions == again.interactions
    assert first.moves == again.moves
    assert np.array_equal(first.latent.outcome, again.latent.outcome)
    assert first.answers != other.answers
    assert first.interactions != other.interactions


@pytest.mark.parametrize("size", ["small", "medium"])
def test_sizes_near_their_targets(size: str) -> None:
    preset = SIZES[size]
    org = generate(DemoConfig(size=size), 3)
    counts = org.counts()
    assert counts["front_line_teams"] == preset.front_line_teams
    assert counts["teams"] == preset.front_line_teams + preset.back_office_teams
    assert counts["periods"] == preset.periods
    # Head count when each wave opens (turnover replaces leavers, so it stays level).
    teams = preset.front_line_teams + preset.back_office_teams
    for eligible in org.eligible:
        assert eligible == pytest.approx(teams * preset.mean_team_size, rel=0.12)
    assert counts["interactions"] == pytest.approx(preset.interactions, rel=0.08)
    rate = counts["employee_responses"] / counts["employee_invitations"]
    assert rate == pytest.approx(org.config.employee_response_rate, abs=0.03)
    # Three levels below the company; teams are the leaves.
    parents = {u.unit_id: u.parent_id for u in org.units}
    depth = {uid: 0 for uid, parent in parents.items() if not parent}
    for uid in parents:
        chain, node = 0, uid
        while parents[node]:
            node, chain = parents[node], chain + 1
        depth[uid] = chain
    assert {depth[t] for t in org.teams} == {3}
    assert all(parents[parents[parents[t]]] == org.root_id for t in org.teams)


def test_records_are_well_formed() -> None:
    org = generate(DemoConfig(size="tiny"), 1)
    ids = [u.unit_id for u in org.units]
    assert len(set(ids)) == len(ids)
    assert all(u.parent_id in ids for u in org.units if u.parent_id)
    emails = [e.email for e in org.employees]
    assert len(set(emails)) == len(emails)
    assert org.employees[0].email == "e00001@example.test"
    assert any(e.end_date is not None for e in generate(DemoConfig(size="small"), 1).employees)
    stamps = [i.occurred_at for i in org.interactions]
    assert stamps == sorted(stamps)
    assert {i.channel for i in org.interactions} <= set(CHANNELS)
    for interaction in org.interactions:
        period = org.periods[interaction.period]
        assert interaction.occurred_at.startswith(period.label)
        assert interaction.unit_id in org.front_line_teams
    for answer in org.answers[:200]:
        person = org.employees[answer.employee]
        opens = org.wave_opens_on(answer.period)
        assert person.start_date <= opens
        assert person.end_date is None or person.end_date >= opens
        for slot, score in zip(org.bank.employee, answer.scores, strict=True):
            assert slot.spec.low <= score <= slot.spec.high


def _big_design(n: int, reversed_share: float = 0.5) -> Design:
    reversed_teams = np.arange(n) < int(n * reversed_share)
    return Design(n, np.zeros(0, dtype=np.int64), reversed_teams, -1, -1)


def _lagged_fit(latent: Latent, rows: np.ndarray) -> np.ndarray:
    """Least squares of O(t) on S(t - 1), F(t - 1) and -W(t - 1) over ``rows``."""
    periods = latent.outcome.shape[1]
    x = np.column_stack(
        [
            latent.constructs[SUPPORT][rows, :periods].ravel(),
            latent.constructs[FAIRNESS][rows, :periods].ravel(),
            -latent.workload[rows, :periods].ravel(),
        ]
    )
    coef, *_ = np.linalg.lstsq(x, latent.outcome[rows].ravel(), rcond=None)
    return np.asarray(coef)


def test_planted_effects_are_recovered_from_latent_values() -> None:
    """Support and fairness drive the outcome a month later, workload depresses it, and in
    the reverse region support works the other way; the outcome has unit variance in both."""
    config = DemoConfig(size="medium")
    latent = simulate_latent(np.random.default_rng(17), config, _big_design(4000))
    normal, reverse = ~latent.reversed_teams, latent.reversed_teams
    planted = [config.support_effect, config.fairness_effect, config.workload_effect]
    # 2,000 teams x 12 months per group: coefficients within a few hundredths.
    assert _lagged_fit(latent, normal) == pytest.approx(planted, abs=0.04)
    reversed_planted = [-planted[0], planted[1], planted[2]]
    assert _lagged_fit(latent, reverse) == pytest.approx(reversed_planted, abs=0.04)
    for rows in (normal, reverse):
        assert float(np.var(latent.outcome[rows])) == pytest.approx(1.0, abs=0.08)


def test_six_treatment_constructs_do_not_share_one_latent_value() -> None:
    config = DemoConfig(size="medium")
    latent = simulate_latent(np.random.default_rng(3), config, _big_design(3000, 0.0))
    values = {c: latent.constructs[c][:, 1:].ravel() for c in TREATMENT_CONSTRUCTS}
    for first in TREATMENT_CONSTRUCTS:
        for second in TREATMENT_CONSTRUCTS:
            if first < second:
                r = np.corrcoef(values[first], values[second])[0, 1]
                assert abs(r) < 0.6, (first, second, r)
    outcome = latent.outcome.ravel()
    lagged = {c: latent.constructs[c][:, :-1].ravel() for c in TREATMENT_CONSTRUCTS}
    # Growth: no effect and unrelated to the rest.
    assert abs(np.corrcoef(lagged[GROWTH], outcome)[0, 1]) < 0.03
    # Workload is the confounder: heavy workload lowers support, fairness and the outcome.
    w = -latent.workload[:, 1:].ravel()
    for construct in (SUPPORT, FAIRNESS):
        assert np.corrcoef(w, values[construct])[0, 1] == pytest.approx(
            LOADINGS[construct][0], abs=0.03
        )
    assert np.corrcoef(-latent.workload[:, :-1].ravel(), outcome)[0, 1] > 0.2
    # Support and fairness lead the outcome: stronger a month ahead than a month behind.
    for construct in (SUPPORT, FAIRNESS):
        ahead = np.corrcoef(lagged[construct], outcome)[0, 1]
        behind = np.corrcoef(
            latent.constructs[construct][:, 2:].ravel(), latent.outcome[:, :-1].ravel()
        )[0, 1]
        assert ahead > behind + 0.05


def test_action_back_office_and_region_sit_where_planted() -> None:
    config = DemoConfig(size="medium")
    org = generate(config, 5)
    works, fails = org.design.action_works, org.design.action_fails
    assert works >= 0
    assert fails >= 0
    assert works != fails
    # Against the same organisation without the action: only the acting team's support
    # moves, by the planted amount from the action's month on, and its outcome a month later.
    without = generate(config.with_overrides(action_effect=0.0), 5)
    change = org.latent.constructs[SUPPORT] - without.latent.constructs[SUPPORT]
    start = config.action_at + config.lag_periods
    assert np.allclose(change[works, start:], config.action_effect)
    assert np.allclose(np.delete(change, works, axis=0), 0.0)
    assert np.allclose(change[works, :start], 0.0)
    moved = org.latent.outcome[works] - without.latent.outcome[works]
    assert np.allclose(moved[: config.action_at + 1], 0.0)
    assert np.allclose(moved[config.action_at + 1 :], config.support_effect * config.action_effect)
    assert not org.design.reversed_teams[works]
    assert not org.design.reversed_teams[fails]
    reversed_teams = org.reversed_teams()
    assert reversed_teams
    assert all("East" in next(u.name for u in org.units if u.unit_id == t) for t in reversed_teams)
    links = org.serves()
    assert len(links) == len(org.front_line_teams)
    back_office = {u.unit_id for u in org.units if u.unit_type == "back_office"}
    assert {serving for serving, _ in links} == back_office


def test_icc_of_generated_answers_matches_configured_icc() -> None:
    config = DemoConfig(size="large", icc_treatment=0.15)
    org = generate(config, 11)
    column = org.bank.employee_columns("treatment.support")[0]  # likert 5, no shift
    spec = org.bank.employee[column].spec
    period = 4
    rows = [a for a in org.answers if a.period == period]
    teams = [org.employees[a.employee].unit_id for a in rows]
    scores = [a.scores[column] for a in rows]
    result = icc(teams, scores)
    design = SimulationDesign(location=spec.location, spread=spec.spread)
    target = observed_scale_icc(config.icc_treatment, design)
    assert result.icc1 == pytest.approx(target, abs=0.04)


def test_customer_answers_follow_the_outcome_latent() -> None:
    org = generate(DemoConfig(size="large", icc_customer=0.10), 2)
    column = org.bank.customer_columns("csat")[0]
    rows = [i for i in org.interactions if i.period == 3]
    result = icc([i.unit_id for i in rows], [i.scores[column] for i in rows])
    spec = org.bank.customer[column].spec
    design = SimulationDesign(location=spec.location, spread=spec.spread)
    assert result.icc1 == pytest.approx(observed_scale_icc(0.10, design), abs=0.03)


def test_reorganisation_moves_teams_half_way() -> None:
    config = DemoConfig(size="medium")
    org = generate(config, 4)
    assert len(org.moves) == round(config.reorg_share * SIZES["medium"].front_line_teams)
    half = org.periods[config.periods // 2]
    parents = {u.unit_id: u.parent_id for u in org.units}
    for move in org.moves:
        assert move.effective_from == half.start
        assert move.previous_parent_id == parents[move.unit_id]
        assert move.parent_id != move.previous_parent_id
        # Within the same division when it has another department.
        assert parents[move.parent_id] == parents[move.previous_parent_id]


def test_expected_observed_r_is_attenuated_and_matches_the_sample() -> None:
    config = DemoConfig(size="small")
    planted = expected_driver_rs(config, seed=1, replicates=60, constructs=(SUPPORT, GROWTH))
    expected = planted[SUPPORT].observed
    assert 0.15 < expected < planted[SUPPORT].latent
    assert abs(planted[GROWTH].observed) < 0.08
    observed = [
        unit_means(simulate(config, seed, DEFAULT_BANK), config, DEFAULT_BANK, 0).correlation()
        for seed in range(1, 31)
    ]
    # 30 samples of about 29 units: the standard error of the mean is about 0.035.
    assert float(np.mean(observed)) == pytest.approx(expected, abs=0.1)
    assert expected_observed_r(config, seed=1, replicates=5) == expected_observed_r(
        config, seed=1, replicates=5
    )


def test_bank_from_entries_picks_every_construct_and_comment() -> None:
    entries = [
        BankEntry(s.item_id, s.construct, s.scale, s.reverse, "employee")
        for s in DEFAULT_BANK.employee
    ]
    entries += [
        BankEntry(s.item_id, s.construct, s.scale, s.reverse, "customer")
        for s in DEFAULT_BANK.customer
    ]
    entries += [
        BankEntry("ecomment.1", "comment", "free_text", False, "employee"),
        BankEntry("ccomment.1", "comment", "free_text", False, "customer"),
    ]
    bank = bank_from_entries(reversed(entries))
    assert Counter(s.construct for s in bank.employee) == Counter(
        s.construct for s in DEFAULT_BANK.employee
    )
    assert bank.employee_comment == "ecomment.1"
    assert bank.customer_comment == "ccomment.1"
    with pytest.raises(ValueError, match="csat"):
        bank_from_entries([e for e in entries if e.construct != "csat"])


def test_config_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="size"):
        DemoConfig(size="huge")
    with pytest.raises(ValueError, match="lag_periods"):
        DemoConfig(lag_periods=2)
    with pytest.raises(ValueError, match="start_month"):
        DemoConfig(start_month="March")
    with pytest.raises(ValueError, match="support_effect"):
        DemoConfig(support_effect=1.5)
    with pytest.raises(ValueError, match="variance"):
        DemoConfig(support_effect=0.9, fairness_effect=0.9)
    b_s, _, _, s = outcome_weights(DemoConfig(), reversed_support=True)
    assert b_s == -DemoConfig().support_effect
    assert 0 < s < 1


@pytest.mark.slow
def test_seeds_1_to_20_of_small_cover_every_planted_driver() -> None:
    """The issue's calibration: each driver's interval covers its planted value in at least
    18 of seeds 1-20, and at about the nominal rate over 200 more seeds."""
    config = DemoConfig(size="small")
    cal = calibrate(config, list(range(1, 21)), replicates=400)
    for driver in TREATMENT_CONSTRUCTS:
        covered, n = cal.coverage(driver)
        assert n == 20
        assert covered >= 18, driver
        assert cal.mean_r(driver) == pytest.approx(cal.planted[driver].observed, abs=0.08)
    # Over 200 more seeds: near the nominal 95 % (measured 90.5-97 % per driver, 93.8 %
    # overall; Pearson's interval assumes normal team means, which Likert rounding and
    # unequal team sizes bend a little).
    wide = calibrate(config, list(range(21, 221)), replicates=400)
    rates = [wide.coverage(driver)[0] / 200 for driver in TREATMENT_CONSTRUCTS]
    assert min(rates) >= 0.88
    assert max(rates) <= 0.99
    assert sum(rates) / len(rates) >= 0.92
