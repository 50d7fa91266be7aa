"""Which optional items a token's holder is asked (a wave's rotation), derived when the
token is inspected or redeemed from a keyed hash of the token itself, so that no table
stores a person's item set (issue 13): the database keeps only the token's SHA-256, and
the key is the deployment secret, so neither a database reader nor a holder of the secret
without the token can recompute anyone's set. Pure: no I/O.

The window of ``per_person`` rotatable items starts at ``HMAC(key, token) mod m`` (``m``
rotatable items), so each start, and hence each item, is equally likely: each item is asked
of a share ``per_person / m`` of people in expectation (balanced in expectation, not
exactly per wave as a counter would be; a counter needs a stored slot per person)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

_LABEL = b"pulse-rotation:"


def rotation_draw(secret: str, token: str) -> int:
    """A 64-bit keyed draw of ``token`` (HMAC-SHA256, RFC 2104) under a key derived from
    the deployment secret for this one use."""
    key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def asked_items(
    item_ids: Sequence[str], rotatable: Sequence[str], per_person: int, draw: int
) -> list[str]:
    """Every fixed item plus a window of ``per_person`` rotatable items starting at
    ``draw mod len(rotatable)``, in the survey's order. Empty means "all items" (no
    rotation)."""
    if per_person <= 0 or per_person >= len(rotatable):
        return []
    start = draw % len(rotatable)
    chosen = {rotatable[(start + offset) % len(rotatable)] for offset in range(per_person)}
    rotating = set(rotatable)
    return [item for item in item_ids if item not in rotating or item in chosen]
