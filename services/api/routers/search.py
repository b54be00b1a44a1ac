"""`GET /v1/search`: units and procedures by name or code, accents optional."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.errors import invalid, responses
from services.api.models import UnitRef
from services.api.state import State
from services.storage.schema import TABLES
from tthc.text import fold, matches

router = APIRouter(tags=["catalog"])


class ProcedureRef(BaseModel):
    code: str = Field(description="mã TTHC")
    name: str = Field(description="tên TTHC, from the catalogue")


class SearchOut(BaseModel):
    query: str
    units: list[UnitRef] = Field(description="today's units first, then by name")
    procedures: list[ProcedureRef] = Field(description="by name")


@router.get(
    "/v1/search",
    response_model=SearchOut,
    summary="Tìm đơn vị, thủ tục / Find units and procedures",
    description="Units of the tree and procedures of the catalogue whose name or code holds "
    "every word of `q`, with or without Vietnamese accents: `bu nho` finds Xã Bù Nho.",
    responses=responses(422),
)
def search(
    state: State,
    q: Annotated[str, Query(description="words of a name, or a code", max_length=200)],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> SearchOut:
    if not fold(q):
        raise invalid("q", "give a word of a name, or a code")
    units = [u for u in state.tree if matches(q, u.name, u.code)]
    units.sort(key=lambda u: (not u.is_current, fold(u.name), u.code))
    rows = state.pool.rows(
        f"SELECT code, name FROM {TABLES.procedure} FINAL WHERE name != ''", "search"
    )
    procedures = [
        ProcedureRef(code=r["code"], name=r["name"])
        for r in rows
        if matches(q, r["name"], r["code"])
    ]
    procedures.sort(key=lambda p: (fold(p.name), p.code))
    return SearchOut(
        query=q,
        units=[UnitRef.of(u) for u in units[:limit]],
        procedures=procedures[:limit],
    )
