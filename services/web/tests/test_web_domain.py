"""Pure parts of the web front: accounts, CSRF, answer parsing, scope, filters, fit band,
heatmap colours, rate limits, periods and configuration. No I/O."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.config import ConfigError, load_settings
from pulse_common.periods import periods_back
from pulse_common.ratelimit import SlidingWindowLimiter
from pulse_common.scope import subtree_ids
from pulse_common.secrets import WEB_SESSION_SECRET, ensure_embedded_secrets, read_generated
from pulse_web import accounts, answers, csrf, filters, fit, heatmap, org, report_view
from pulse_web.app import create_app
from pulse_web.config import DEV_PASSWORD, DEV_USERNAME, load_web_config

STATIC = Path(heatmap.__file__).parent / "static"


def test_passwords_hash_and_verify() -> None:
    encoded = accounts.hash_password("s3cret", iterations=10_000)
    assert encoded.startswith("pbkdf2_sha256$10000$")
    assert accounts.verify_password("s3cret", encoded)
    assert not accounts.verify_password("s3cret ", encoded)
    assert not accounts.verify_password("s3cret", "md5$1$00$00")


def test_accounts_parse_with_scopes_and_name_the_variable() -> None:
    encoded = accounts.hash_password("pw", iterations=10_000)
    parsed = accounts.parse_accounts(f"ceo:{encoded}: ; north_lead:{encoded}:north")
    assert parsed["ceo"].scope_unit_id == ""
    assert parsed["north_lead"].scope_unit_id == "north"
    assert accounts.authenticate(parsed, "north_lead", "pw") == parsed["north_lead"]
    assert accounts.authenticate(parsed, "north_lead", "wrong") is None
    assert accounts.authenticate(parsed, "nobody", "pw") is None
    for bad in ("ceo", f"ceo:{encoded}", "ceo:plain:north", f"a b:{encoded}:", f"x:{encoded}:a/b"):
        with pytest.raises(ConfigError, match="PULSE_WEB_ACCOUNTS"):
            accounts.parse_accounts(bad)
    with pytest.raises(ConfigError, match="twice"):
        accounts.parse_accounts(f"a:{encoded}:;a:{encoded}:")


def test_web_config_defaults_and_validation(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # No session secret anywhere: the web refuses to start, naming the variable.
    env = {"PULSE_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="PULSE_WEB_SESSION_SECRET"):
        load_web_config(env)
    ensure_embedded_secrets(tmp_path)  # what `pulse dev up` does once
    settings = load_settings(env)
    config = load_web_config(env)
    assert config.settings == settings
    assert config.using_dev_account
    assert accounts.authenticate(config.accounts, DEV_USERNAME, DEV_PASSWORD) is not None
    assert config.accounts[DEV_USERNAME].scope_unit_id == ""
    assert "PULSE_WEB_ACCOUNTS is not set" not in caplog.text
    create_app(config)  # the dev account is announced when the app is built
    assert "PULSE_WEB_ACCOUNTS is not set" in caplog.text
    assert config.session_secret == read_generated(tmp_path, WEB_SESSION_SECRET)
    assert config.session_secret != settings.hmac_secret
    assert config.decoy_hash  # unknown users cost a real hash
    # Secure cookies by default, except when the web listens on loopback only.
    assert not config.secure_cookies
    assert load_web_config({**env, "PULSE_WEB_ADDR": "0.0.0.0:8080"}).secure_cookies
    assert not load_web_config(
        {**env, "PULSE_WEB_ADDR": "0.0.0.0:8080", "PULSE_WEB_SECURE_COOKIES": "false"}
    ).secure_cookies
    with pytest.raises(ConfigError, match="PULSE_WEB_TRUSTED_PROXIES"):
        load_web_config({**env, "PULSE_WEB_TRUSTED_PROXIES": "10.0.0.1, nope"})
    with pytest.raises(ConfigError, match="PULSE_WEB_SESSION_SECRET"):
        load_web_config({"PULSE_WEB_SESSION_SECRET": "short"}, settings=settings)
    with pytest.raises(ConfigError, match="PULSE_WEB_SUBMIT_RATE_LIMIT"):
        load_web_config({"PULSE_WEB_SUBMIT_RATE_LIMIT": "many"}, settings=settings)
    # The deployment-wide part is read from the same variables when not given.
    with pytest.raises(ConfigError, match="PULSE_PERIOD"):
        load_web_config({"PULSE_PERIOD": "year"})
    assert load_web_config({**env, "PULSE_PERIOD": "week"}).settings.period == "week"


def test_csrf_tokens_are_bound_to_their_purpose_and_expire() -> None:
    token = csrf.make_csrf_token("k" * 32, "/s/abc", now=1_000_000)
    assert csrf.check_csrf_token("k" * 32, "/s/abc", token, now=1_000_100)
    assert not csrf.check_csrf_token("k" * 32, "/s/other", token, now=1_000_100)
    assert not csrf.check_csrf_token("j" * 32, "/s/abc", token, now=1_000_100)
    assert not csrf.check_csrf_token("k" * 32, "/s/abc", token, now=1_000_000 + csrf.MAX_AGE_S + 1)
    assert not csrf.check_csrf_token("k" * 32, "/s/abc", "", now=1_000_100)
    assert not csrf.check_csrf_token("k" * 32, "/s/abc", "123.abc", now=1_000_100)


def _item(item_id: str, scale: int, required: bool = True) -> types_pb2.Item:
    return types_pb2.Item(item_id=item_id, text=item_id, scale=scale, required=required)  # type: ignore[arg-type]


ITEMS = answers.form_items(
    [
        _item("rec.1", types_pb2.SCALE_LIKERT_5),
        _item("nps.1", types_pb2.SCALE_NPS_0_10),
        _item("ces.1", types_pb2.SCALE_CES_1_7, required=False),
        _item("c.1", types_pb2.SCALE_FREE_TEXT, required=False),
    ]
)


def test_scales_become_labelled_choices() -> None:
    likert, nps, ces, text = ITEMS
    assert [c.value for c in likert.choices] == [1, 2, 3, 4, 5]
    assert likert.choices[0].label == "1 – Strongly disagree"
    assert [c.value for c in nps.choices] == list(range(11))
    assert nps.anchors == ("0 = Not at all likely", "10 = Extremely likely")
    assert nps.choices[10].label == "10 – Extremely likely"
    assert len(ces.choices) == 7
    assert text.widget == "text"
    assert text.choices == ()


def test_answers_parse_in_item_order_with_messages_per_item() -> None:
    ok = answers.parse_answers(ITEMS, {"a_rec.1": "4", "a_nps.1": "0", "a_c.1": "  fine  "})
    assert ok.errors == {}
    assert ok.answers == [("rec.1", 4), ("nps.1", 0), ("c.1", "fine")]
    proto = answers.to_proto(ok.answers)
    assert proto[0].score == 4
    assert proto[2].text == "fine"
    assert proto[2].WhichOneof("value") == "text"

    bad = answers.parse_answers(ITEMS, {"a_nps.1": "11", "a_ces.1": "x", "a_c.1": "y" * 2001})
    assert bad.errors == {
        "rec.1": answers.REQUIRED_MESSAGE,
        "nps.1": answers.CHOICE_MESSAGE,
        "ces.1": answers.CHOICE_MESSAGE,
        "c.1": "Please keep this under 2000 characters (it has 2001).",
    }
    assert bad.values["a_nps.1"] == "11"


def test_service_errors_point_at_the_item() -> None:
    sent: list[tuple[str, int | str]] = [("rec.1", 4), ("nps.1", 9)]
    known = ["rec.1", "nps.1"]
    assert answers.item_for_server_error("answers[1].score", "x", sent, known) == "nps.1"
    assert (
        answers.item_for_server_error("answers", "required item 'rec.1' is missing", sent, known)
        == "rec.1"
    )
    assert answers.item_for_server_error("token", "nope", sent, known) is None
    assert answers.readable_server_message("answers[1].score: must be 0-10") == "must be 0-10"


def test_subtree_and_scope_checks() -> None:
    edges = [("root", ""), ("north", "root"), ("n1", "north"), ("south", "root"), ("s1", "south")]
    north = set(subtree_ids("north", edges))
    assert north == {"north", "n1"}
    assert subtree_ids("", edges) == {"root", "north", "n1", "south", "s1"}
    assert org.in_scope("north", "n1", north)
    assert org.in_scope("north", "", north)
    assert not org.in_scope("north", "south", north)
    assert not org.in_scope("north", "root", north)
    assert org.in_scope("", "anything", set())


def test_filters_take_units_and_periods_of_the_deployment() -> None:
    assert filters.optional_unit_id("scope", "  ") == ""
    assert filters.optional_unit_id("scope", " n1 ") == "n1"
    with pytest.raises(errors.InvalidArgument) as bad_unit:
        filters.optional_unit_id("scope", "a/b")
    assert bad_unit.value.field == "scope"
    assert filters.period_range("2026-01", "", "month") == ("2026-01", "")
    assert filters.period_range(None, " 2026-03 ", "month") == ("", "2026-03")
    assert filters.period_range("2026-W09", "2026-W11", "week") == ("2026-W09", "2026-W11")
    query = {"unit": "n1", "from": "2026-01", "to": "2026-03", "scope": "a/b"}
    assert filters.unit_and_periods(query, "unit", "month") == ("n1", "2026-01", "2026-03")
    with pytest.raises(errors.InvalidArgument, match="scope"):
        filters.unit_and_periods(query, "scope", "month")
    for text_from, text_to, granularity, field in (
        ("2026-W09", "", "month", "from"),  # the other granularity is refused
        ("", "2026-03", "week", "to"),
        ("2026-13", "", "month", "from"),
        ("2026-03", "2026-01", "month", "to"),  # to before from
    ):
        with pytest.raises(errors.InvalidArgument) as bad:
            filters.period_range(text_from, text_to, granularity)  # type: ignore[arg-type]
        assert bad.value.field == field, (text_from, text_to)


def test_t_quantile_matches_tables() -> None:
    for df, expected in ((3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (1000, 1.962)):
        assert fit.t_quantile(0.975, df) == pytest.approx(expected, rel=3e-3)


def test_fit_band_is_ols_with_a_band_narrowest_at_the_mean() -> None:
    xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    ys = [2.1, 3.9, 6.2, 7.8, 10.1, 11.9]
    band = fit.fit_with_band(xs, ys, 0.95, steps=10)
    assert band is not None
    assert band.slope == pytest.approx(1.9771, abs=1e-3)
    assert band.intercept == pytest.approx(0.08, abs=1e-9)
    # Half-width at x = 1 from scipy (t.ppf(0.975, 4) * s * sqrt(1/n + (x - mean)^2 / Sxx)).
    x, fitted, _, upper = band.line[0]
    assert x == 1.0
    assert upper - fitted == pytest.approx(0.334524, rel=1e-3)
    widths = [hi - lo for _, _, lo, hi in band.line]
    assert widths.index(min(widths)) == 5  # x = 3.5, the mean
    assert all(lo < f < hi for _, f, lo, hi in band.line)
    assert fit.fit_with_band([1, 2, 3], [1, 2, 3]) is None
    assert fit.fit_with_band([2.0] * 6, ys) is None


def test_heatmap_steps_match_the_stylesheet_and_suppression_is_in_words() -> None:
    css = (STATIC / "style.css").read_text()
    assert heatmap.stylesheet_rules() in css
    assert heatmap.step_for(0, 0, 100) == 0
    assert heatmap.step_for(100, 0, 100) == heatmap.STEPS
    assert heatmap.step_for(150, 0, 100) == heatmap.STEPS
    assert heatmap.step_for(0, -100, 100) == 5
    assert heatmap.value_range("nps") == heatmap.value_range("internal.nps") == (-100.0, 100.0)
    assert heatmap.value_range("csat") == (0.0, 100.0)
    cells = [
        corr_pb.ScoreCell(
            unit_id="n1",
            unit_name="N1",
            period="2026-01",
            construct="csat",
            n=8,
            value=80,
            ci_low=70,
            ci_high=90,
        ),
        corr_pb.ScoreCell(
            unit_id="n2", unit_name="N2", period="2026-01", construct="csat", n=3, suppressed=True
        ),
        corr_pb.ScoreCell(
            unit_id="n1", unit_name="N1", period="2026-02", construct="csat", n=9, value=60
        ),
    ]
    (table,) = heatmap.build_tables(cells, 5)
    assert table.periods == ["2026-01", "2026-02"]
    n1, n2 = table.rows
    assert n1.cells[0].text == "80"
    assert n1.cells[0].css_class == "heat-8"
    assert "n = 8" in n1.cells[0].description
    assert n2.cells[0].text == "too few responses"
    assert n2.cells[0].description == "not shown: fewer than 5 responses"
    assert n2.cells[0].suppressed
    assert n2.cells[1].text == "–"


def test_rate_limiter_slides() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 10, clock=lambda: now[0])
    assert limiter.allow("a")
    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")
    now[0] = 10.5
    assert limiter.allow("a")


def test_default_period_ranges() -> None:
    assert periods_back(date(2026, 3, 15), "month", 6) == ("2025-10", "2026-03")
    assert periods_back(date(2026, 3, 15), "week", 3) == ("2026-W09", "2026-W11")


def test_report_chart_payload_and_safe_json() -> None:
    points = [
        corr_pb.UnitPoint(unit_id=f"u{i}", unit_name=f"U{i}", predictor=50 + i, outcome=60 + 2 * i)
        for i in range(6)
    ]
    lags = [
        corr_pb.LagEstimate(
            lag=lag, estimate=corr_pb.Estimate(r=0.1 * lag, ci_low=-0.5, ci_high=0.6, n=6)
        )
        for lag in (1, -1, 0)
    ]
    report = corr_pb.LinkageReport(
        outcome="csat",
        linkages=[
            corr_pb.PredictorLinkage(predictor="treatment.fairness", points=points, lags=lags)
        ],
        drivers=[
            corr_pb.Driver(name="</script>", estimate=corr_pb.Estimate(r=0.4), q_value=0.04),
            corr_pb.Driver(name="b", estimate=corr_pb.Estimate(r=float("nan")), q_value=1.0),
        ],
    )
    payload = report_view.chart_payload(report)
    assert payload["predictor"] == "treatment.fairness"
    assert payload["scatter"]["xLabel"] == "Fairness (score, 0 to 100)"  # measures' human names
    assert payload["scatter"]["yLabel"] == "Customer satisfaction (CSAT) (score, 0 to 100)"
    assert payload["scatter"]["xRange"] == payload["scatter"]["yRange"] == (0.0, 100.0)
    assert len(payload["scatter"]["points"]) == 6
    assert len(payload["scatter"]["fit"]) == 25
    assert payload["lags"]["labels"][0].startswith("-1 (outcome leads)")
    assert payload["lags"]["labels"][2].startswith("+1 (treatment leads)")
    assert payload["drivers"]["r"] == [0.4, None]
    text = report_view.script_json(payload)
    assert "</script>" not in text
    assert json.loads(text)["drivers"]["labels"][0].startswith("</script>")
    assert not math.isnan(payload["scatter"]["fit"][0]["y"])


def test_tables_follow_the_org_tree() -> None:
    from pulse_web.org import UnitInfo, tree_order

    units = [
        UnitInfo("root", "Root", "", 0),
        UnitInfo("south", "South", "root", 1),
        UnitInfo("north", "North", "root", 1),
        UnitInfo("s1", "Team S1", "south", 2),
        UnitInfo("n1", "Team N1", "north", 2),
    ]
    order = tree_order(units)
    assert order == ["root", "north", "n1", "south", "s1"]
    cells = [
        corr_pb.ScoreCell(unit_id=u, unit_name=u, period="2026-01", construct="csat", n=9, value=50)
        for u in ("s1", "root", "n1")
    ]
    (table,) = heatmap.build_tables(cells, 5, order)
    assert [row.unit_id for row in table.rows] == ["root", "n1", "s1"]
