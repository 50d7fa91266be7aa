"""Input checks shared by every public function.

Every check raises :class:`ValueError` whose message names the offending argument, so a
caller (or a notebook user) can tell at once which input to fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def as_float_vector(name: str, values: ArrayLike) -> FloatArray:
    """Return ``values`` as a 1-D float64 array; NaN allowed (it means missing), inf not."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {array.shape})")
    if np.isinf(array).any():
        raise ValueError(f"{name} must not contain infinite values")
    return array


def as_float_matrix(name: str, values: ArrayLike) -> FloatArray:
    """Return ``values`` as a 2-D float64 array (a 1-D input becomes one column)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (got shape {array.shape})")
    if np.isinf(array).any():
        raise ValueError(f"{name} must not contain infinite values")
    return array


def as_labels(name: str, values: ArrayLike) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Return (labels, missing-mask) for a 1-D vector of group/unit labels.

    NaN (float labels) and ``None`` (object labels) mark a missing label.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {array.shape})")
    if array.dtype.kind == "f":
        missing = np.isnan(array)
    elif array.dtype.kind == "O":
        missing = np.array(
            [v is None or (isinstance(v, float) and math.isnan(v)) for v in array], dtype=bool
        )
    else:
        missing = np.zeros(array.shape[0], dtype=bool)
    return array, missing


def encode_labels(name: str, labels: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Return (sorted unique labels, integer code of each row)."""
    try:
        uniques, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            f"{name} labels must be mutually comparable (e.g. all str or all int)"
        ) from exc
    return uniques, codes.reshape(-1).astype(np.intp)


def check_same_length(**arrays: Sequence[Any] | NDArray[Any]) -> None:
    """Raise unless every keyword array has the same first dimension."""
    names = list(arrays)
    lengths = [len(a) for a in arrays.values()]
    for other, length in zip(names[1:], lengths[1:], strict=True):
        if length != lengths[0]:
            raise ValueError(
                f"{names[0]} and {other} must have the same length (got {lengths[0]} and {length})"
            )


def check_confidence_level(confidence_level: float) -> float:
    """Raise unless 0 < confidence_level < 1."""
    if not isinstance(confidence_level, int | float) or not 0.0 < float(confidence_level) < 1.0:
        raise ValueError(
            f"confidence_level must be strictly between 0 and 1 (got {confidence_level!r})"
        )
    return float(confidence_level)


def check_probability(name: str, value: float) -> float:
    """Raise unless 0 < value < 1."""
    if not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1 (got {value!r})")
    return float(value)


def check_method(method: str, allowed: Sequence[str], name: str = "method") -> str:
    """Raise unless ``method`` is one of ``allowed``."""
    if method not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices} (got {method!r})")
    return method


def check_min_n(n: int, minimum: int, what: str) -> None:
    """Raise unless ``n >= minimum``; ``what`` describes the counted units and the method."""
    if n < minimum:
        raise ValueError(f"need at least {minimum} {what} (got {n})")


def check_not_constant(name: str, values: FloatArray) -> None:
    """Raise if ``values`` has no variation (the statistic would be undefined)."""
    if values.size == 0 or bool(np.all(values == values[0])):
        raise ValueError(f"{name} is constant; the statistic is undefined")


def check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    """Raise unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} (got {value!r})")
    return int(value)


def check_int(name: str, value: int) -> int:
    """Raise unless ``value`` is an integer (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    return int(value)


def complete_rows(*arrays: FloatArray) -> NDArray[np.bool_]:
    """Mask of rows where no array (1-D or 2-D) has a NaN."""
    mask = np.ones(arrays[0].shape[0], dtype=bool)
    for array in arrays:
        if array.ndim == 1:
            mask &= ~np.isnan(array)
        else:
            mask &= ~np.isnan(array).any(axis=1)
    return mask


def as_rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Return a numpy Generator from a seed, an existing Generator, or None (fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, int | np.integer) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int seed or a numpy Generator (got {random_state!r})"
    )
