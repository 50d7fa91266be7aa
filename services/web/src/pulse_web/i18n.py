"""Respondent pages in the respondent's language: English, German and Spanish catalogs
(gettext ``.po`` files under ``locale/``, read with Babel), the choice of language and the
translation of a survey's items. Pure apart from reading the packaged catalogs once.

The language of a respondent page is, in order: the one picked with the switch on the page
(``?lang=`` / the form's hidden ``lang``), the invitation's (roster or interaction
language, carried by the token's grant), the browser's ``Accept-Language``, the survey's
own. Only languages the survey offers for every item (``SurveyDefinition.languages``) and
that have a catalog here are chosen."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel import negotiate_locale
from babel.messages.pofile import read_po
from pulse.types.v1 import types_pb2

LANGUAGES = ("en", "de", "es")
DEFAULT = "en"
# Each language named in itself, for the switch.
NATIVE_NAMES = {"en": "English", "de": "Deutsch", "es": "Español"}
MAX_ACCEPT_LANGUAGE = 40


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for "mark, translate later")
    """Marks a message for extraction; it is translated where it is shown."""
    return message


@functools.cache
def catalog(language: str) -> dict[str, str | tuple[str, ...]]:
    """msgid -> msgstr (a tuple of forms for plurals); empty for English, the source."""
    if language == DEFAULT:
        return {}
    path = resources.files("pulse_web").joinpath("locale", f"{language}.po")
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language)
    entries: dict[str, str | tuple[str, ...]] = {}
    for message in parsed:
        if not message.id or not message.string:
            continue
        key = message.id if isinstance(message.id, str) else str(message.id[0])
        value = message.string
        entries[key] = value if isinstance(value, str) else tuple(str(form) for form in value)
    return entries


@dataclass(frozen=True)
class Translator:
    """gettext/ngettext of one language, with %-formatting as Jinja2's newstyle gettext."""

    language: str

    def gettext(self, message: str, **values: Any) -> str:
        found = catalog(self.language).get(message)
        text = found if isinstance(found, str) and found else message
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        found = catalog(self.language).get(singular)
        forms = [form for form in found if form] if isinstance(found, tuple) else []
        if len(forms) >= 2:
            # en, de, es: one form for 1, another for everything else (CLDR's third Spanish
            # form, for millions, is left empty: the second reads right there too).
            text = forms[0] if n == 1 else forms[1]
        else:
            text = singular if n == 1 else plural
        return text % {"num": n, **values}

    def context(self) -> dict[str, Callable[..., str] | str]:
        """What a template needs: ``_``, ``gettext``, ``ngettext`` and ``lang``."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "lang": self.language,
        }


def base_language(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, most preferred first (RFC 9110
    §12.5.4: q-values, default 1; q=0 means "not this one")."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:MAX_ACCEPT_LANGUAGE]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def offered(definition: types_pb2.SurveyDefinition) -> list[str]:
    """The page languages a survey can be answered in: its languages with a catalog here,
    its own first (English when it offers none of them)."""
    languages = list(definition.languages) or [definition.language or DEFAULT]
    usable = [base_language(tag) for tag in languages if base_language(tag) in LANGUAGES]
    return list(dict.fromkeys(usable)) or [DEFAULT]


def choose(choices: Sequence[str], picked: str, invitation: str, accept_language: str) -> str:
    """The page language among ``choices`` (see the module docstring for the order)."""
    for wanted in (picked, invitation):
        if wanted and base_language(wanted) in choices:
            return base_language(wanted)
    preferred = [base_language(tag) for tag in parse_accept_language(accept_language)]
    negotiated = negotiate_locale(preferred, list(choices), sep="-")
    return negotiated if negotiated else choices[0]


def item_text(item: types_pb2.Item, language: str) -> str:
    """The item's wording in ``language`` (its own wording when it has none)."""
    if base_language(item.language) == language:
        return item.text
    for tag, text in item.translations.items():
        if base_language(tag) == language:
            return text
    return item.text


def survey_name(definition: types_pb2.SurveyDefinition, language: str) -> str:
    """The survey's name in ``language`` (its own name when it has none there)."""
    for tag, name in definition.name_translations.items():
        if base_language(tag) == language:
            return name
    return definition.name


def switch_links(path: str, languages: Iterable[str], current: str) -> list[dict[str, str]]:
    """The language switch: one link per language, the current one marked."""
    return [
        {
            "language": language,
            "name": NATIVE_NAMES[language],
            "href": f"{path}?lang={language}",
            "current": "true" if language == current else "",
        }
        for language in languages
    ]
