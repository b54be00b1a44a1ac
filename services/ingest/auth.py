"""The API-key dependency: `Authorization: Bearer <key>` or `X-API-Key: <key>`.

Keys are looked up by their SHA-256 in constant time (services.auth.KeyRing). Neither the key nor
its hash is ever logged; the integration's name is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.auth import Grant
from services.ingest.bodies import RequestError
from services.ingest.state import State

bearer = HTTPBearer(auto_error=False, description="Khóa API / API key")
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Khóa API / API key (instead of Bearer)"
)

UNAUTHORIZED = "Thiếu hoặc sai khóa API / Missing or invalid API key"


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
    state: State,
) -> Grant:
    presented = credentials.credentials if credentials is not None else header_key
    if not presented:
        if state.anonymous is not None:
            request.state.integration = state.anonymous.name
            return state.anonymous
        raise _unauthorized("no API key: send Authorization: Bearer <key> or X-API-Key")
    grant = state.keyring.authenticate(presented)
    if grant is None:
        raise _unauthorized("unknown API key")
    request.state.integration = grant.name
    return grant


Authenticated = Annotated[Grant, Depends(authenticated)]


def _unauthorized(reason: str) -> RequestError:
    return RequestError(
        401,
        "unauthorized",
        UNAUTHORIZED,
        [("Authorization", reason)],
        headers={"WWW-Authenticate": "Bearer"},
    )
