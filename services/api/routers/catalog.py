"""`GET /v1/indicators`: the catalog of the methodology profile in use."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.models import CatalogOut
from services.api.state import State

router = APIRouter(tags=["catalog"])


@router.get(
    "/v1/indicators",
    summary="Danh mục chỉ số / The indicator catalog",
    description="Groups, grade bands and the 22 indicators with their parts, points, rules and "
    "the levels they apply to, as the profile in use defines them; each part with what its "
    "measure counts (`counts`, the numerator) out of what (`out_of`, the denominator), in words.",
)
def get_indicators(state: State) -> CatalogOut:
    return CatalogOut.of(state.profile)
