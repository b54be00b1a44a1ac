"""`GET /v1/event-types`: the catalogue of event types an integration may send."""

from __future__ import annotations

from fastapi import APIRouter

from services.ingest.examples import describe, payload_schema
from services.ingest.models import EventTypeInfo
from services.ingest.state import State
from tthc.events import EVENT_TYPES, Entity

SUBJECTS = {
    Entity.dossier: "mã hồ sơ / dossier code",
    Entity.feedback: "mã phản ánh, kiến nghị / feedback code",
    Entity.procedure: "mã thủ tục hành chính / national procedure code",
    Entity.commune_service: "mã đơn vị cấp xã / commune unit code",
}

router = APIRouter(tags=["catalogue"])


@router.get(
    "/v1/event-types",
    summary="Event types and their payloads (danh mục loại sự kiện)",
    response_model=list[EventTypeInfo],
)
async def event_types(state: State) -> list[EventTypeInfo]:
    """Every event type with the JSON schema of its `data` and a complete example."""
    return [
        EventTypeInfo(
            type=type_,
            entity=payload.entity.value,
            fact=payload.fact,
            subject=SUBJECTS[payload.entity],
            description=describe(payload),
            status=int(payload.status) if payload.status is not None else None,
            data_schema=payload_schema(payload),
            example=state.examples[type_],
        )
        for type_, payload in sorted(EVENT_TYPES.items())
    ]
