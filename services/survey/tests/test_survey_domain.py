"""Pure rules: periods, cadences, rotation balance, suppression, tokens and pseudonyms,
per-channel sampling, delivery settings and the delivery log line, the interaction
workers setting and the in-memory caches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.config import ConfigError
from pulse_common.errors import InvalidArgument
from pulse_common.periods import label_of
from pulse_survey import delivery_log, domain, rotation, sampling, settings, tokens
from pulse_survey.caches import Span, TtlCache, existed_on
from pulse_survey.delivery import Mailing


def test_periods() -> None:
    # The wave and interaction periods: pulse_common's labels.
    assert label_of(date(2025, 3, 31), "month") == "2025-03"
    assert label_of(date(2024, 12, 30), "week") == "2025-W01"  # ISO week-year
    assert label_of(date(2025, 3, 3), "week") == "2025-W10"


def test_wave_dates() -> None:
    monthly = domain.wave_dates(pb.CADENCE_MONTHLY, date(2024, 1, 31), 3, 5)
    assert [o for o, _ in monthly] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    with pytest.raises(InvalidArgument, match="count"):
        domain.wave_dates(pb.CADENCE_ONCE, date(2024, 1, 1), 2, 5)
    with pytest.raises(InvalidArgument, match="open_days"):
        domain.wave_dates(pb.CADENCE_WEEKLY, date(2024, 1, 1), 2, 8)


@given(
    n_rotatable=st.integers(2, 8),
    per_person=st.integers(1, 7),
    draw=st.integers(0, 2**64 - 1),
)
def test_rotation_keeps_fixed_items_and_display_order(
    n_rotatable: int, per_person: int, draw: int
) -> None:
    rotatable = [f"r{i}" for i in range(n_rotatable)]
    items = ["fixed.a", *rotatable, "fixed.b"]
    asked = rotation.asked_items(items, rotatable, per_person, draw)
    if per_person >= n_rotatable:
        assert asked == []  # nothing to rotate: everyone gets everything
        return
    assert asked[0] == "fixed.a"
    assert asked[-1] == "fixed.b"
    assert len(asked) == 2 + per_person
    assert asked == [i for i in items if i in asked]  # display order kept


def test_rotation_is_keyed_stable_and_balanced_in_expectation() -> None:
    secret = "s" * 40
    tokens = [f"token-{i:04d}-abcdefghijklmnop" for i in range(4000)]
    draws = [rotation.rotation_draw(secret, t) for t in tokens]
    assert draws == [rotation.rotation_draw(secret, t) for t in tokens]  # same token, same set
    assert draws != [rotation.rotation_draw("t" * 40, t) for t in tokens]  # keyed
    rotatable = ["r0", "r1", "r2", "r3"]
    counts: Counter[str] = Counter()
    for draw in draws:
        counts.update(i for i in rotation.asked_items(rotatable, rotatable, 2, draw))
    # Each item asked of half the people: 2000 expected, sd = sqrt(4000 * 0.5 * 0.5) ~ 32.
    assert all(abs(counts[i] - 2000) < 160 for i in rotatable), counts


def test_small_groups_are_withheld_entirely() -> None:
    rates = {r.unit_id: r for r in domain.response_rates({"a": (4, 4), "b": (5, 2)}, 5)}
    assert (rates["a"].invited, rates["a"].responded, rates["a"].suppressed) == (0, 0, True)
    assert (rates["b"].rate, rates["b"].suppressed) == (0.4, False)


def test_item_rules() -> None:
    good = domain.ItemSpec("x.1", "treatment.voice", "Text", "en", t.SCALE_LIKERT_5, True, False)
    domain.validate_item(good)
    for bad, field in [
        (
            domain.ItemSpec("x.1", "csat", "Text", "en", t.SCALE_LIKERT_5, False, False),
            "item.scale",
        ),
        (
            domain.ItemSpec("x.1", "comment", "Text", "en", t.SCALE_FREE_TEXT, True, False),
            "item.reverse_scored",
        ),
        (
            domain.ItemSpec("x 1", "csat", "Text", "en", t.SCALE_CSAT_1_5, False, False),
            "item.item_id",
        ),
        (
            domain.ItemSpec("x.1", "Bad Construct", "T", "en", t.SCALE_LIKERT_5, False, False),
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


def test_sampling_per_channel_is_parsed_and_deterministic() -> None:
    policy = sampling.parse_sampling(" Call=0.5, ticket=1.0 ,*=0.25", default=1.0)
    assert (policy.rate_for("call"), policy.rate_for("TICKET"), policy.rate_for("chat")) == (
        0.5,
        1.0,
        0.25,
    )
    assert sampling.parse_sampling("", default=0.3).rate_for("call") == 0.3
    secret = "s" * 40
    half = [policy.invites(secret, f"i{n}", "call") for n in range(2000)]
    assert 0.45 < sum(half) / len(half) < 0.55
    # Retries agree: the same interaction id always takes the same decision.
    assert half == [policy.invites(secret, f"i{n}", "call") for n in range(2000)]
    never = sampling.parse_sampling("call=0")
    always = sampling.parse_sampling("call=1")
    assert not any(never.invites(secret, f"i{n}", "call") for n in range(200))
    assert all(always.invites(secret, f"i{n}", "call") for n in range(200))
    # PULSE_CUSTOMER_SAMPLE_RATE stays the default for "*"; "*" in PULSE_SAMPLING wins.
    env = {"PULSE_CUSTOMER_SAMPLE_RATE": "0.4", "PULSE_SAMPLING": "call=0.1"}
    assert settings.load_survey_settings(env).sampling.rate_for("visit") == 0.4
    env["PULSE_SAMPLING"] = "call=0.1,*=0.9"
    assert settings.load_survey_settings(env).sampling.rate_for("visit") == 0.9


@pytest.mark.parametrize(
    "raw", ["call", "call=2", "call=-0.1", "call=x", "call=0.5,call=1", "bad channel=1", "=1"]
)
def test_bad_sampling_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="PULSE_SAMPLING"):
        settings.load_survey_settings({"PULSE_SAMPLING": raw})


def test_delivery_settings_and_log_line() -> None:
    default = settings.load_survey_settings({}).delivery
    assert (default.mode, default.enabled, default.public_url) == (
        "log",
        True,
        "http://127.0.0.1:8080",
    )
    custom = settings.load_survey_settings(
        {"PULSE_DELIVERY": "none", "PULSE_PUBLIC_URL": "https://pulse.example/"}
    ).delivery
    assert (custom.enabled, custom.public_url) == (False, "https://pulse.example")
    with pytest.raises(ConfigError, match="PULSE_DELIVERY"):
        settings.load_survey_settings({"PULSE_DELIVERY": "pigeon"})
    with pytest.raises(ConfigError, match="PULSE_PUBLIC_URL"):
        settings.load_survey_settings({"PULSE_PUBLIC_URL": "ftp://x"})
    mailing = Mailing(
        invitation_id="i-1",
        mailing=1,
        contact="a\tb\n@x.io",
        language="en",
        link="http://h/s/tok",
        expires_at=datetime(2026, 3, 9, tzinfo=UTC),
        subject="s",
        plain_text="p",
        html="h",
        survey_id="s-1",
    )
    line = delivery_log.log_line(datetime(2026, 3, 1, 9, 30, 5, 123, UTC), mailing)
    assert line == "2026-03-01T09:30:05Z\ta b @x.io\thttp://h/s/tok\ts-1\treminder\n"


def test_interaction_workers_setting() -> None:
    assert settings.interaction_workers({}) == 4
    assert settings.interaction_workers({"PULSE_SURVEY_INTERACTION_WORKERS": "8"}) == 8
    for raw in ("0", "-1", "x", "65", "1.5"):
        with pytest.raises(ConfigError, match="PULSE_SURVEY_INTERACTION_WORKERS"):
            settings.interaction_workers({"PULSE_SURVEY_INTERACTION_WORKERS": raw})
    # Each busy worker holds a connection: the pool must have room for them and the rest.
    env = {"PULSE_SURVEY_INTERACTION_WORKERS": "7", "PULSE_DB_POOL_MAX": "10"}
    assert settings.load_survey_settings(env).interaction_workers == 7
    env["PULSE_DB_POOL_MAX"] = "9"
    with pytest.raises(ConfigError, match=r"PULSE_SURVEY_INTERACTION_WORKERS.*PULSE_DB_POOL_MAX"):
        settings.load_survey_settings(env)


def test_settings_are_parsed_once_with_the_common_ones() -> None:
    loaded = settings.load_survey_settings({"PULSE_WAVE_SCHEDULER_INTERVAL_S": "0"})
    assert loaded.scheduler_interval_s == 0.0  # the scheduler is off
    assert settings.load_survey_settings({}).scheduler_interval_s == 30.0
    assert loaded.common.period == "month"
    with pytest.raises(ConfigError, match="PULSE_WAVE_SCHEDULER_INTERVAL_S"):
        settings.load_survey_settings({"PULSE_WAVE_SCHEDULER_INTERVAL_S": "-1"})
    with pytest.raises(ConfigError, match="PULSE_PERIOD"):
        settings.load_survey_settings({"PULSE_PERIOD": "year"})


async def test_caches_expire_and_never_keep_a_load_that_raced_a_change() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(max_age_s=2.0, clock=lambda: now[0])
    counter = iter(range(100))

    async def load() -> int:
        return next(counter)

    assert [await cache.get("", load), await cache.get("", load)] == [0, 0]
    assert await cache.get("other key", load) == 1
    now[0] = 1.9
    assert await cache.get("", load) == 0  # still fresh
    now[0] = 2.0
    assert await cache.get("", load) == 2  # expired: loaded again
    cache.invalidate()
    assert await cache.get("", load) == 3

    async def racing() -> int:
        cache.invalidate()  # a change commits while this load runs
        return 99

    now[0] = 10.0
    assert await cache.get("", racing) == 99
    assert await cache.get("", load) == 4  # 99 was not kept

    nothing: TtlCache[str, int | None] = TtlCache(clock=lambda: now[0])
    calls = 0

    async def not_found() -> int | None:
        nonlocal calls
        calls += 1
        return None

    assert [await nothing.get("", not_found), await nothing.get("", not_found)] == [None, None]
    assert calls == 2  # "nothing found" is asked again every time


def test_unit_spans_answer_as_of_a_day() -> None:
    day = date(2026, 1, 10)
    spans = {
        "a": [Span(day, day + timedelta(5)), Span(day + timedelta(5), None)],
        "b": [Span(day, day + timedelta(1))],
    }
    assert existed_on(spans, "a", day)
    assert existed_on(spans, "a", day + timedelta(400))
    assert not existed_on(spans, "a", day - timedelta(1))
    assert existed_on(spans, "b", day)
    assert not existed_on(spans, "b", day + timedelta(1))
    assert not existed_on(spans, "ghost", day)
