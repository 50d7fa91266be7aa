"""The holding area's records (issue 13, "no order, no time"): an accepted employee
response is sealed and held until at least ``k`` responses of its group (survey, wave,
unit, period) wait, or the wave has closed, and then written to the answer tables in one
shuffled batch, so that its row position, transaction id and commit time are shared with
the rest of the batch. Pure: no I/O.

Sealing is AES-256-GCM (NIST SP 800-38D) under a key derived from the deployment secret
with HMAC-SHA256 (RFC 2104), the group as associated data: a reader of the database sees
which group a held response belongs to (what the redeemed invitation already says), never
its answers. The stored idempotency reply is sealed under a key derived from the caller's
idempotency key, which the database does not hold (only its hash), so it cannot pair an
accept-time row with the response id written later."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pulse_response.domain import Group, NewResponse, ValidatedAnswers

NONCE_BYTES = 12


@dataclass(frozen=True, order=True)
class HoldKey:
    """The group a held response waits in: its batch is written once ``k`` of these wait."""

    survey_id: str
    wave_id: str
    unit_id: str
    period: str

    def associated_data(self) -> bytes:
        return "\x1f".join((self.survey_id, self.wave_id, self.unit_id, self.period)).encode()


def hold_key(response: NewResponse) -> HoldKey:
    return HoldKey(
        response.survey_id, response.wave_id, response.group.unit_id, response.group.period
    )


def is_held(kind_is_customer: bool, wave_id: str) -> bool:
    """Employee answers of a wave are held; customer answers keep the direct path (each is
    its own interaction, whose time the CRM already knows)."""
    return not kind_is_customer and bool(wave_id)


def batch_size(setting: int, survey_k: int) -> int:
    """How many responses a batch needs: ``PULSE_ANSWER_BATCH_K`` when set (> 0), else the
    survey's anonymity threshold k."""
    return setting if setting > 0 else max(1, survey_k)


def holding_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"pulse-holding-v1", hashlib.sha256).digest()


def reply_key(idempotency_key: str) -> bytes:
    return hashlib.sha256(f"reply:{idempotency_key}".encode()).digest()


def seal(key: bytes, plain: bytes, associated: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, associated)


class Unsealable(Exception):
    """Wrong key or tampered data."""


def unseal(key: bytes, sealed: bytes, associated: bytes = b"") -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
    except (InvalidTag, ValueError) as error:
        raise Unsealable(str(error) or "cannot unseal") from error


def encode_response(response: NewResponse) -> bytes:
    """What the holding area keeps of a response (sealed afterwards)."""
    answers = response.answers
    doc: dict[str, Any] = {
        "response_id": str(response.response_id),
        "survey_id": response.survey_id,
        "survey_version": response.survey_version,
        "kind": response.kind,
        "unit_id": response.group.unit_id,
        "period": response.group.period,
        "wave_id": response.wave_id,
        "channel": response.channel,
        "source": response.source,
        "batch_id": response.batch_id,
        "scores": [list(pair) for pair in answers.scores],
        "comments": [list(pair) for pair in answers.comments],
        "positive": answers.positive,
        "staff_treatment_score": answers.staff_treatment_score,
        "shared_with_team": response.shared_with_team,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_response(data: bytes) -> NewResponse:
    doc = json.loads(data)
    return NewResponse(
        response_id=uuid.UUID(doc["response_id"]),
        survey_id=doc["survey_id"],
        survey_version=int(doc["survey_version"]),
        kind=int(doc["kind"]),
        group=Group(doc["unit_id"], doc["period"]),
        wave_id=doc["wave_id"],
        channel=doc["channel"],
        source=doc["source"],
        batch_id=doc["batch_id"],
        answers=ValidatedAnswers(
            scores=[(str(item), int(score)) for item, score in doc["scores"]],
            comments=[(str(item), str(text)) for item, text in doc["comments"]],
            positive=bool(doc["positive"]),
            staff_treatment_score=int(doc["staff_treatment_score"]),
        ),
        shared_with_team=bool(doc["shared_with_team"]),
    )


def shuffled(responses: Sequence[NewResponse]) -> list[NewResponse]:
    """The batch in a random order (a CSPRNG: the order must not be predictable)."""
    batch = list(responses)
    random.SystemRandom().shuffle(batch)
    return batch
