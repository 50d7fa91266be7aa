"""The code version stored with every report: package version plus ``git describe`` when the
code runs from a git checkout (read once)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from pulse_correlation import __version__


@functools.cache
def code_version() -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return f"pulse-correlation {__version__}" + (f" ({described})" if described else "")
