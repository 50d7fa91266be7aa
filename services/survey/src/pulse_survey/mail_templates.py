"""Invitation and reminder e-mails per survey kind and language, as plain text and HTML
(pure: no I/O beyond reading the packaged templates once). The words are in
``mail/texts.yaml`` (per kind and language: en, de, es), the layouts in ``mail/layout.txt``
and ``mail/layout.html``; Jinja2 fills them, escaping every value in the HTML."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import yaml
from babel.dates import format_date
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup
from pulse_common import measures

LANGUAGES = ("en", "de", "es")
FALLBACK = "en"
_TEXT_KEYS = ("greeting", "intro", "button", "link_hint", "expiry", "privacy", "unsubscribe")


@dataclass(frozen=True)
class MailContext:
    kind: int
    language: str  # the respondent's language tag ("" = the survey's)
    survey_name: str
    unit_name: str
    channel: str
    last_day: date  # the last day the link works
    k: int  # the survey's minimum group size
    period: str  # "month" or "week" (PULSE_PERIOD)
    link: str
    reminder: bool


@dataclass(frozen=True)
class RenderedMail:
    language: str  # the language actually used
    subject: str
    plain_text: str
    html: str


def mail_language(tag: str) -> str:
    """The supported language closest to ``tag`` (``de-CH`` -> ``de``), else English."""
    base = tag.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else FALLBACK


@functools.cache
def _package_text(name: str) -> str:
    return resources.files("pulse_survey").joinpath("mail", name).read_text("utf-8")


@functools.cache
def texts() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(_package_text("texts.yaml"))
    return document


@functools.cache
def _environment(html: bool) -> Environment:
    return Environment(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(context: MailContext) -> RenderedMail:
    language = mail_language(context.language)
    words = texts()
    kind_texts = words[measures.kind_name(context.kind)][language]
    values = {
        "survey_name": _one_line(context.survey_name),
        "unit_name": _one_line(context.unit_name),
        "channel": words["channels"][language].get(context.channel, context.channel),
        "closes": format_date(context.last_day, format="long", locale=language),
        "k": context.k,
        "period_word": words["periods"][language][context.period],
    }
    fragments = {**words["common"][language], **kind_texts}
    if context.reminder:
        fragments["intro"] = fragments["reminder_intro"]
    subject_key = "reminder_subject" if context.reminder else "subject"
    subject = _one_line(_environment(False).from_string(fragments[subject_key]).render(values))
    layout = {"link": context.link, "language": language, "subject": subject}
    plain = _fill(False, fragments, values, layout)
    html = _fill(True, fragments, values, layout)
    return RenderedMail(language, subject, plain, html)


def _fill(
    html: bool, fragments: dict[str, str], values: dict[str, Any], layout: dict[str, str]
) -> str:
    env = _environment(html)
    parts: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        rendered = env.from_string(fragments[key]).render(values)
        # Already escaped by the autoescaping environment: place it as it is.
        parts[key] = Markup(rendered) if html else rendered
    name = "layout.html" if html else "layout.txt"
    return env.from_string(_package_text(name)).render(**layout, **parts)
