"""The words a leader reads instead of codes (pure): measure names (with the share-in-the-
top-two-boxes variants), why a number is not shown, scales and p-values."""

from __future__ import annotations

import math
from collections.abc import Mapping

from pulse_common.measures import human_name, is_nps, measure_of

TOP2 = ".top2box"
# The correlation service's suppression codes (pulse_correlation.confidentiality).
ROLLED_UP = "rolled_up_into:"
SHORT_REASONS = {
    "below_k": "too few responses",
    "complementary": "protects a small group",
    "differencing": "protects released figures",
    "period_open": "period still open",
}


def measure_label(code: str) -> str:
    """ "Fairness", "Customer satisfaction (CSAT), share in the top two boxes"."""
    if code.endswith(TOP2):
        return f"{human_name(code.removesuffix(TOP2))}, share in the top two boxes"
    return human_name(code)


def measure_description(code: str) -> str:
    return measure_of(code.removesuffix(TOP2)).description


def scale_of(code: str) -> tuple[float, float]:
    """The scale a released value lies on: NPS -100..100, top-two-box 0..1, else 0..100."""
    if is_nps(code):
        return -100.0, 100.0
    if code.endswith(TOP2):
        return 0.0, 1.0
    return 0.0, 100.0


def unit_word(code: str) -> str:
    """The unit of a value as an axis title states it."""
    if is_nps(code):
        return "score, -100 to 100"
    if code.endswith(TOP2):
        return "share of answers, %"
    return "score, 0 to 100"


def suppression_words(reason: str, k: int, names: dict[str, str] | None = None) -> str:
    """Why a number is not shown, in a sentence."""
    if reason == "below_k" or not reason:
        return f"not shown: fewer than {k} responses"
    if reason.startswith(ROLLED_UP):
        parent = reason.removeprefix(ROLLED_UP)
        parent_name = (names or {}).get(parent, f"the unit above it ({parent})")
        return f"not shown: fewer than {k} responses; counted in {parent_name}"
    if reason == "complementary":
        return (
            "not shown: with it, a neighbouring group of fewer than "
            f"{k} people could be worked out by subtraction"
        )
    if reason == "differencing":
        return (
            "not shown: it would cut across the groups released for everyone and single out "
            f"fewer than {k} people"
        )
    if reason == "period_open":
        return "not shown yet: the period is still open, so answers are still coming in"
    return "not shown: " + reason.replace("_", " ")


def short_suppression(reason: str) -> str:
    """The few words a table cell has room for."""
    if reason.startswith(ROLLED_UP) or not reason:
        return "too few responses"
    return SHORT_REASONS.get(reason, "not shown")


def format_p(value: float) -> str:
    """p- and q-values as "< 0.001", "0.042", never 0.00; "not computable" when undefined."""
    if not math.isfinite(value):
        return "not computable"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def format_score(code: str, value: float) -> str:
    if not math.isfinite(value):
        return "not computable"
    if code.endswith(TOP2):
        return f"{value * 100:.0f} %"
    return f"{value:.0f}"


def format_change(code: str, change: float) -> str:
    if code.endswith(TOP2):
        change *= 100
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change):.0f}"


def item_label(construct: str, text: str, limit: int = 48) -> str:
    """An item as a chart or table label: its measure and its (shortened) wording."""
    words = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return f"{human_name(construct)}: {words}" if words else human_name(construct)


def driver_name(name: str, items: Mapping[str, str]) -> str:
    """A driver by the words a leader reads: a measure's name, or an item's label."""
    return items.get(name) or human_name(name)


def metric_name(metric: str, outcome: str) -> str:
    """A report's customer metric: "top2box" is the outcome's share in the top two boxes."""
    if metric == "top2box":
        return measure_label(outcome.removesuffix(TOP2) + TOP2)
    return human_name(metric)
