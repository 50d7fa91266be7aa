"""How people answer: latent values become scores on each item's scale, and scores become
the 0-100 construct scores the correlation service aggregates. Pure numpy, no I/O.

An employee's latent answer to an item is sqrt(icc_t) T + sqrt(1 - icc_t) (individual part:
a general tendency shared by the person's items plus item noise); a customer's is
sqrt(icc_c) O + sqrt(1 - icc_c) (individual part). Latent answers become scores by
clip(floor(location + spread z + 0.5)) on each item's scale (``items.SCALES``); reverse-scored
items are flipped, as a respondent would answer them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pulse_cli.demo.items import CONSTRUCT_SHIFT, ItemSlot
from pulse_cli.demo.latent import FloatArray

Scores = NDArray[np.int16]


def item_scores(
    latent: FloatArray,
    person: FloatArray,
    slots: Sequence[ItemSlot],
    icc: float,
    h: float,
    rng: np.random.Generator,
) -> Scores:
    """Scores (rows x items) from each row's unit latent (one value per row, or one per row
    and item) and individual tendency."""
    rows = latent.shape[0]
    noise = rng.standard_normal((rows, len(slots)))
    unit = latent if latent.ndim == 2 else latent[:, None]
    z = math.sqrt(icc) * unit + math.sqrt(1.0 - icc) * (
        math.sqrt(h) * person[:, None] + math.sqrt(1.0 - h) * noise
    )
    out = np.empty(z.shape, dtype=np.int16)
    for k, slot in enumerate(slots):
        spec = slot.spec
        location = spec.location + CONSTRUCT_SHIFT.get(slot.construct, 0.0) * (
            (spec.high - spec.low) / 4.0
        )
        raw = np.clip(np.floor(location + spec.spread * z[:, k] + 0.5), spec.low, spec.high)
        out[:, k] = (spec.low + spec.high - raw) if slot.reverse else raw
    return out


def construct_scores(scores: Scores, slots: Sequence[ItemSlot], construct: str) -> FloatArray:
    """Per-respondent construct score on 0-100 (reverse items scored back), as the
    correlation service computes it."""
    cols = [k for k, s in enumerate(slots) if s.construct == construct]
    values = []
    for k in cols:
        spec = slots[k].spec
        raw = scores[:, k].astype(np.float64)
        scored = spec.low + spec.high - raw if slots[k].reverse else raw
        values.append((scored - spec.low) / (spec.high - spec.low) * 100.0)
    return np.asarray(np.mean(values, axis=0))
