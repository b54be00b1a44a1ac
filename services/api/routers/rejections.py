"""`GET /v1/rejections`: the events of the caller's integration that the aggregator refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.api.auth import Integration
from services.api.errors import responses
from services.api.models import RejectedEventOut, RejectionsOut
from services.api.state import State
from services.storage.schema import REJECTIONS_TABLE
from tthc.expr import sql_literal

router = APIRouter(tags=["integrations"])


@router.get(
    "/v1/rejections",
    response_model=RejectionsOut,
    summary="Sự kiện bị từ chối / Refused events",
    description="Events the ingest accepted (202) but the aggregator refused to count, newest "
    "first, with the reason: `not_owner` (the dossier or feedback belongs to a unit outside "
    "the key's scope), `destination_out_of_scope` (a move or transfer out of it), "
    "`conflicting_resend` (a resend of a (source, id) with another payload), "
    "`claimed_by_another_key`. Only the caller's own events: authenticate with the "
    "integration's ingest key.",
    responses=responses(401, 422),
)
def get_rejections(
    state: State,
    integration: Integration,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RejectionsOut:
    where = f"integration = {sql_literal(integration.name)}"
    rows = state.pool.rows(
        f"SELECT source, id, type, subject, reason, detail, event_time, rejected_at "
        f"FROM {REJECTIONS_TABLE} FINAL WHERE {where} "
        f"ORDER BY rejected_at DESC, source, id LIMIT {limit} OFFSET {offset}",
        "rejections",
    )
    (count,) = state.pool.rows(
        f"SELECT count() AS n FROM {REJECTIONS_TABLE} FINAL WHERE {where}", "rejections"
    )
    return RejectionsOut(
        integration=integration.name,
        total=count["n"],
        events=[RejectedEventOut(**row) for row in rows],
    )
