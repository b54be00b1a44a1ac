"""`GET /v1/scores`: a unit's scorecard over its subtree, for a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from services.api.models import PipelineOut, ScoresOut
from services.api.params import Asked, ScoresOfUnit, unit_router
from services.api.queries import pipeline
from services.api.state import ApiState, State
from services.api.windows import Wanted, scorecards_by_source


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
    Literal["default", "windows", "facts"],
    Query(
        description="default: read from the rolling windows the aggregator keeps (exact now "
        "and at the end of every past month, quarter and year), except with `as_of`, which is "
        "counted from the facts; windows: from the windows, `as_of` included, where they can "
        "judge it; facts: counted from the facts. Where the windows cannot judge (an instant "
        "in the past other than a period's end, a period not made of whole days) the facts "
        "answer. The answer's `source` says which"
    ),
]


def wanted_source(asked: Asked, source: Wanted) -> Wanted:
    """An explicit `as_of` is an exact past instant: the facts, unless windows are asked for."""
    return "facts" if source == "default" and asked.given_as_of else source


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
    source: SourceParam = "default",
) -> ScoresOut:
    out = scores_of(state, asked, source)
    out.pipeline = flow
    return out


def scores_of(state: ApiState, asked: Asked, source: Wanted = "default") -> ScoresOut:
    u, moment = asked.unit, asked.as_of
    chosen = asked.period()
    cards, used = scorecards_by_source(
        state.pool,
        state.tree,
        state.profile,
        [u.code],
        chosen,
        moment,
        "scores",
        wanted_source(asked, source),
    )
    return ScoresOut.of(
        cards[u.code],
        unit=u,
        period=chosen,
        as_of=moment,
        profile=state.profile,
        computed_at=datetime.now(UTC),
        source=used,
    )
