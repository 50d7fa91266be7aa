"""Secrets handling: survey tokens (only their hash is stored), redemption keys and HMAC
pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# 32 random bytes = 256 bits of entropy (DESIGN §3 asks for at least 128).
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(token: str) -> bool:
    return bool(_TOKEN_SHAPE.match(token))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def redemption_key_hash(secret: str, invitation_id: str, key: str) -> str:
    """What is kept of a caller's redemption key: a retry with the same key is recognised,
    the key itself is not stored."""
    message = f"redeem:{invitation_id}:{key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def keyed_redemption_key(secret: str, key: str) -> str:
    """The caller's redemption key under the deployment secret (what may reach SQL)."""
    return hmac.new(secret.encode(), f"redeem-key:{key}".encode(), hashlib.sha256).hexdigest()


def bound_redemption_key_hash(invitation_id: str, keyed: str) -> str:
    """What is kept of a redemption key: bound to the invitation (computed the same way in
    SQL by ``invitation_repository.redeem``)."""
    return hashlib.sha256(f"{invitation_id}:{keyed}".encode()).hexdigest()


def same_redemption_key(secret: str, invitation_id: str, key: str, stored: str) -> bool:
    """Whether ``key`` is the one that redeemed the invitation (either way of keeping it:
    invitations redeemed before the one-statement redemption keep the older hash)."""
    current = bound_redemption_key_hash(invitation_id, keyed_redemption_key(secret, key))
    older = redemption_key_hash(secret, invitation_id, key)
    return hmac.compare_digest(stored, current) | hmac.compare_digest(stored, older)


def pseudonym(secret: str, namespace: str, value: str) -> str:
    """HMAC-SHA256 under the deployment secret; the namespace keeps employee ids and
    contacts from colliding."""
    message = f"{namespace}:{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def employee_pseudonym(secret: str, employee_id: str) -> str:
    return pseudonym(secret, "employee", employee_id.strip())


def contact_pseudonym(secret: str, contact: str) -> str:
    """Same person, same pseudonym, whether asked as employee or as customer."""
    return pseudonym(secret, "contact", contact.strip().lower())


def sample_draw(secret: str, interaction_id: str) -> float:
    """A deterministic uniform draw in [0, 1) per interaction, so a redelivered event
    takes the same sampling decision."""
    digest = hmac.new(secret.encode(), f"sample:{interaction_id}".encode(), hashlib.sha256)
    return int.from_bytes(digest.digest()[:8], "big") / 2**64
