"""Strip contact details (and, for storage, names of people) from comments: comments are
stored redacted, so the raw text is never kept (issue 13), and redacted again when shown."""

from __future__ import annotations

import re

from pulse_response.names import redact_names

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


def storage_text(text: str) -> str:
    """What is stored of a comment: contact details and likely names of people removed
    (``names.redact_names``; Pulse keeps no names of its own to match against)."""
    return redact_names(redact(text))
