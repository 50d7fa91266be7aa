"""Names of people are always redacted from recognition stories (pure): after titles and
cues, common given names in English, German and Spanish, and the surname that follows; plain
nouns and team names stay."""

from __future__ import annotations

import pytest
from pulse_response.names import redact_names


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Anna was wonderful and so patient.", "[name] was wonderful and so patient."),
        ("Thanks to Peter Miller, it worked!", "Thanks to [name], it worked!"),
        ("The agent, Kwame, fixed it.", "The agent, [name], fixed it."),
        ("Mr. Okafor explained everything.", "Mr. [name] explained everything."),
        ("Herr Meier hat mir sehr geholfen.", "Herr [name] hat mir sehr geholfen."),
        ("Frau Anna Schmidt war toll", "Frau [name] war toll"),
        ("Danke Jürgen für die Geduld.", "Danke [name] für die Geduld."),
        ("Gracias a Lucía por su paciencia.", "Gracias a [name] por su paciencia."),
        ("La señora Pérez me atendió muy bien.", "La señora [name] me atendió muy bien."),
        ("She was called Zoë and she was great.", "She was called [name] and she was great."),
    ],
)
def test_names_are_replaced(text: str, shown: str) -> None:
    assert redact_names(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Die Mitarbeiterin war sehr freundlich und hat mein Problem gelöst.",
        "The Contact Centre team solved it on the first call.",
        "Muy amable, resolvió todo en una llamada.",
        "Quick, friendly and thank you so much.",
    ],
)
def test_text_without_names_is_left_alone(text: str) -> None:
    assert redact_names(text) == text
