"""The verdict and the statistics it reads, without servers: reliability from people (ICC per
period), the reliability gate, the family-wise link test, direction wording, confounders in
the words, power for the smallest effect of interest and "not computable" values. Tables
come from the simulated organisations of ``verdict_scenarios`` (the validation's model)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pulse_stats
import pytest
from google.protobuf import json_format
from pulse_correlation import export, verdict_text
from pulse_correlation.access import Viewer
from pulse_correlation.analysis import analyse
from pulse_correlation.attempts import Attempts
from pulse_correlation.diagnostics import RELIABILITY_GATE, diagnostic, spearman_brown
from pulse_correlation.evidence import Evidence
from pulse_correlation.report_model import (
    Direction,
    Estimate,
    LinkTest,
    Options,
    PartialEstimate,
    PowerPlan,
    PredictorLinkage,
    ReportRequest,
    UnitSums,
)
from pulse_correlation.report_pb import ReportIdentity, report_message
from pulse_correlation.verdict import MIN_UNITS, VerdictInput, power_plan, verdict
from pulse_correlation.verdict_scenarios import BY_NAME, Scenario, unit_table
from pulse_stats.simulation import simulate_organisation

OPTIONS = Options(0, 0, 0.95, "pearson", 0)


def _table(scenario: Scenario, seed: int = 1, **design: object):  # type: ignore[no-untyped-def]
    chosen = replace(scenario, design=replace(scenario.design, **design))  # type: ignore[arg-type]
    return unit_table(simulate_organisation(chosen.design, random_state=seed), chosen)


def test_reliability_comes_from_each_period_not_from_pooled_answers() -> None:
    table = _table(BY_NAME["null"], n_units=30, n_periods=6)
    diag = diagnostic("treatment.support", table, Attempts())
    assert diag is not None
    per_period = [
        pulse_stats.icc_from_summaries(s.n, s.sums, s.squares)
        for s in table.period_sums["treatment.support"]
    ]
    assert diag.periods == 6
    assert diag.icc1 == pytest.approx(np.mean([p.icc1 for p in per_period]), abs=1e-12)
    k = np.mean([p.mean_group_size for p in per_period])
    assert diag.mean_group_size == pytest.approx(k)
    # Employees answer again every period: the unit mean rests on k people, not k x periods.
    assert diag.icc2 == pytest.approx(k * diag.icc1 / (1 + (k - 1) * diag.icc1))
    assert diag.reliability == diag.icc2
    pooled = pulse_stats.icc_from_summaries(
        [sum(s.n[i] for s in table.period_sums["treatment.support"]) for i in range(30)],
        [sum(s.sums[i] for s in table.period_sums["treatment.support"]) for i in range(30)],
        [sum(s.squares[i] for s in table.period_sums["treatment.support"]) for i in range(30)],
    )
    assert pooled.icc2 > diag.reliability + 0.1  # what counting answers as people claimed
    # Customers are different people: their unit mean rests on all of the unit's answers.
    csat = diagnostic("csat", table, Attempts())
    assert csat is not None
    assert csat.reliability == pytest.approx(spearman_brown(csat.icc1, np.mean(table.n_y)))
    assert csat.reliability > csat.icc2
    assert csat.single_item
    assert not diag.single_item


def test_a_negative_icc_gives_no_reliability_and_gates_the_verdict() -> None:
    assert math.isnan(spearman_brown(-0.09, 12.0))  # the pole that printed -1494.2
    assert math.isnan(spearman_brown(0.0, 12.0))
    table = _table(BY_NAME["low_icc"], seed=3)
    body = analyse(table, OPTIONS)
    assert body.verdict.level == "unreliable"
    assert body.verdict.text.startswith(verdict_text.GATE)
    assert not body.verdict.linked
    assert body.verdict.leader == ""
    assert all(not link.reliable and not link.tests for link in body.linkages)
    assert all(
        math.isnan(d.reliability) or d.reliability < RELIABILITY_GATE
        for d in body.diagnostics
        if d.construct != "csat"
    )


def test_the_family_covers_every_predictor_source_and_lag() -> None:
    table = _table(BY_NAME["leading"], seed=2)
    body = analyse(replace(table, max_lag=2), OPTIONS)
    tested = [link for link in body.linkages if link.reliable]
    for link in tested:
        assert [t.source for t in link.tests] == ["between"] + ["within"] * 5
        assert [t.lag for t in link.tests[1:]] == [-2, -1, 0, 1, 2]
    p_values = [t.p_value for link in tested for t in link.tests]
    adjusted = pulse_stats.holm(p_values)
    assert [t.adjusted_p_value for link in tested for t in link.tests] == pytest.approx(
        list(adjusted)
    )
    assert body.verdict.linked == [
        link.predictor
        for link in sorted(tested, key=lambda lk: min(t.adjusted_p_value for t in lk.tests))
        if min(t.adjusted_p_value for t in link.tests) < 0.05
    ]
    assert f"over {len(p_values)} tests" in body.verdict.text or body.verdict.level == "no_evidence"


def test_planted_truths_read_as_a_leader_should() -> None:
    leading = analyse(_table(BY_NAME["leading"], seed=6, r=0.6), OPTIONS)
    assert leading.verdict.level == "supported"
    assert leading.verdict.leader == "treatment"
    assert verdict_text.TREATMENT_FIRST in leading.verdict.text
    assert leading.verdict.linked[0] == "treatment.support"
    reverse = analyse(_table(BY_NAME["reverse"], seed=6, r=0.6), OPTIONS)
    assert reverse.verdict.leader == "outcome"
    assert verdict_text.CUSTOMERS_FIRST in reverse.verdict.text
    assert verdict_text.TREATMENT_FIRST not in reverse.verdict.text
    together = analyse(_table(BY_NAME["concurrent"], seed=6, r=0.6), OPTIONS)
    assert together.verdict.leader == "together"
    assert verdict_text.TOGETHER in together.verdict.text
    for body in (leading, reverse, together):
        assert verdict_text.CLOSING in body.verdict.text
        assert "caus" not in " ".join(body.verdict.caveats)  # said once, in the text


def test_confounders_are_named_with_both_numbers() -> None:
    body = analyse(_table(BY_NAME["confounded"], seed=4), OPTIONS)
    assert "Adjusting for unit size and Workload" in body.verdict.text
    changed = [
        link
        for link in body.linkages
        if link.adjusted is not None
        and link.pearson is not None
        and verdict_text.material(link.pearson, link.adjusted.estimate)
    ]
    assert changed
    for link in changed:
        assert link.adjusted is not None
        assert link.pearson is not None
        assert f"from r = {link.pearson.r:.2f} to r = {link.adjusted.estimate.r:.2f}" in (
            body.verdict.text
        )
    if body.verdict.level in ("supported", "weak"):
        lead = next(lk for lk in body.linkages if lk.predictor == body.verdict.linked[0])
        if all(t.source == "between" for t in lead.tests if t.adjusted_p_value < 0.05):
            assert body.verdict.level == "weak"


def _linkage(r: float, p: float, adjusted: float | None = None) -> PredictorLinkage:
    main = Estimate("pearson", r, p, r - 0.2, r + 0.2, 40)
    link = PredictorLinkage("treatment.fairness", pearson=main)
    link.tests = [LinkTest("between", 0, r, p, p)]
    if adjusted is not None:
        partial = Estimate("pearson", adjusted, 0.5, adjusted - 0.25, adjusted + 0.25, 40)
        link.partials = [PartialEstimate(["unit_size"], partial)]
    return link


def _input(link: PredictorLinkage, units: int = 40) -> VerdictInput:
    linked = [link] if any(t.adjusted_p_value < 0.05 for t in link.tests) else []
    return VerdictInput(
        outcome="csat",
        predictors=[link.predictor],
        units=units,
        units_suppressed=0,
        diagnostics=[],
        linkages=[link],
        evidence=Evidence(0.05, len(link.tests), linked),
        power=power_plan(units, OPTIONS),
        notes=["a note"],
        options=OPTIONS,
    )


def test_verdict_tiers_and_their_words() -> None:
    strong = verdict(_input(_linkage(0.5, 0.001)))
    assert (strong.level, strong.leader) == ("supported", "together")
    assert strong.caveats == ["a note"]  # nothing that fires on every report
    assert "Fairness and Customer satisfaction (CSAT) move together" in strong.text
    negative = verdict(_input(_linkage(-0.5, 0.001)))
    assert negative.level == "opposite"  # not a claim of the expected link
    assert "the data show the opposite" in negative.text
    assert "have lower Customer satisfaction (CSAT): r = -0.50" in negative.text
    confounded = verdict(_input(_linkage(0.5, 0.001, adjusted=0.1)))
    assert confounded.level == "weak"
    assert "from r = 0.50 to r = 0.10" in confounded.text
    treatment_first = _linkage(0.5, 0.001)
    treatment_first.direction = Direction("treatment", 0.3, 0.1, 0.2, 0.1, 0.3, 0.001, 0.001)
    found = verdict(_input(treatment_first))
    assert found.leader == "treatment"
    assert verdict_text.TREATMENT_FIRST in found.text
    nothing = verdict(_input(_linkage(0.1, 0.4)))
    assert nothing.level == "no_evidence"
    assert nothing.leader == ""
    assert "a true unit-level correlation of 0.30" in nothing.text
    assert "85 units give 80%" in nothing.text
    few = verdict(_input(_linkage(0.9, 0.001), units=MIN_UNITS - 1))
    assert few.level == "not_enough_data"
    assert few.text.startswith(f"Not enough data: only {MIN_UNITS - 1} unit(s)")
    assert "about 85 units are needed" in few.text


def test_power_is_for_the_smallest_effect_of_interest_never_the_observed_r() -> None:
    plan = power_plan(60, replace(OPTIONS, smallest_effect=0.2))
    assert plan.units_needed == pulse_stats.units_needed(0.2) == 194
    assert plan.power == pytest.approx(pulse_stats.correlation_power(0.2, 60))
    table = _table(BY_NAME["null"], n_units=15, n_periods=3)
    body = analyse(table, OPTIONS)
    assert {link.units_needed for link in body.linkages} == {85}
    assert body.power == PowerPlan(0.3, 15, pulse_stats.correlation_power(0.3, 15), 85, 0.05)
    assert power_plan(3, OPTIONS).power != power_plan(3, OPTIONS).power  # NaN: too few


def test_not_computable_values_travel_as_nan_with_a_reason() -> None:
    table = _table(BY_NAME["null"], n_units=12, n_periods=2)
    table = replace(table, max_lag=3, outcome_sums=UnitSums([], [], []))
    body = analyse(table, OPTIONS)
    link = body.linkages[0]
    far = next(lag for lag in link.lags if lag.lag == 3)
    assert math.isnan(far.estimate.r)
    assert far.estimate.note.startswith("not computable")
    assert link.multilevel is None  # no respondent sums: not fitted, nothing invented
    request = ReportRequest(Viewer("ceo", ""), "", "", "", (), "csat", 3, (), OPTIONS)
    message = report_message(
        body, request, ReportIdentity("r1", "2026-01-01T00:00:00Z", "", 5, "v")
    )
    lag = next(lg for lg in message.linkages[0].lags if lg.lag == 3)
    assert math.isnan(lag.estimate.r)
    assert lag.estimate.note
    exported = json.loads(export.to_json(message))
    assert exported["linkages"][0]["lags"][-1]["estimate"]["r"] == "NaN"
    assert b"nan" in export.to_csv(message)
    assert json_format.MessageToDict(message)["power"]["unitsNeeded"] == "85"


def test_the_smallest_effect_of_interest_is_a_validated_option() -> None:
    from pulse.correlation.v1 import correlation_service_pb2 as pb
    from pulse_common.errors import InvalidArgument
    from pulse_correlation import validation

    def options(effect: float) -> Options:
        request = pb.RunLinkageReportRequest(
            outcome="csat", options=pb.LinkageOptions(smallest_effect=effect)
        )
        return validation.report_request(request, "month", Viewer("ceo", "")).options

    assert options(0).smallest_effect == 0.3
    assert options(0.2).smallest_effect == 0.2
    for bad in (0.01, 0.99, -0.3):
        with pytest.raises(InvalidArgument) as error:
            options(bad)
        assert error.value.field == "options.smallest_effect"
