"""`GET /v1/unknown-procedures`: procedures dossiers name that nobody configured yet."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.auth import Viewer, authorize
from services.api.errors import responses
from services.api.models import UnitRef, UnknownProcedure, UnknownProceduresOut
from services.api.params import UnitParam, unit_of
from services.api.queries import unknown_procedures
from services.api.state import State

router = APIRouter(tags=["procedures"])


@router.get(
    "/v1/unknown-procedures",
    response_model=UnknownProceduresOut,
    summary="Thủ tục chưa được cấu hình / Procedures nobody configured",
    description="Procedures that dossiers of the unit's subtree name but that no "
    "`procedure.configured` event described yet, with their dossiers. How these dossiers count "
    "meanwhile is the profile's `unknown_procedure_dossiers` (`defaults` or `neutral`). Scores' "
    "access rule.",
    responses=responses(401, 403, 404),
)
def get_unknown_procedures(state: State, viewer: Viewer, unit: UnitParam) -> UnknownProceduresOut:
    u = unit_of(state, unit)
    authorize(state, viewer, u.code, dossiers=False)
    rows = unknown_procedures(state.pool, state.tree.subtree(u.code))
    return UnknownProceduresOut(
        unit=UnitRef.of(u),
        setting=state.profile.settings.unknown_procedure_dossiers.value,
        total_dossiers=sum(r["dossiers"] for r in rows),
        procedures=[UnknownProcedure(**r) for r in rows],
    )
