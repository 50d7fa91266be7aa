"""Submit idempotency: the stored key hash (never the key), the stored reply's encoding
(sealed under a key derived from the idempotency key itself, which is not stored, so a
reader of the database cannot pair a reply, written when the answer was accepted, with the
response row written later in a batch: ``holding``), and when old keys are purged. Pure: no
I/O."""

from __future__ import annotations

import hashlib

from pulse.response.v1 import response_service_pb2 as pb

from pulse_response.holding import Unsealable, reply_key, seal, unseal
from pulse_response.submission import Receipt

# Old keys are forgotten at most this often, from within Submit (no background task: nothing
# to stop at shutdown).
PURGE_EVERY_S = 3600.0


def key_hash(key: str) -> bytes:
    return hashlib.sha256(f"idem:{key}".encode()).digest()


def encode_receipt(receipt: Receipt, idempotency_key: str) -> bytes:
    """Stored as the SubmitResponse it was sent as (rows outlive a deployment), sealed."""
    reply = pb.SubmitResponse(
        response_id=receipt.response_id,
        survey_id=receipt.survey_id,
        survey_version=receipt.survey_version,
    ).SerializeToString()
    return seal(reply_key(idempotency_key), reply)


def decode_replay(stored: bytes, idempotency_key: str) -> Receipt:
    """The stored receipt, marked as a replay (a reply stored before replies were sealed
    is read as it is)."""
    try:
        data = unseal(reply_key(idempotency_key), stored)
    except Unsealable:
        data = stored
    reply = pb.SubmitResponse.FromString(data)
    return Receipt(reply.response_id, reply.survey_id, reply.survey_version, replayed=True)


class PurgeSchedule:
    """Says when the next purge of old keys is due (the first call always is)."""

    def __init__(self, every_s: float = PURGE_EVERY_S) -> None:
        self.every_s = every_s
        self._last: float | None = None

    def due(self, now: float) -> bool:
        if self._last is not None and now - self._last < self.every_s:
            return False
        self._last = now
        return True
