"""Cronbach's alpha as the report and chain pages show it (pure): measure names, items by
their words, "not computable" instead of NaN, warnings kept."""

from __future__ import annotations

import math

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_web.report_view import alpha_rows


def test_alpha_rows_speak_a_leaders_words() -> None:
    found = [
        corr_pb.ConstructReliability(
            construct="treatment.support",
            alpha=0.64,
            ci_low=0.57,
            ci_high=0.69,
            items=2,
            n=576,
            warnings=["alpha 0.64 is under 0.7"],
            item_totals=[corr_pb.ItemTotal(item_id="sup.1", r=0.47)],
        ),
        corr_pb.ConstructReliability(
            construct="empowerment", alpha=math.nan, ci_low=math.nan, ci_high=math.nan, items=3
        ),
    ]
    support, empowerment = alpha_rows(found, {"sup.1": "Manager support: I get help"})
    assert support == {
        "measure": "Manager support",
        "alpha": "0.64",
        "interval": "0.57 to 0.69",
        "items": "2",
        "n": "576",
        "item_totals": "Manager support: I get help: 0.47",
        "notes": "alpha 0.64 is under 0.7",
    }
    assert empowerment["alpha"] == "not computable"
    assert empowerment["item_totals"] == "not computed"
