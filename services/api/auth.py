"""Viewer tokens: `Authorization: Bearer <token>` or `X-API-Key: <token>`, scoped to a subtree.

Tokens are key documents of services.auth (the ingest's keys, another file): a token covers the
units of its scope and everything under them. Dossier-level endpoints always need one;
aggregate scores need one only when `open_scores` is off.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.api.errors import ApiError
from services.api.state import ApiState, State
from services.auth import Grant

bearer = HTTPBearer(auto_error=False, description="Mã truy cập / viewer token")
token_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Mã truy cập / viewer token (instead of Bearer)"
)


async def presented_grant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_token: Annotated[str | None, Depends(token_header)],
    state: State,
) -> Grant | None:
    """The grant of the token presented, None without a token; 401 for an unknown token."""
    presented = credentials.credentials if credentials is not None else header_token
    if not presented:
        return None
    grant = state.keyring.authenticate(presented)
    if grant is None:
        raise _unauthorized("unknown viewer token")
    request.state.viewer = grant.name
    return grant


Viewer = Annotated[Grant | None, Depends(presented_grant)]


async def integration_grant(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_token: Annotated[str | None, Depends(token_header)],
    state: State,
) -> Grant:
    """The ingest key presented (an integration reading what was refused of its events)."""
    presented = credentials.credentials if credentials is not None else header_token
    grant = state.integrations.authenticate(presented) if presented else None
    if grant is None:
        raise _unauthorized("send the integration's ingest API key as Authorization: Bearer")
    return grant


Integration = Annotated[Grant, Depends(integration_grant)]


def authorize(state: ApiState, grant: Grant | None, unit: str, *, dossiers: bool) -> None:
    """Dossier lists need a token covering `unit`; scores too when they are not open."""
    if not dossiers and state.settings.open_scores:
        return
    if grant is None:
        raise _unauthorized("no viewer token: send Authorization: Bearer <token> or X-API-Key")
    if not grant.covers(unit):
        raise ApiError(
            403,
            "forbidden",
            "Đơn vị nằm ngoài phạm vi của mã truy cập / Unit outside the token's scope",
            [("unit", f"the token {grant.name!r} does not cover unit {unit!r}")],
        )


def _unauthorized(reason: str) -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "Thiếu hoặc sai mã truy cập / Missing or invalid viewer token",
        [("Authorization", reason)],
        headers={"WWW-Authenticate": "Bearer"},
    )
