"""A report's notes as a leader reads them (pure). The correlation service keeps why a
statistic was not computed in the statistics library's words ("Pearson not computed: need
at least 4 complete (x, y) pairs for a pearson correlation (got 0)"), which is right for an
analyst's export and wrong on a leader's page: here they become sentences, measure and item
codes become their names."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulse_web.words import driver_name, measure_label

NOT_COMPUTED = re.compile(r"^(?P<label>.+?) not computed: (?P<why>.+)$", re.DOTALL)
NEED = re.compile(r"need at least (?P<need>\d+) (?P<what>.+?) \(got (?P<got>\d+)\)")
CODE = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")
METHODS = re.compile(r"\b(pearson|spearman|kendall)\b")

# What the library counted, as a leader counts it.
COUNTED = (
    ("pairs", "units with figures for both measures"),
    ("rows", "units with figures for every measure"),
    ("respondents", "people who answered"),
    ("groups", "units"),
    ("subjects", "units"),
    ("units", "units"),
    ("periods", "periods"),
)
# Other reasons, by a word they contain.
REASONS = (
    ("constant", "the figures do not vary, so it is not defined"),
    ("collinear", "the measures move together too closely to be told apart"),
    ("linear function", "the measures move together too closely to be told apart"),
    ("bootstrap", "too few units vary for an interval to be estimated"),
    ("two or more respondents", "no unit has two or more answers"),
)


def _names(text: str, items: Mapping[str, str]) -> str:
    def name(match: re.Match[str]) -> str:
        code = match.group(0)
        label = driver_name(code, items) if code in items else measure_label(code)
        return code if label == code else label

    return METHODS.sub(lambda m: m.group(1).capitalize(), CODE.sub(name, text))


def why_in_words(why: str) -> str:
    need = NEED.search(why)
    if need:
        what = need.group("what")
        counted = next((words for key, words in COUNTED if key in what), "units with data")
        return (
            f"not enough data: it needs at least {need.group('need')} {counted}, "
            f"and there are {need.group('got')}"
        )
    for key, words in REASONS:
        if key in why:
            return words
    return "not enough data"


def leader_note(text: str, items: Mapping[str, str] | None = None) -> str:
    """A caveat, warning or note in words: "<what> could not be computed: <why in words>";
    codes named; anything else passes with its codes named."""
    names = items or {}
    found = NOT_COMPUTED.match(text.strip())
    if found is None and NEED.search(text):  # a bare library message (an estimate's note)
        why = why_in_words(text)
        return f"{why[:1].upper()}{why[1:]}."
    if found is None:
        return _names(text, names)
    label = _names(found.group("label"), names)
    return f"{label} could not be computed: {why_in_words(found.group('why'))}."
