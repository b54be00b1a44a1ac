"""`GET /v1/rankings`: the units of one level ranked, with their rank change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from services.api.models import PeriodRef, RankedUnit, RankingsOut, UnitRef
from services.api.params import IndicatorOrTotal, ScoresUnder, level_of, unit_router
from services.api.routers.scores import SourceParam, wanted_source
from services.api.state import ApiState, State
from services.api.windows import Used, Wanted, scorecards_by_source
from tthc.periods import Period
from tthc.ranking import Place, rank, rank_change
from tthc.scoring import Scorecard

router = unit_router("scores")


@dataclass(frozen=True)
class _Standing:
    """What a ranking needs of one unit in one period."""

    value: float | None  # None: nothing to judge in the period, not ranked
    total: float | None
    grade: str
    lost: float


@dataclass(frozen=True)
class _Unranked:
    """A unit with nothing to judge in the period: listed, not ranked."""

    code: str


@router.get(
    "/v1/rankings",
    summary="Xếp hạng đơn vị / Ranking of units",
    description="The units of one level under a parent (default: the province), best first, "
    "by total (or by one indicator's points), with the rank change since the previous period.",
)
def get_rankings(
    state: State,
    asked: ScoresUnder,
    level: Annotated[str, Query(description="province, department, district or commune")],
    indicator: IndicatorOrTotal,
    source: SourceParam = "default",
) -> RankingsOut:
    wanted = level_of(level)
    root, moment = asked.unit, asked.as_of
    code = indicator.code if indicator is not None else None
    chosen = asked.period()
    previous = chosen.previous()
    units = [u.code for u in state.tree.units_at_level(wanted, under=root.code)]
    asked_source = wanted_source(asked, source)
    now, used = _standings_of(state, units, chosen, moment, code, asked_source)
    # the previous period is over: judged at its end, from its windows where they can
    before, _ = _standings_of(state, units, previous, moment, code, asked_source)
    places = rank({c: s.value for c, s in now.items()})
    earlier = {p.code: p for p in rank({c: s.value for c, s in before.items()})}
    ranked = {p.code for p in places}
    # units with nothing to judge come after the ranked ones, unranked
    unranked = [_Unranked(c) for c in sorted(now) if c not in ranked]
    return RankingsOut(
        level=wanted.value,
        parent=UnitRef.of(root),
        indicator=code,
        period=PeriodRef.of(chosen, moment),
        previous_period=PeriodRef.of(previous, moment),
        source=used,
        computed_at=datetime.now(UTC),
        units=[_ranked(state, p, now[p.code], earlier.get(p.code)) for p in places + unranked],
    )


def _ranked(
    state: ApiState, place: Place | _Unranked, standing: _Standing, earlier: Place | None
) -> RankedUnit:
    rank_now = place.rank if isinstance(place, Place) else None
    return RankedUnit(
        rank=rank_now,
        unit=UnitRef.of(state.tree.get(place.code)),
        value=standing.value,
        total=standing.total,
        grade=standing.grade,
        lost=standing.lost,
        previous_rank=earlier.rank if earlier else None,
        rank_change=None
        if rank_now is None
        else rank_change(rank_now, earlier.rank if earlier else None),
        previous_value=earlier.value if earlier else None,
    )


def _standings_of(
    state: ApiState,
    units: list[str],
    period: Period,
    as_of: datetime,
    indicator: str | None,
    wanted: Wanted,
) -> tuple[dict[str, _Standing], Used]:
    cards, used = scorecards_by_source(
        state.pool, state.tree, state.profile, units, period, as_of, "rankings", wanted
    )
    return _standings(cards, indicator), used


def _standings(cards: dict[str, Scorecard], indicator: str | None) -> dict[str, _Standing]:
    standings = {}
    for code, card in cards.items():
        value: float | None
        if indicator is None:
            value, lost = card.total, card.max_points - card.points
        else:
            found = card.indicator(indicator)
            value, lost = (found.points if card.has_data else None), found.lost
        standings[code] = _Standing(value, card.total, card.grade_vi, lost)
    return standings
