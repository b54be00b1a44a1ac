"""`GET /v1/scores`: a unit's scorecard over its subtree, for a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from services.api.errors import invalid, not_found
from services.api.models import (
    GroupOut,
    IndicatorOut,
    PeriodRef,
    PipelineOut,
    ProfileRef,
    ScoresOut,
    UnitRef,
)
from services.api.params import Asked, ScoresOfUnit, unit_router
from services.api.queries import pipeline, snapshot_rows, unit_tallies
from services.api.state import ApiState, State
from services.api.windows import judged_by, latest_generation, windows_scorecards
from tthc.measures import Generation
from tthc.reference import scope_of
from tthc.scoring import group_scores, named, score


def pipeline_of(state: ApiState) -> PipelineOut:
    stall_after = timedelta(seconds=state.settings.pipeline_stall_seconds)
    return PipelineOut.of(pipeline(state.pool, stall_after))


def pipeline_headers(state: State, response: Response) -> PipelineOut:
    """Every score answer says how far the data goes, in X-TTHC-* headers (a dependency of
    the score routers; FastAPI runs it once per request)."""
    flow = pipeline_of(state)
    response.headers.update(flow.headers())
    return flow


router = unit_router("scores")

SourceParam = Annotated[
    Literal["live", "snapshot", "windows"],
    Query(
        description="live: computed now from the facts (exact, default); snapshot: read from "
        "unit_scores, which the refresher keeps for the current month, quarter and year; "
        "windows: summed from the rolling windows the refresher writes (any period of whole "
        "days, any unit), judged at the instant of its last refresh, `period.cutoff`: an open "
        "dossier whose due date passed shows as late from the next refresh on. Not with "
        "`as_of` (use live for the past); a period that ended before that instant is judged "
        "at its own end, live"
    ),
]


@router.get(
    "/v1/scores",
    summary="Điểm của đơn vị / A unit's scores",
    description="Total on 100, grade, the five groups and every indicator (numerator, "
    "denominator, rate, points, maximum, points lost), over the unit and everything under it.",
)
def get_scores(
    state: State,
    asked: ScoresOfUnit,
    flow: Annotated[PipelineOut, Depends(pipeline_headers)],
    source: SourceParam = "live",
) -> ScoresOut:
    out = scores_of(state, asked, source)
    out.pipeline = flow
    return out


def scores_of(state: ApiState, asked: Asked, source: str) -> ScoresOut:
    u, moment = asked.unit, asked.as_of
    refuse_as_of_with_windows(asked, source)
    chosen = asked.period()
    if source == "snapshot":
        return snapshot_scores(state, u.code, chosen.label)
    if source == "windows" and judged_by(chosen, generation := latest_or_404(state)):
        card = windows_scorecards(
            state.pool, state.tree, state.profile, [u.code], chosen, generation, "scores"
        )[u.code]
        return ScoresOut.of(
            card,
            unit=u,
            period=chosen,
            as_of=generation.cutoff,
            profile=state.profile,
            computed_at=datetime.now(UTC),
            source="windows",
        )
    scope = scope_of(state.tree, u.code, chosen, moment)
    card = score(state.profile, unit_tallies(state.pool, state.profile, scope), u.level)
    return ScoresOut.of(
        card,
        unit=u,
        period=chosen,
        as_of=moment,
        profile=state.profile,
        computed_at=datetime.now(UTC),
    )


def refuse_as_of_with_windows(asked: Asked, source: str) -> None:
    """The windows are judged at their generation's cutoff: no `as_of` with them."""
    if source == "windows" and asked.given_as_of:
        raise invalid(
            "as_of",
            "source=windows is judged at the instant of the refresher's last run (see "
            "period.cutoff); use source=live to judge as of another instant",
        )


def latest_or_404(state: ApiState) -> Generation:
    generation = latest_generation(state.pool)
    if generation is None:
        raise not_found(
            "source",
            "no rolling windows yet: the refresher writes them at each run (use source=live)",
        )
    return generation


_STORED = ("numerator", "denominator", "rate", "points", "max_points", "lost")  # unit_scores


def snapshot_scores(state: ApiState, unit: str, label: str) -> ScoresOut:
    """The unit's row set of unit_scores, shaped as a live answer (without the parts)."""
    rows = {r["indicator"]: r for r in snapshot_rows(state.pool, label, [unit])}
    total = rows.get("")
    if total is None:
        raise not_found(
            "source",
            f"no snapshot of unit {unit!r} for {label!r}: the refresher keeps the current "
            "month, quarter and year (use source=live for other periods)",
        )
    profile = state.profile
    indicators = [
        IndicatorOut(
            **named(i),
            **{name: row[name] for name in _STORED},
            assessed=bool(row["assessed"]),
            applicable=row["max_points"] > 0,  # only applicable parts carry a maximum
        )
        for i in profile.indicators
        if (row := rows.get(i.code)) is not None
    ]
    groups = [GroupOut.of(g) for g in group_scores(profile, indicators)]
    return ScoresOut(
        unit=UnitRef.of(state.tree.get(unit)),
        period=PeriodRef(
            label=total["period"],
            first_day=total["period_start"],
            last_day=total["period_end"] - timedelta(days=1),
            cutoff=as_utc(total["cutoff"]),
        ),
        profile=ProfileRef.of(profile),
        total=total["total"],
        grade=total["grade_vi"],
        grade_en=profile.grade(total["total"]).name_en,
        points=total["points"],
        max_points=total["max_points"],
        lost=total["lost"],
        groups=groups,
        indicators=indicators,
        source="snapshot",
        computed_at=as_utc(total["computed_at"]),
    )


def as_utc(moment: datetime) -> datetime:
    """A DateTime('UTC') column as read (chDB may drop the zone): an aware UTC instant."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
