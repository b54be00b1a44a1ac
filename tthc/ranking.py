"""Rankings of units of one level: who is first, and who moved since the previous period."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Values equal to this many decimals are equal: the same counts reached by different float
# roundings (a sum in SQL, a sum in Python) must not part two units.
_DECIMALS = 9


@dataclass(frozen=True)
class Place:
    code: str
    rank: int  # 1 is best; equal scores share a rank, the next rank skips ("1, 2, 2, 4")
    value: float


def rank(values: Mapping[str, float | None]) -> list[Place]:
    """Units ordered best first (highest value), ties by code, with competition ranks. A unit
    with no value (nothing to judge in the period) is not ranked: it is left out."""
    scored = [(code, value) for code, value in values.items() if value is not None]
    ordered = sorted(scored, key=lambda item: (-round(item[1], _DECIMALS), item[0]))
    places: list[Place] = []
    for position, (code, value) in enumerate(ordered, start=1):
        tied = places and round(places[-1].value, _DECIMALS) == round(value, _DECIMALS)
        places.append(Place(code, places[-1].rank if tied else position, value))
    return places


def rank_change(current: int, previous: int | None) -> int | None:
    """Places gained since the previous period (positive: moved up); None when the unit was
    not ranked then (it had nothing to judge)."""
    return None if previous is None else previous - current
