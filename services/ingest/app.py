"""The ingest's FastAPI app: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.ingest.bodies import RequestError
from services.ingest.models import ErrorBody, Problem
from services.ingest.routers import catalogue, events, health
from services.ingest.settings import IngestSettings
from services.ingest.state import IngestState
from services.observability import configure_logging, get_logger, web_app

log = get_logger("services.ingest")

DESCRIPTION = """\
Cổng nhận sự kiện của hệ thống một cửa, thanh toán, phản ánh kiến nghị và ki-ốt đánh giá.
The front door for the province's one-stop-shop, payment, feedback and kiosk systems.

* **Events** are [CloudEvents 1.0](https://cloudevents.io) in structured JSON mode, or for one
  event also in binary mode (attributes as `ce-` headers, the body its `data`); the catalogue of
  types, with the schema of each `data` and an example, is `GET /v1/event-types`.
* **Auth**: an API key per integration, as `Authorization: Bearer <key>` or `X-API-Key`.
  A key covers the units of its scope (and everything under them).
* **Acknowledgement**: `202 accepted` means the event is in Kafka. `503` with `Retry-After` means
  nothing of the request was accepted: send it again.
* **Idempotency**: an event is identified by (`source`, `id`). Sending it again is safe: the
  answer is `duplicate`, and it never counts twice. Sent again with another payload, it is
  `409 conflict`: the first copy stays (a correction is a new event with its own id).
* **Ownership**: a dossier or feedback item belongs to the unit that first received it; an
  event about it from a key not covering that unit is answered `202` but never counted, and
  is listed to the integration by the API's `GET /v1/rejections`.
* **Errors** name each bad field (`problems[].field`, e.g. `data.unit`) with the reason; messages
  are in Vietnamese and English.
"""


def _log_fields(request_state: dict[str, Any]) -> dict[str, Any]:
    """The integration's name and what the endpoint noted (counts), for the request's log line."""
    return {"integration": request_state.get("integration"), **request_state.get("log", {})}


def _error_response(error: RequestError) -> JSONResponse:
    body = ErrorBody(
        error=error.error,
        message=error.message,
        problems=[Problem(field=f, reason=r) for f, r in error.problems],
        retry_after=int(error.headers["Retry-After"]) if "Retry-After" in error.headers else None,
    )
    return JSONResponse(body.model_dump(mode="json"), error.status, headers=error.headers)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """A ready-to-serve ingest app; Kafka is connected in the background at start-up."""
    settings = settings or IngestSettings()
    configure_logging("ingest", settings.log_level, json=settings.log_json)
    # kafka-python logs every refused connection as an error; the publisher logs one
    # structured warning per outage instead.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    state = IngestState.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(state.publisher.start())
        log.info(
            "ingest_started",
            topic=settings.topic,
            kafka=settings.kafka_bootstrap,
            units=settings.units,
            keys=len(state.keyring),
            anonymous=settings.allow_anonymous,
        )
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connecting, settings.kafka_timeout + 1)
            await state.publisher.close()

    app = web_app(
        "ingest",
        state,
        summary="Nhận sự kiện thủ tục hành chính / Receive administrative-procedure events",
        description=DESCRIPTION,
        lifespan=lifespan,
        log_fields=_log_fields,
    )

    @app.exception_handler(RequestError)
    async def request_error(_: Request, error: RequestError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected_error", route=request.url.path, error=repr(error), exc_info=error)
        body = ErrorBody(error="internal", message="Lỗi hệ thống / Internal error")
        return JSONResponse(body.model_dump(mode="json"), 500)

    app.include_router(events.build_router(state.examples))
    app.include_router(catalogue.router)
    app.include_router(health.router)
    return app
