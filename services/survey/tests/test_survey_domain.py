"""Pure rules: periods, cadences, rotation balance, suppression, tokens and pseudonyms."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulse_common.errors import InvalidArgument
from pulse_survey import domain, tokens


def test_periods() -> None:
    assert domain.period_of(date(2025, 3, 31), "month") == "2025-03"
    assert domain.period_of(date(2024, 12, 30), "week") == "2025-W01"  # ISO week-year
    assert domain.period_of(date(2025, 3, 3), "week") == "2025-W10"


def test_wave_dates() -> None:
    monthly = domain.wave_dates(domain.MONTHLY, date(2024, 1, 31), 3, 5)
    assert [o for o, _ in monthly] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    with pytest.raises(InvalidArgument, match="count"):
        domain.wave_dates(domain.ONCE, date(2024, 1, 1), 2, 5)
    with pytest.raises(InvalidArgument, match="open_days"):
        domain.wave_dates(domain.WEEKLY, date(2024, 1, 1), 2, 8)


@given(
    n_rotatable=st.integers(2, 8),
    per_person=st.integers(1, 7),
    people=st.integers(1, 60),
)
def test_rotation_is_balanced_and_keeps_fixed_items(
    n_rotatable: int, per_person: int, people: int
) -> None:
    rotatable = [f"r{i}" for i in range(n_rotatable)]
    items = ["fixed.a", *rotatable, "fixed.b"]
    counts: Counter[str] = Counter()
    for index in range(people):
        asked = domain.rotation_for(items, rotatable, per_person, index)
        if per_person >= n_rotatable:
            assert asked == []  # nothing to rotate: everyone gets everything
            return
        assert asked[0] == "fixed.a"
        assert asked[-1] == "fixed.b"
        assert len(asked) == 2 + per_person
        assert asked == [i for i in items if i in asked]  # display order kept
        counts.update(i for i in asked if i in rotatable)
    values = [counts[i] for i in rotatable]
    assert max(values) - min(values) <= 1


def test_small_groups_are_withheld_entirely() -> None:
    rates = {r.unit_id: r for r in domain.response_rates({"a": (4, 4), "b": (5, 2)}, 5)}
    assert (rates["a"].invited, rates["a"].responded, rates["a"].suppressed) == (0, 0, True)
    assert (rates["b"].rate, rates["b"].suppressed) == (0.4, False)


def test_item_rules() -> None:
    good = domain.ItemSpec("x.1", "treatment.voice", "Text", "en", domain.LIKERT_5, True, False)
    domain.validate_item(good)
    for bad, field in [
        (domain.ItemSpec("x.1", "csat", "Text", "en", domain.LIKERT_5, False, False), "item.scale"),
        (
            domain.ItemSpec("x.1", "comment", "Text", "en", domain.FREE_TEXT, True, False),
            "item.reverse_scored",
        ),
        (
            domain.ItemSpec("x 1", "csat", "Text", "en", domain.CSAT_1_5, False, False),
            "item.item_id",
        ),
        (
            domain.ItemSpec("x.1", "Bad Construct", "T", "en", domain.LIKERT_5, False, False),
            "item.construct",
        ),
    ]:
        with pytest.raises(InvalidArgument) as raised:
            domain.validate_item(bad)
        assert raised.value.field == field


def test_tokens_and_pseudonyms() -> None:
    minted = {tokens.new_token() for _ in range(200)}
    assert len(minted) == 200
    assert all(tokens.well_formed(t) and len(t) >= 43 for t in minted)  # 256 bits base64url
    secret = "s" * 40
    assert tokens.employee_pseudonym(secret, " E1 ") == tokens.employee_pseudonym(secret, "E1")
    assert tokens.employee_pseudonym(secret, "E1") != tokens.employee_pseudonym("t" * 40, "E1")
    assert tokens.contact_pseudonym(secret, "A@x.io") == tokens.contact_pseudonym(secret, "a@x.io ")
    assert tokens.pseudonym(secret, "employee", "x") != tokens.pseudonym(secret, "contact", "x")
    draws = [tokens.sample_draw(secret, f"i{n}") for n in range(2000)]
    assert all(0 <= d < 1 for d in draws)
    assert 0.45 < sum(d < 0.5 for d in draws) / len(draws) < 0.55
