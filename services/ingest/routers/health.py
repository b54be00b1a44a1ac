"""`/healthz` (the process answers), `/readyz` (Kafka reachable) and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.ingest.models import Health
from services.ingest.state import State

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: Kafka reachable",
    responses={503: {"model": Health, "description": "Kafka cannot be reached"}},
)
async def readyz(state: State) -> JSONResponse:
    up = await state.publisher.ready()
    body = Health(status="ready" if up else "not ready", kafka=up)
    return JSONResponse(body.model_dump(), status_code=200 if up else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(state: State) -> Response:
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
