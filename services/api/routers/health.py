"""`/healthz` (ClickHouse answers) and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.api.auth import Viewer
from services.api.models import Health
from services.api.state import State

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health: ClickHouse answers",
    responses={503: {"model": Health, "description": "ClickHouse does not answer"}},
)
def healthz(state: State) -> JSONResponse:
    try:
        state.pool.rows("SELECT 1 AS ok", "health")
        up = True
    except Exception:
        up = False
    last = state.scoreboard.last
    body = Health(
        status="ok" if up else "unavailable",
        clickhouse=up,
        snapshot_refreshed_at=last.computed_at if last else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if up else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(state: State, viewer: Viewer) -> Response:
    """Pipeline metrics for anyone; the score gauges under the scores' own access rule."""
    scores = state.settings.open_scores or (
        viewer is not None and viewer.covers(state.tree.root.code)
    )
    body, content_type = state.metrics.render(scores=scores)
    return Response(body, media_type=content_type)
