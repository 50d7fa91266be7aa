"""Names of people are always redacted from recognition stories (pure).

Pulse's rule (README "Recognition board"): a story on a team's board or on the
organisation-wide page never names a person, whether the customer named an employee or
someone else, because the employee never agreed to be named and a name would tell the team
who served which customer. Pulse stores no employee names, so the redaction is a heuristic
over the text, made to err on the side of removing too much:

- a capitalised word after a title (Mr, Ms, Dr, Herr, Frau, Sr., Sra., Don, ...),
- a capitalised word after a cue that introduces a person ("named", "called", "thanks to",
  "danke", "gracias a", "se llama", ...),
- a common given name (English, German and Spanish; ``GIVEN_NAMES``) anywhere,
- and a capitalised word right after any of these (a surname).

Each becomes ``[name]``. A heuristic misses some names (an unusual given name at the start
of a sentence), which is why every story also passes a team lead's approval before it is
shown: the moderation queue asks the lead to hide any story that still names someone."""

from __future__ import annotations

import re

REDACTED = "[name]"
TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "herr",
        "herrn",
        "frau",
        "hr",
        "fr",
        "sr",
        "sra",
        "srta",
        "señor",
        "señora",
        "señorita",
        "don",
        "doña",
        "dª",
    ]
)
# Words after which the next capitalised word is taken to be a person (lower case).
CUES = (
    "named",
    "called",
    "thanks to",
    "thank you",
    "thanks",
    "agent",
    "colleague",
    "namens",
    "danke an",
    "danke",
    "dank an",
    "gracias a",
    "gracias",
    "se llama",
    "llamado",
    "llamada",
    "heißt",
)
GIVEN_NAMES = frozenset(
    [
        "aaron",
        "adam",
        "adrian",
        "agnes",
        "alan",
        "albert",
        "alejandro",
        "alex",
        "alexander",
        "alexandra",
        "alice",
        "alicia",
        "amanda",
        "amelia",
        "amy",
        "ana",
        "andrea",
        "andreas",
        "andrew",
        "angela",
        "anja",
        "anke",
        "anna",
        "anne",
        "antje",
        "antonio",
        "barbara",
        "ben",
        "benjamin",
        "bernd",
        "birgit",
        "brian",
        "carla",
        "carlos",
        "carmen",
        "caroline",
        "catherine",
        "charlie",
        "charlotte",
        "chloe",
        "chris",
        "christian",
        "christina",
        "christine",
        "claudia",
        "daniel",
        "daniela",
        "david",
        "dennis",
        "diana",
        "diego",
        "dieter",
        "dirk",
        "dominik",
        "doris",
        "eduardo",
        "elena",
        "elif",
        "elke",
        "ella",
        "emily",
        "emma",
        "eric",
        "erik",
        "eva",
        "fabian",
        "felix",
        "fernando",
        "florian",
        "francisco",
        "frank",
        "franziska",
        "gabriel",
        "gabriele",
        "george",
        "gerhard",
        "gonzalo",
        "hannah",
        "hans",
        "harry",
        "heike",
        "heinz",
        "helga",
        "helmut",
        "ines",
        "isabel",
        "jakob",
        "james",
        "jan",
        "jana",
        "javier",
        "jennifer",
        "jessica",
        "joe",
        "johannes",
        "john",
        "jonas",
        "jorge",
        "jose",
        "josé",
        "juan",
        "julia",
        "julian",
        "jürgen",
        "karin",
        "karl",
        "katharina",
        "kathrin",
        "kerstin",
        "kevin",
        "klaus",
        "laura",
        "lea",
        "lena",
        "leon",
        "lisa",
        "louis",
        "lucas",
        "lucía",
        "luis",
        "lukas",
        "manuel",
        "manuela",
        "marco",
        "maria",
        "marie",
        "mario",
        "marta",
        "martin",
        "martina",
        "mateo",
        "matthias",
        "max",
        "maximilian",
        "michael",
        "michelle",
        "miguel",
        "monika",
        "nadine",
        "natalia",
        "nicole",
        "niklas",
        "nina",
        "oliver",
        "olivia",
        "pablo",
        "patricia",
        "paul",
        "paula",
        "peter",
        "petra",
        "philipp",
        "rafael",
        "ralf",
        "raquel",
        "rebecca",
        "richard",
        "robert",
        "ruth",
        "sabine",
        "sandra",
        "sara",
        "sarah",
        "sebastian",
        "sergio",
        "simon",
        "sofia",
        "sofía",
        "sophie",
        "stefan",
        "stefanie",
        "steffen",
        "stephanie",
        "susanne",
        "svenja",
        "sven",
        "thomas",
        "tim",
        "tobias",
        "tom",
        "torsten",
        "ulrike",
        "ursula",
        "uwe",
        "valentina",
        "vanessa",
        "victoria",
        "wolfgang",
        "yvonne",
    ]
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def redact_names(text: str) -> str:
    """``text`` with every likely personal name replaced by ``[name]``."""
    words = list(_WORD.finditer(text))
    redact: set[int] = set()
    lowered = text.lower()
    for index, match in enumerate(words):
        word = match.group(0)
        if not _capitalised(word):
            continue
        previous = words[index - 1].group(0).lower().rstrip(".") if index else ""
        before = lowered[: match.start()].rstrip(" ,:.-").rstrip()
        after_cue = any(before == cue or before.endswith(f" {cue}") for cue in CUES)
        if (
            word.lower() in GIVEN_NAMES
            or previous in TITLES
            or after_cue
            or (index - 1 in redact and _adjacent(text, words[index - 1], match))
        ):
            redact.add(index)
    pieces, last = [], 0
    for index in sorted(redact):
        match = words[index]
        # One placeholder for a given name and surname together.
        if not (index - 1 in redact and _adjacent(text, words[index - 1], match)):
            pieces += [text[last : match.start()], REDACTED]
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _adjacent(text: str, first: re.Match[str], second: re.Match[str]) -> bool:
    """Two words separated by a single space (a name followed by a surname)."""
    return text[first.end() : second.start()] == " "
