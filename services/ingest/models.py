"""What the ingest answers: one model per kind of response, shown on the OpenAPI page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from services.ingest.bodies import Item

Outcome = Literal["accepted", "duplicate", "rejected"]


class Problem(BaseModel):
    field: str = Field(description="Path of the bad field, e.g. `data.unit`; `(event)` for all")
    reason: str

    model_config = {"json_schema_extra": {"examples": [{"field": "data.unit", "reason": "…"}]}}


class EventResult(BaseModel):
    """The outcome of one event."""

    outcome: Outcome = Field(
        description="accepted: in Kafka now; duplicate: this (source, id) was already accepted; "
        "rejected: not published, see `reason` and `problems`"
    )
    id: str | None = None
    source: str | None = None
    type: str | None = None
    reason: str | None = Field(
        None,
        description="why it was rejected: malformed_json, invalid, unknown_type, too_large, "
        "unknown_unit, unknown_procedure, future_time, out_of_scope, source_not_allowed",
    )
    message: str | None = Field(None, description="Vietnamese / English")
    problems: list[Problem] = Field(default_factory=list)

    @classmethod
    def of(cls, item: Item) -> EventResult:
        rejection = item.rejection
        return cls(
            outcome=item.outcome or "rejected",
            id=item.event.id if item.event else item.claimed("id"),
            source=item.event.source if item.event else item.claimed("source"),
            type=item.event.type if item.event else item.claimed("type"),
            reason=rejection.reason.value if rejection else None,
            message=rejection.message if rejection else None,
            problems=[Problem(field=f, reason=r) for f, r in rejection.problems]
            if rejection
            else [],
        )


class BatchItemResult(EventResult):
    index: int = Field(description="Position in the batch, from 0 (non-blank lines for NDJSON)")
    line: int | None = Field(None, description="NDJSON only: the line number in the body, from 1")

    @classmethod
    def of(cls, item: Item) -> BatchItemResult:
        return cls(index=item.index, line=item.line, **EventResult.of(item).model_dump())


class BatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[BatchItemResult]


class ErrorBody(BaseModel):
    """A request refused as a whole: nothing of it was published."""

    error: str = Field(description="a stable code, e.g. kafka_unavailable, body_too_large")
    message: str = Field(description="Vietnamese / English")
    problems: list[Problem] = Field(default_factory=list)
    retry_after: int | None = Field(None, description="seconds; also in the Retry-After header")


class EventTypeInfo(BaseModel):
    type: str
    entity: str
    fact: str
    subject: str = Field(description="what the CloudEvent `subject` names for this type")
    description: str
    status: int | None = Field(None, description="the one-stop-shop dossier status it sets")
    data_schema: dict[str, Any] = Field(description="JSON schema of `data`")
    example: dict[str, Any] = Field(description="a complete CloudEvent of this type")


class Health(BaseModel):
    status: str
    kafka: bool | None = None
