"""`POST /v1/events` and `POST /v1/events/batch`: parse → check → publish → answer."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.auth import Grant
from services.ingest.auth import Authenticated
from services.ingest.bodies import (
    ARRAY_TYPES,
    NDJSON_TYPES,
    SINGLE_TYPES,
    Item,
    RequestError,
    binary_attributes,
    decode_single,
    header_names,
    is_binary,
    read_body,
    require_media_type,
    split_batch,
)
from services.ingest.examples import envelope_schema
from services.ingest.intake import ACCEPTED, DUPLICATE, REJECTED
from services.ingest.models import BatchItemResult, BatchResult, ErrorBody, EventResult
from services.ingest.publisher import KafkaUnavailable
from services.ingest.state import IngestState, State

UNAVAILABLE = (
    "Hệ thống tạm thời chưa nhận được sự kiện, vui lòng gửi lại sau / Events cannot be stored "
    "right now (Kafka unavailable); nothing of this request was accepted, send it again later"
)


# Binary content mode, shown on the OpenAPI page as optional headers.
BINARY_HEADERS: dict[str, str] = {
    "ce-specversion": "binary mode: `1.0`",
    "ce-id": "binary mode: the event's id, unique per source",
    "ce-source": "binary mode: the sending system",
    "ce-type": "binary mode: the event type, e.g. `vn.tthc.dossier.processed.v1`",
    "ce-subject": "binary mode: the dossier (feedback, procedure, commune) code",
    "ce-time": "binary mode: when it happened, RFC 3339 with an offset",
    "ce-dataschema": "binary mode, optional: the URI of the data's schema",
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Not JSON, or not the expected shape (nothing published)",
        401: "Missing or unknown API key",
        403: "The event's unit is outside the key's scope, or its source is not the key's",
        413: "Body, event or batch too large",
        415: "Unsupported Content-Type",
        422: "Invalid event: each bad field is named in `problems`",
        503: "Kafka did not acknowledge in time: send again after Retry-After seconds",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


async def _submit(state: IngestState, items: list[Item], grant: Grant) -> None:
    try:
        await state.intake.submit(items, grant)
    except KafkaUnavailable:
        retry_after = state.settings.retry_after
        raise RequestError(
            503,
            "kafka_unavailable",
            UNAVAILABLE,
            headers={"Retry-After": str(retry_after)},
        ) from None


def build_router(examples: dict[str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["events"])
    schema = envelope_schema()
    single_examples = {
        type_: {"summary": type_, "value": example} for type_, example in sorted(examples.items())
    }
    dossier = [e for t, e in sorted(examples.items()) if ".dossier." in t]
    batch_example = dossier[:3]
    ndjson_example = "\n".join(_compact(e) for e in batch_example) + "\n"

    @router.post(
        "/v1/events",
        summary="Send one event (gửi một sự kiện)",
        status_code=202,
        response_model=EventResult,
        responses={
            200: {"model": EventResult, "description": "Duplicate: already accepted before"},
            403: {"model": EventResult, "description": "Unit outside the key's scope"},
            422: {"model": EventResult, "description": "Invalid event; fields named"},
            **_errors(400, 401, 413, 415, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    kind: {"schema": schema, "examples": single_examples} for kind in SINGLE_TYPES
                },
            },
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": description,
                }
                for name, description in BINARY_HEADERS.items()
            ],
        },
    )
    async def post_event(request: Request, grant: Authenticated, state: State) -> JSONResponse:
        """One CloudEvent, in either content mode of the CloudEvents HTTP binding.

        * **Structured**: `Content-Type: application/cloudevents+json` (or `application/json`),
          the whole envelope as the body (the examples below).
        * **Binary**: the attributes as headers `ce-specversion`, `ce-id`, `ce-source`,
          `ce-type`, `ce-subject`, `ce-time` (optional `ce-dataschema`; extensions `ce-<name>`),
          values percent-encoded UTF-8; `Content-Type: application/json`; the body is `data`
          alone (the `data` of an example below). Any `ce-` header on a request that is not
          `application/cloudevents+json` makes it binary. The event is then checked, deduplicated
          and stored exactly like its structured form; a problem with an attribute names its
          header (`ce-time`), one with the body `(body)` or `data.<field>`.

        **202** once Kafka has it; **200** with `duplicate` when this (`source`, `id`) was
        accepted before; **4xx** naming each bad field; **503** with `Retry-After` when Kafka
        cannot take it (nothing was accepted)."""
        # Headers and media type are refused before the body is read.
        attributes = binary_attributes(request) if is_binary(request) else None
        binary = attributes is not None
        if not binary:
            require_media_type(request, SINGLE_TYPES)
        body = await read_body(request, state.settings.max_body_bytes)
        decoded = decode_single(body)  # the envelope, or in binary mode its data
        # Binary mode becomes the structured envelope: one path of checks from here on.
        raw = decoded if attributes is None else {**attributes, "data": decoded}
        item = Item(index=0, raw=raw)
        await _submit(state, [item], grant)
        if binary and item.rejection is not None:
            item.rejection = header_names(item.rejection)
        result = EventResult.of(item)
        if item.outcome == ACCEPTED:
            status = 202
        elif item.outcome == DUPLICATE:
            status = 200
        else:
            status = item.rejection.status if item.rejection else 422
        request.state.log = {
            "outcome": item.outcome,
            "type": result.type,
            "mode": "binary" if binary else "structured",
        }
        return JSONResponse(result.model_dump(mode="json"), status_code=status)

    @router.post(
        "/v1/events/batch",
        summary="Send many events (gửi nhiều sự kiện)",
        response_model=BatchResult,
        responses=_errors(400, 401, 413, 415, 503),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    **{
                        kind: {
                            "schema": {"type": "array", "items": schema},
                            "example": batch_example,
                        }
                        for kind in ARRAY_TYPES
                    },
                    NDJSON_TYPES[0]: {
                        "schema": {"type": "string", "description": "one CloudEvent per line"},
                        "example": ndjson_example,
                    },
                },
            }
        },
    )
    async def post_batch(request: Request, grant: Authenticated, state: State) -> BatchResult:
        """A JSON array of CloudEvents, or NDJSON (one per line) for large uploads. Each event
        gets its own outcome (`accepted`, `duplicate`, `rejected` with the reason): the good
        events of a mixed batch go through. **503** with `Retry-After` when Kafka cannot take
        them: send the whole batch again (what did reach Kafka then comes back `duplicate`)."""
        kind = require_media_type(request, ARRAY_TYPES + NDJSON_TYPES)
        body = await read_body(request, state.settings.max_body_bytes)
        items = split_batch(body, kind, state.settings.max_batch_events)
        state.metrics.batch_size.observe(len(items))
        await _submit(state, items, grant)
        results = [BatchItemResult.of(item) for item in items]
        counts = {
            outcome: sum(1 for i in items if i.outcome == outcome)
            for outcome in (ACCEPTED, DUPLICATE, REJECTED)
        }
        request.state.log = {"events": len(items), **counts}
        return BatchResult(
            accepted=counts[ACCEPTED],
            duplicate=counts[DUPLICATE],
            rejected=counts[REJECTED],
            results=results,
        )

    return router


def _compact(example: dict[str, Any]) -> str:
    return json.dumps(example, ensure_ascii=False, separators=(",", ":"))
