"""Pure rules of the correlation service, without servers: request checks (periods of the
deployment's granularity, the one unit-id rule, outcomes), ingestion of a period of the
wrong kind, the sufficient-statistics accumulator and undefined numbers (the verdict's rules
are in ``test_correlation_verdict.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.errors import InvalidArgument
from pulse_correlation import validation
from pulse_correlation.access import Viewer
from pulse_correlation.aggregates import ItemRow, Sums, mean_interval
from pulse_correlation.domain import ContractViolation, ItemSpec, score_response
from pulse_correlation.report_model import Options
from pulse_correlation.values import as_sent, reported

CEO = Viewer("tools:ceo", "")


def field_of(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(InvalidArgument) as error:
        call(*args)
    return error.value.field


def test_periods_follow_the_deployment_granularity() -> None:
    assert validation.periods("2026-01", "2026-03", "month") == ("2026-01", "2026-03")
    assert validation.periods("2026-W03", "2026-W05", "week") == ("2026-W03", "2026-W05")
    assert validation.periods("", "", "month") == ("", "")
    assert field_of(validation.periods, "2026-W03", "", "month") == "period_from"
    assert field_of(validation.periods, "", "2026-03", "week") == "period_to"
    assert field_of(validation.periods, "2026-01", "2026-W05", "month") == "period_to"
    assert field_of(validation.periods, "2026-03", "2026-01", "month") == "period_to"
    assert field_of(validation.periods, "2026-13", "", "month") == "period_from"


def test_a_response_for_the_other_kind_of_period_is_never_counted() -> None:
    spec = ItemSpec("c1", "csat", 1, 5, reverse=False)
    answers = [("c1", 4)]
    counted = score_response("customer", "T1", "2026-W14", "", answers, {"c1": spec}, "week")
    assert counted.constructs[0].score == 75.0
    with pytest.raises(ContractViolation, match="must be a month"):
        score_response("customer", "T1", "2026-W14", "", answers, {"c1": spec}, "month")


def test_unit_ids_follow_the_one_rule() -> None:
    assert validation.optional_unit("scope_unit_id", "  ") == ""
    assert validation.optional_unit("scope_unit_id", " T-1.a_b ") == "T-1.a_b"
    assert validation.unit("unit_id", "u" * 64) == "u" * 64
    assert field_of(validation.unit, "unit_id", "u" * 65) == "unit_id"
    assert field_of(validation.optional_unit, "scope_unit_id", "a unit") == "scope_unit_id"


def test_outcomes_and_predictors_come_from_the_measurement_model() -> None:
    def request(outcome: str, predictors: tuple[str, ...] = ()) -> pb.RunLinkageReportRequest:
        return pb.RunLinkageReportRequest(outcome=outcome, predictors=predictors)

    with pytest.raises(InvalidArgument) as error:
        validation.report_request(request("csatt"), "month", CEO)
    assert error.value.field == "outcome"
    assert "did you mean csat?" in error.value.description
    # A customer outcome may not predict (issue 16: internal.* measures may).
    assert (
        field_of(
            validation.report_request,
            request("csat", ("treatment.fairness", "nps")),
            "month",
            CEO,
        )
        == "predictors[1]"
    )
    assert validation.report_request(
        request("csat", ("treatment.fairness", "internal.nps")), "month", CEO
    ).predictors == ("treatment.fairness", "internal.nps")
    checked = validation.report_request(
        request("internal.csat", ("treatment.voice", "treatment.voice")),
        "month",
        CEO,
    )
    assert checked.predictors == ("treatment.voice",)
    assert checked.covariates == ("unit_size",)
    assert checked.options == Options(2000, 2000, 0.95, "pearson", 0)


def test_one_accumulator_for_scores_and_categories() -> None:
    empty = Sums()
    assert math.isnan(empty.mean)
    assert math.isnan(empty.nps())
    first, second = Sums(), Sums()
    first.add(2, 150.0, 12500.0)
    second.add(1, 0.0, 0.0)

    def item(scale_max: int, **counts: int) -> ItemRow:
        base = dict(promoters=0, passives=0, detractors=0, top2=0)
        return ItemRow("T1", "2026-01", "i", "c", 0, scale_max, 3, 0.0, 0.0, **(base | counts))

    first.add_categories(item(10, promoters=2, detractors=1))
    first.add_categories(item(5, top2=2))  # not an NPS scale: top-two boxes of 3 answers
    second.add_sums(first)
    assert (second.n, second.total, second.squares) == (3, 150.0, 12500.0)
    assert (second.promoters, second.passives, second.detractors) == (2, 0, 1)
    assert (second.top2, second.answers) == (2, 3)
    assert second.nps() == pytest.approx(100 * (2 - 1) / 3)
    mean, low, high, se = mean_interval(second.n, second.total, second.squares)
    assert mean == 50.0
    assert se == pytest.approx(math.sqrt(2500 / 3))  # variance (12500 - 150**2 / 3) / 2
    assert high - mean == pytest.approx(mean - low)
    assert (high - mean) / se == pytest.approx(4.302653)  # t(0.975, 2 dof)
    assert all(math.isnan(v) for v in mean_interval(1, 50.0, 2500.0)[1:])


def test_a_number_that_is_not_defined_is_sent_as_zero_in_scores_and_nan_in_reports() -> None:
    assert as_sent(math.nan) == 0.0
    assert as_sent(math.inf) == 0.0
    assert as_sent(-1.5) == -1.5
    # Linkage reports: "not computable" travels as NaN, never as 0 (issue 21).
    assert math.isnan(reported(math.nan))
    assert math.isnan(reported(math.inf))
    assert reported(-1.5) == -1.5
