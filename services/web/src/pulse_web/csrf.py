"""CSRF tokens: an HMAC over a purpose (the form's path or the session) and an issue time,
so a token minted for one survey link cannot be replayed on another (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

MAX_AGE_S = 4 * 3600


def _mac(secret: str, purpose: str, issued: int) -> str:
    message = f"csrf|{purpose}|{issued}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_csrf_token(secret: str, purpose: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_mac(secret, purpose, issued)}"


def check_csrf_token(
    secret: str, purpose: str, token: str, now: float | None = None, max_age_s: int = MAX_AGE_S
) -> bool:
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or not mac:
        return False
    issued = int(issued_text)
    current = time.time() if now is None else now
    if not issued - 60 <= current <= issued + max_age_s:
        return False
    return hmac.compare_digest(mac, _mac(secret, purpose, issued))
