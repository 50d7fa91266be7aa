"""Invitation and reminder e-mails per survey kind and language, as plain text and HTML
(pure: no I/O beyond reading the packaged templates once). The words are in
``mail/texts.yaml`` (per kind and language: en, de, es), the layouts in ``mail/layout.txt``
and ``mail/layout.html``; Jinja2 fills them, escaping every value in the HTML."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from typing import Any

import yaml
from babel.dates import format_date
from jinja2 import Environment, StrictUndefined, Template
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


@functools.lru_cache(maxsize=1024)
def _template(html: bool, source: str) -> Template:
    """Compiled once per text (a compile cost ~15 ms of CPU per mail, issue 20); the words
    and layouts are a few hundred packaged strings."""
    return _environment(html).from_string(source)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(context: MailContext) -> RenderedMail:
    language, subject, plain_parts, html_parts = _words(replace(context, link=""))
    layout = {"link": context.link, "language": language, "subject": subject}
    plain = _template(False, _package_text("layout.txt")).render(**layout, **dict(plain_parts))
    html = _template(True, _package_text("layout.html")).render(**layout, **dict(html_parts))
    return RenderedMail(language, subject, plain, html)


Parts = tuple[tuple[str, Any], ...]


@functools.lru_cache(maxsize=512)
def _words(context: MailContext) -> tuple[str, str, Parts, Parts]:
    """Everything of a mail but its link (the same for every mail of one survey, unit,
    channel and day: filled once, issue 20): language, subject, plain and HTML parts."""
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
    subject = _one_line(_template(False, fragments[subject_key]).render(values))
    return language, subject, _parts(False, fragments, values), _parts(True, fragments, values)


def _parts(html: bool, fragments: dict[str, str], values: dict[str, Any]) -> Parts:
    parts: list[tuple[str, Any]] = []
    for key in _TEXT_KEYS:
        rendered = _template(html, fragments[key]).render(values)
        # Already escaped by the autoescaping environment: place it as it is.
        parts.append((key, Markup(rendered) if html else rendered))
    return tuple(parts)
