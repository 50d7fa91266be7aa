"""Strip contact details from customer comments before they are shown to a team."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Seven or more digits, optionally grouped by spaces, dots, dashes, slashes or parentheses,
# with an optional leading "+": phone numbers, but not years or small amounts.
PHONE = re.compile(r"(?<![\w])\+?\(?\d(?:[\s./()-]{0,2}\d){6,}(?![\w])")
URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace e-mail addresses, links and phone numbers with placeholders."""
    text = EMAIL.sub("[email removed]", text)
    text = URL.sub("[link removed]", text)
    return PHONE.sub("[phone removed]", text)
