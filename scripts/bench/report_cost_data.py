"""The data of ``bench_report_cost``: the two surveys (employee pulse and customer
post-interaction) and the ``ResponseRecorded`` payloads of U units x P periods, unit quality
linking employee and customer answers. Also used by ``bench_ingest`` and
``report_scale_data``."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pulse.types.v1 import types_pb2
from pulse_testing.correlation import response_recorded


@dataclass(frozen=True)
class Config:
    """The size of a run (U units x P periods, R per cell) and how often each report is timed."""

    units: int
    periods: int
    per_cell: int  # R: employee responses and customer responses per unit-period
    repeats: int


L5 = types_pb2.SCALE_LIKERT_5


def _item(item_id: str, construct: str, scale: types_pb2.Scale.ValueType) -> types_pb2.Item:
    return types_pb2.Item(item_id=item_id, construct=construct, scale=scale)


EMPLOYEE_SURVEY = types_pb2.SurveyDefinition(
    survey_id="bench-emp",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[
        _item("fair_1", "treatment.fairness", L5),
        _item("fair_2", "treatment.fairness", L5),
        _item("sup_1", "treatment.support", L5),
        _item("sup_2", "treatment.support", L5),
        _item("enps_1", "enps", types_pb2.SCALE_NPS_0_10),
    ],
    min_group_size=5,
)
CUSTOMER_SURVEY = types_pb2.SurveyDefinition(
    survey_id="bench-cust",
    version=1,
    kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    items=[
        _item("csat_1", "csat", types_pb2.SCALE_CSAT_1_5),
        _item("nps_1", "nps", types_pb2.SCALE_NPS_0_10),
    ],
    min_group_size=5,
)


def units_of(config: Config) -> list[str]:
    return [f"U{i:03d}" for i in range(config.units)]


def periods_of(config: Config) -> list[str]:
    return [f"2025-{m:02d}" for m in range(1, config.periods + 1)]


def responses(config: Config, per_cell: int, rng: random.Random) -> list[bytes]:
    """``per_cell`` employee and customer responses per unit-period; unit quality links them."""
    out: list[bytes] = []
    for index, unit in enumerate(units_of(config)):
        quality = (index % 7) / 6
        for period in periods_of(config):

            def likert(spread: float, q: float = quality) -> int:
                return 1 + round(min(4.0, max(0.0, 4 * q + rng.gauss(0, spread))))

            for _ in range(per_cell):
                answers = {
                    "fair_1": likert(0.9),
                    "fair_2": likert(0.9),
                    "sup_1": likert(1.2),
                    "sup_2": likert(1.2),
                    "enps_1": rng.randint(0, 10),
                }
                out.append(_event(EMPLOYEE_SURVEY, unit, period, answers, ""))
            for _ in range(per_cell):
                answers = {"csat_1": likert(1.0), "nps_1": min(10, 2 * likert(1.0))}
                out.append(
                    _event(CUSTOMER_SURVEY, unit, period, answers, rng.choice(["call", "chat"]))
                )
    rng.shuffle(out)
    return out


def _event(
    survey: types_pb2.SurveyDefinition,
    unit: str,
    period: str,
    answers: dict[str, int],
    channel: str,
) -> bytes:
    event = response_recorded(survey, unit, period, answers, channel=channel, source="bench")
    return event.SerializeToString()
