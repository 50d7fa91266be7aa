"""The form grant: what InspectToken granted for a token, sealed by the response service
when it shows the form (GetForm) and handed back with the answers (Submit), so Submit can
check the answers without asking the survey service first and then redeem the token in its
one call to the survey service. Pure: no I/O.

Sealed with AES-GCM under a key derived from the deployment secret (``holding.seal``):
the client cannot read it (unit, wave, period stay opaque) nor change it. It is bound to a
hash of its token (associated data: a seal of another token does not open) and carries its
own expiry: the token's, and at most ``MAX_AGE_S`` after it was sealed. A missing, expired
or unreadable seal is ignored (Submit inspects the token as before), never an error: the
seal is a shortcut, not a credential. Even a genuine seal never decides what is stored: the
redeemed grant does, and Submit checks the answers again when the two disagree."""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from datetime import datetime

from google.protobuf.message import DecodeError
from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_response.holding import Unsealable, seal, unseal

MAX_AGE_S = 24 * 3600
# Larger seals are not even tried (the request size limit still applies to the request).
MAX_SEALED_BYTES = 4096
_EXPIRY = struct.Struct(">q")


@functools.lru_cache(maxsize=4)
def grant_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"pulse-form-grant-v1", hashlib.sha256).digest()


def _bound_to(token: str) -> bytes:
    return hashlib.sha256(f"form-grant:{token}".encode()).digest()


def _token_expiry(grant: survey_pb.TokenGrant) -> float | None:
    try:
        return datetime.fromisoformat(grant.expires_at).timestamp()
    except ValueError:
        return None


def seal_grant(key: bytes, token: str, grant: survey_pb.TokenGrant, now: float) -> bytes:
    """The grant sealed for ``token``; it opens until the token expires or ``MAX_AGE_S``
    has passed, whichever is first."""
    expires = now + MAX_AGE_S
    token_expiry = _token_expiry(grant)
    if token_expiry is not None:
        expires = min(expires, token_expiry)
    plain = _EXPIRY.pack(int(expires)) + grant.SerializeToString(deterministic=True)
    return seal(key, plain, _bound_to(token))


def open_grant(key: bytes, token: str, sealed: bytes, now: float) -> survey_pb.TokenGrant | None:
    """The sealed grant, or None when there is none, it was sealed for another token or
    under another key, was altered, or has expired."""
    if not sealed or len(sealed) > MAX_SEALED_BYTES:
        return None
    try:
        plain = unseal(key, sealed, _bound_to(token))
    except Unsealable:
        return None
    if len(plain) < _EXPIRY.size or _EXPIRY.unpack_from(plain)[0] <= now:
        return None
    try:
        return survey_pb.TokenGrant.FromString(plain[_EXPIRY.size :])
    except DecodeError:
        return None


def same_questions(sealed: survey_pb.TokenGrant, redeemed: survey_pb.TokenGrant) -> bool:
    """Whether answers checked against ``sealed`` were checked against what ``redeemed``
    asks: the same survey version and the same items."""
    return (
        sealed.survey_id == redeemed.survey_id
        and sealed.survey_version == redeemed.survey_version
        and sealed.kind == redeemed.kind
        and list(sealed.item_ids) == list(redeemed.item_ids)
    )
