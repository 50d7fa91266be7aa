"""Covariate columns of the unit table, pure: what a partial correlation controls for.

* ``unit_size``: log of the unit's employee respondents (the largest count over predictors);
* ``unit_type``: 1 for front-line units, 0 otherwise;
* ``channel_mix``: share of the unit's outcome responses from its most used channel;
* any employee construct with data in scope: its unit values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from pulse_correlation.aggregates import ChannelRow
from pulse_correlation.org import OrgSnapshot

UNIT_SIZE = "unit_size"
UNIT_TYPE = "unit_type"
CHANNEL_MIX = "channel_mix"
DEFAULT_COVARIATES = (UNIT_SIZE,)


def covariate_columns(
    names: Sequence[str],
    units: Sequence[str],
    x: Mapping[str, list[float]],
    n_x: Mapping[str, list[int]],
    predictors: Sequence[str],
    org: OrgSnapshot,
    channels: Sequence[ChannelRow],
    owner_of: Mapping[str, str],
) -> tuple[dict[str, list[float]], list[str]]:
    """Column per covariate with data, in request order, and a note per covariate without."""
    columns: dict[str, list[float]] = {}
    notes: list[str] = []
    for name in names:
        if name == UNIT_SIZE:
            sizes = [
                max(n_x[p][i] for p in predictors) if predictors else 0 for i in range(len(units))
            ]
            columns[name] = [math.log(s) if s > 0 else math.nan for s in sizes]
        elif name == UNIT_TYPE:
            columns[name] = [1.0 if org.front_line(u) else 0.0 for u in units]
        elif name == CHANNEL_MIX:
            by_unit: dict[str, Counter[str]] = {u: Counter() for u in units}
            for row in channels:
                owner = owner_of.get(org.canonical(row.unit_id))
                if owner is not None:
                    by_unit[owner][row.channel] += row.n
            columns[name] = [
                max(c.values()) / sum(c.values()) if c else math.nan
                for c in (by_unit[u] for u in units)
            ]
        elif name in x:
            columns[name] = list(x[name])
        else:
            notes.append(f"covariate {name} has no data in scope")
    return columns, notes
