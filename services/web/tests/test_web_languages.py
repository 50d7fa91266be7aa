"""Respondent pages in English, German and Spanish (pure): every message a respondent can
meet is translated in both catalogs (extracted from the code and templates the way a
translator's tool does), the language is chosen in the documented order, items show their
translation, and the rendered form is German throughout, with ``<html lang="de">``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from jinja2 import Environment, FileSystemLoader
from pulse.types.v1 import types_pb2
from pulse_web import answers, i18n
from pulse_web.respondent import error_targets
from pulse_web.static_files import static_url

PACKAGE = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# Leader-only pages and modules stay English (the leadership dashboard is not translated).
RESPONDENT_SOURCES = ["answers.py", "pages.py", "respondent.py", "i18n.py"]
RESPONDENT_TEMPLATES = ["base.html", "form.html", "thanks.html", "invalid_link.html", "error.html"]


def extracted() -> set[str]:
    found: set[str] = set()
    for name in RESPONDENT_SOURCES:
        for _, message, _, _ in extract_from_file("python", PACKAGE / name, keywords=KEYWORDS):
            found.add(message[0] if isinstance(message, tuple) else message)
    for name in RESPONDENT_TEMPLATES:
        for _, message, _, _ in extract_from_file(
            "jinja2.ext.babel_extract",
            PACKAGE / "templates" / name,
            keywords=KEYWORDS,
            options={"extensions": "jinja2.ext.i18n"},
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("language", ["de", "es"])
def test_every_respondent_message_is_translated(language: str) -> None:
    messages = extracted()
    assert len(messages) > 60  # the extraction found the pages' texts
    catalog = i18n.catalog(language)
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == []
    # And the placeholders survive translation.
    for message in messages:
        translated = catalog[message]
        text = translated if isinstance(translated, str) else translated[0]
        assert set(re.findall(r"%\((\w+)\)", text)) == set(re.findall(r"%\((\w+)\)", message))


def test_the_language_is_the_switch_then_the_invitation_then_the_browser() -> None:
    offered = ["en", "de", "es"]
    assert i18n.choose(offered, "es", "de", "en-GB") == "es"
    assert i18n.choose(offered, "", "de-CH", "es-ES,es;q=0.9") == "de"
    assert i18n.choose(offered, "", "", "fr-FR,es;q=0.8,de;q=0.9") == "de"
    assert i18n.choose(offered, "", "", "es-MX") == "es"
    assert i18n.choose(offered, "fr", "it", "fr;q=1, *;q=0.5") == "en"
    assert i18n.choose(["de"], "", "", "") == "de"  # a survey only in German
    assert i18n.parse_accept_language("en;q=0.2, de-DE, es;q=0") == ["de-DE", "en"]


def test_a_survey_offers_the_languages_every_item_has() -> None:
    definition = types_pb2.SurveyDefinition(language="en", languages=["en", "de", "es", "fr"])
    assert i18n.offered(definition) == ["en", "de", "es"]  # no catalog for fr
    assert i18n.offered(types_pb2.SurveyDefinition(language="de")) == ["de"]
    assert i18n.offered(types_pb2.SurveyDefinition(language="it")) == ["en"]


def test_items_and_scale_labels_are_translated() -> None:
    item = types_pb2.Item(
        item_id="staff.1",
        text="The person who helped me treated me with respect.",
        language="en",
        scale=types_pb2.SCALE_LIKERT_5,
        required=True,
        translations={"de": "Die Person hat mich mit Respekt behandelt."},
    )
    [german] = answers.form_items([item], i18n.Translator("de"))
    assert german.text == "Die Person hat mich mit Respekt behandelt."
    assert german.choices[0].label == "1 – Stimme überhaupt nicht zu"
    [spanish] = answers.form_items([item], i18n.Translator("es"))
    assert spanish.text == item.text  # no Spanish wording: the item's own
    assert spanish.choices[4].label == "5 – Totalmente de acuerdo"
    parsed = answers.parse_answers([german], {}, i18n.Translator("de"))
    assert parsed.errors == {"staff.1": "Bitte beantworten Sie diese Frage."}
    plural = i18n.Translator("es").ngettext(
        "Please check %(num)d answer", "Please check %(num)d answers", 3
    )
    assert plural == "Revise 3 respuestas"


def test_the_german_form_has_no_english_left() -> None:
    env = Environment(loader=FileSystemLoader(PACKAGE / "templates"), autoescape=True)
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    tr = i18n.Translator("de")
    item = types_pb2.Item(
        item_id="fair.1",
        text="Decisions that affect me are made in a fair way.",
        language="en",
        scale=types_pb2.SCALE_LIKERT_5,
        required=True,
        translations={"de": "Entscheidungen, die mich betreffen, werden fair getroffen."},
    )
    comment = types_pb2.Item(
        item_id="c.1",
        text="Anything else?",
        language="en",
        scale=types_pb2.SCALE_FREE_TEXT,
        translations={"de": "Sonst noch etwas?"},
    )
    items = answers.form_items([item, comment], tr)
    html = env.get_template("form.html").render(
        **tr.context(),
        languages=i18n.switch_links("/s/t", ["en", "de"], "de"),
        channel="",
        period_word=tr.gettext("month"),
        token="t",
        survey_name="Pulse",
        unit_name="Team N1",
        items=items,
        errors={"fair.1": tr.gettext(answers.REQUIRED_MESSAGE)},
        error_items=items[:1],
        error_targets=error_targets(items),
        values={},
        customer=False,
        offer_share=False,
        share=False,
        min_group_size=5,
        min_comment_group_size=10,
        idempotency_key="k" * 20,
        csrf_token="c",
    )
    assert '<html lang="de">' in html
    assert "Für Ihr Team: Team N1" in html
    assert "Bitte prüfen Sie 1 Antwort" in html
    visible = re.sub(r"<[^>]+>", " ", html)
    english = [m for m in extracted() if len(m) > 12 and m in visible]
    assert english == []
