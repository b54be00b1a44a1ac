"""From counts to points: rate → points per part → indicators → groups → total on 100 → grade.

Scoring takes tallies (numerator and denominator per measure) from anywhere: the Python
reference computation or a ClickHouse query. Both go through this one function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tthc.measures import MEASURES, Measure, Tally
from tthc.profile import Indicator, Part, Profile, Rule, WhenEmpty
from tthc.units import UnitLevel

# The grade of a unit that had nothing to judge in the period: no dossier, no feedback.
NO_DATA_VI = "Không có dữ liệu"
NO_DATA_EN = "No data"


@dataclass(frozen=True)
class PartScore:
    label: str
    measure: str
    numerator: float
    denominator: int
    rate: float | None  # a share in [0, 1]; for an average, the mean (in days)
    points: float
    max_points: float
    applicable: bool  # counted in the unit's total

    @property
    def lost(self) -> float:
        return self.max_points - self.points if self.applicable else 0.0


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    group: int
    name_vi: str
    name_en: str
    monitoring: bool
    assessed: bool  # the unit's level is assessed on it (monitoring indicators included)
    parts: tuple[PartScore, ...]

    @property
    def applicable(self) -> bool:
        return any(p.applicable for p in self.parts)

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts if p.applicable)

    @property
    def max_points(self) -> float:
        return sum(p.max_points for p in self.parts if p.applicable)

    @property
    def lost(self) -> float:
        return sum(p.lost for p in self.parts)

    @property
    def counted_parts(self) -> tuple[PartScore, ...]:
        """The parts whose counts the indicator shows: the applicable ones, else all."""
        return tuple(p for p in self.parts if p.applicable) or self.parts

    @property
    def numerator(self) -> float:
        return sum(p.numerator for p in self.counted_parts)

    @property
    def denominator(self) -> int:
        return sum(p.denominator for p in self.counted_parts)

    @property
    def rate(self) -> float | None:
        """The indicator's rate: its one part's, or the points share of a multi-part one."""
        if len(self.parts) == 1:
            return self.parts[0].rate
        return self.points / self.max_points if self.max_points else None


@dataclass(frozen=True)
class GroupScore:
    number: int
    name_vi: str
    name_en: str
    points: float
    max_points: float

    @property
    def lost(self) -> float:
        return self.max_points - self.points


class Scored(Protocol):
    """An indicator's result, from a scorecard or read back from a stored one."""

    @property
    def group(self) -> int: ...
    @property
    def points(self) -> float: ...
    @property
    def max_points(self) -> float: ...


def profile_measures(profile: Profile) -> list[Measure]:
    """The measures the profile scores, each once, by key."""
    keys = sorted({part.measure for indicator in profile.indicators for part in indicator.parts})
    return [MEASURES[k] for k in keys]


def group_scores(profile: Profile, indicators: Sequence[Scored]) -> tuple[GroupScore, ...]:
    """Each group of the profile with the points of its indicators."""
    return tuple(
        GroupScore(
            number=g.number,
            name_vi=g.name_vi,
            name_en=g.name_en,
            points=sum(i.points for i in indicators if i.group == g.number),
            max_points=sum(i.max_points for i in indicators if i.group == g.number),
        )
        for g in profile.groups
    )


@dataclass(frozen=True)
class Scorecard:
    level: UnitLevel
    # on 100; None when the unit had nothing to judge in the period (nothing the period holds
    # counted anywhere): no score, not ranked, graded NO_DATA
    total: float | None
    grade_vi: str
    grade_en: str
    points: float  # raw points before putting the total on 100
    max_points: float
    groups: tuple[GroupScore, ...]
    indicators: tuple[IndicatorScore, ...]

    @property
    def has_data(self) -> bool:
        return self.total is not None

    def indicator(self, code: str) -> IndicatorScore:
        return next(i for i in self.indicators if i.code == code)


def score_part(part: Part, tally: Tally, level: UnitLevel) -> PartScore:
    measure = MEASURES[part.measure]
    applies = part.applies_to(level) and part.rule is not Rule.monitoring
    rate = tally.rate
    if rate is not None and measure.average:
        rate = rate / measure.average_unit
    points = 0.0
    if not applies:
        applicable = False
    elif rate is None:
        applicable = part.when_empty is not WhenEmpty.not_applicable
        points = part.points if part.when_empty is WhenEmpty.full else 0.0
    else:
        applicable = True
        points = part.points_for(min(1.0, max(0.0, rate)))
    return PartScore(
        label=part.label,
        measure=part.measure,
        numerator=tally.numerator,
        denominator=tally.denominator,
        rate=rate,
        points=points,
        max_points=part.points if applies else 0.0,
        applicable=applicable,
    )


NAMED_BY = ("code", "group", "name_vi", "name_en", "monitoring")


def named(indicator: Indicator) -> dict[str, Any]:
    """What names an indicator (and says whether it is only monitored) in every result."""
    return {name: getattr(indicator, name) for name in NAMED_BY}


def score_indicator(
    indicator: Indicator, tallies: Mapping[str, Tally], level: UnitLevel
) -> IndicatorScore:
    return IndicatorScore(
        **named(indicator),
        assessed=indicator.applies_to(level),
        parts=tuple(score_part(p, tallies[p.measure], level) for p in indicator.parts),
    )


def score(profile: Profile, tallies: Mapping[str, Tally], level: UnitLevel) -> Scorecard:
    """The scorecard of a unit of `level` from the tallies of its subtree."""
    indicators = tuple(score_indicator(i, tallies, level) for i in profile.indicators)
    points = sum(i.points for i in indicators)
    applicable_max = sum(i.max_points for i in indicators)
    full_max = sum(i.points for i in profile.indicators)
    total: float | None
    if not _has_data(indicators):
        total, grade_vi, grade_en = None, NO_DATA_VI, NO_DATA_EN
    else:
        if profile.non_applicable == "rescale":
            total = 100 * points / applicable_max if applicable_max else 0.0
        else:  # what does not apply counts as full
            total = 100 * (points + full_max - applicable_max) / full_max
        grade = profile.grade(total)
        grade_vi, grade_en = grade.name_vi, grade.name_en
    return Scorecard(
        level=level,
        total=total,
        grade_vi=grade_vi,
        grade_en=grade_en,
        points=points,
        max_points=applicable_max,
        groups=group_scores(profile, indicators),
        indicators=indicators,
    )


def _has_data(indicators: tuple[IndicatorScore, ...]) -> bool:
    """Something the period holds (a dossier, a feedback, an announcement) was counted for
    an indicator the unit is assessed on; what is counted whatever the period (procedures,
    communes' services) is no score of a period on its own."""
    return any(
        p.denominator > 0
        for i in indicators
        if i.assessed
        for p in i.parts
        if MEASURES[p.measure].period_column is not None
    )
