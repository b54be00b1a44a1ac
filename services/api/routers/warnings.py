"""`GET /v1/warnings`: open dossiers turning late soon, and the period's end as things stand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.api.cases import named
from services.api.models import Outlook, PeriodRef, UnitRef, WarningsOut
from services.api.params import DossiersOfUnit, PageParams, horizon_of, unit_router
from services.api.queries import unit_tallies, warnings_page
from services.api.routers.dossiers import case_of
from services.api.state import State
from tthc.early_warning import projected
from tthc.measures import MEASURES
from tthc.reference import scope_of
from tthc.scoring import Scorecard, score

router = unit_router("dossiers")

ON_TIME = MEASURES["dossiers_on_time"]


def _outlook(card: Scorecard) -> Outlook:
    on_time = next(
        (i.rate for i in card.indicators if any(p.measure == ON_TIME.key for p in i.parts)), None
    )
    return Outlook(total=card.total, grade=card.grade_vi, points=card.points, on_time_rate=on_time)


@router.get(
    "/v1/warnings",
    summary="Cảnh báo sớm / Early warning",
    description="The open dossiers of the unit's subtree that turn late within the horizon if "
    "nothing happens (soonest first), and the score the unit ends the period (default this "
    "quarter) with if nothing changes. Needs a viewer token covering the unit.",
)
def get_warnings(
    state: State,
    asked: DossiersOfUnit,
    page: PageParams,
    horizon: Annotated[
        str | None, Query(description="24h, 3d, 90m or PT48H; default the setting (24h)")
    ] = None,
) -> WarningsOut:
    u, moment = asked.unit, asked.as_of
    ahead = horizon_of(horizon, state.settings.warning_horizon)
    span = asked.period()  # this quarter, as the parameter's docs say, like every route
    scope = scope_of(state.tree, u.code, span, moment)
    now = score(state.profile, unit_tallies(state.pool, state.profile, scope), u.level)
    end = score(state.profile, unit_tallies(state.pool, state.profile, projected(scope)), u.level)
    rows, total = warnings_page(state.pool, scope.units, moment, ahead, page.limit, page.offset)
    items = named(state.pool, [case_of(state, ON_TIME, row, moment) for row in rows])
    return WarningsOut(
        unit=UnitRef.of(u),
        as_of=moment,
        horizon_hours=ahead.total_seconds() / 3600,
        period=PeriodRef.of(span, moment),
        now=_outlook(now),
        projected=_outlook(end),
        total=total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset(len(items), total),
        items=items,
    )
