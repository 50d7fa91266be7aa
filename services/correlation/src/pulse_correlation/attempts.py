"""Statistics that may not be computable (too few units, no variation...): the section is
left empty and the reason becomes a caveat of the verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class Attempts:
    """Runs statistics, collecting "<label> not computed: <why>" notes in order."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def attempt(self, label: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
            self.notes.append(f"{label} not computed: {error}")
            return None
