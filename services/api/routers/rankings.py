"""`GET /v1/rankings`: the units of one level ranked, with their rank change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from services.api.models import PeriodRef, RankedUnit, RankingsOut, UnitRef
from services.api.params import IndicatorOrTotal, ScoresUnder, level_of, unit_router
from services.api.queries import scorecards, snapshot_rows
from services.api.routers.scores import (
    SourceParam,
    as_utc,
    latest_or_404,
    refuse_as_of_with_windows,
)
from services.api.state import ApiState, State
from services.api.windows import judged_by, windows_scorecards
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
    source: SourceParam = "live",
) -> RankingsOut:
    wanted = level_of(level)
    root, moment = asked.unit, asked.as_of
    code = indicator.code if indicator is not None else None
    refuse_as_of_with_windows(asked, source)
    chosen = asked.period()
    previous = chosen.previous()
    units = [u.code for u in state.tree.units_at_level(wanted, under=root.code)]
    current = earlier_snapshot = None
    if source == "snapshot":  # falls back to live for a period the refresher does not keep
        current = _from_snapshot(state, units, chosen, code)
        earlier_snapshot = _from_snapshot(state, units, previous, code)
    if source == "windows" and judged_by(chosen, generation := latest_or_404(state)):
        cards = windows_scorecards(
            state.pool, state.tree, state.profile, units, chosen, generation, "rankings"
        )
        current = _standings(cards, code), datetime.now(UTC)
        moment = generation.cutoff
        # the previous period is over: judged at its end, kept in the snapshot (else live)
        earlier_snapshot = _from_snapshot(state, units, previous, code)
    if current is not None:
        now, computed_at = current
    else:
        now, computed_at, source = (
            _live(state, units, chosen, moment, code),
            datetime.now(UTC),
            "live",
        )
    if earlier_snapshot is not None:
        before = earlier_snapshot[0]
    else:
        before = _live(state, units, previous, moment, code)
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
        source=source,
        computed_at=computed_at,
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


def _live(
    state: ApiState, units: list[str], period: Period, as_of: datetime, indicator: str | None
) -> dict[str, _Standing]:
    cards = scorecards(state.pool, state.tree, state.profile, units, period, as_of, "rankings")
    return _standings(cards, indicator)


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


def _from_snapshot(
    state: ApiState, units: list[str], period: Period, indicator: str | None
) -> tuple[dict[str, _Standing], datetime] | None:
    """The standings from unit_scores, or None unless every unit has its rows there."""
    rows = snapshot_rows(state.pool, period.label, units)
    totals = {r["unit"]: r for r in rows if r["indicator"] == ""}
    chosen = {r["unit"]: r for r in rows if r["indicator"] == (indicator or "")}
    if not units or set(totals) != set(units) or set(chosen) != set(units):
        return None
    standings = {
        code: _Standing(
            # a total of NULL: nothing to judge, not ranked whatever the indicator
            None
            if totals[code]["total"] is None
            else chosen[code]["total"]
            if indicator is None
            else chosen[code]["points"],
            totals[code]["total"],
            totals[code]["grade_vi"],
            chosen[code]["lost"],
        )
        for code in units
    }
    oldest = min(as_utc(r["computed_at"]) for r in totals.values())
    return standings, oldest
