"""`/healthz` (ClickHouse answers) and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.api.auth import Viewer
from services.api.models import Health
from services.api.routers.scores import pipeline_of
from services.api.state import State
from services.storage.watermarks import PipelineStatus

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health: ClickHouse answers; how far the pipeline goes",
    responses={503: {"model": Health, "description": "ClickHouse does not answer"}},
)
def healthz(state: State) -> JSONResponse:
    try:
        state.pool.rows("SELECT 1 AS ok", "health")
        up = True
        flow = pipeline_of(state)
    except Exception:
        up, flow = False, None
    quiet = flow is not None and flow.status in (PipelineStatus.stale, PipelineStatus.stalled)
    body = Health(
        # a stalled pipeline is not this server's fault: reported, not a failed probe
        status="unavailable" if not up else "degraded" if quiet else "ok",
        clickhouse=up,
        pipeline=flow,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if up else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(state: State, viewer: Viewer) -> Response:
    """Pipeline metrics for anyone; the score gauges under the scores' own access rule."""
    scores = state.settings.open_scores or (
        viewer is not None and viewer.covers(state.tree.root.code)
    )
    if scores:  # read now, from the windows (cached a few seconds)
        state.gauges.update()
    body, content_type = state.metrics.render(scores=scores)
    return Response(body, media_type=content_type)
