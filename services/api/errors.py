"""Errors the API answers with: a stable code, a bilingual message, the parameters at fault."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.errors import HttpError
from services.observability import get_logger

log = get_logger("services.api")


class Problem(BaseModel):
    field: str = Field(description="the parameter at fault, e.g. `period`")
    reason: str


class ErrorBody(BaseModel):
    error: str = Field(description="a stable code: not_found, invalid, unauthorized, forbidden")
    message: str = Field(description="Vietnamese / English")
    problems: list[Problem] = Field(default_factory=list)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": "invalid",
                    "message": "Tham số không hợp lệ / Invalid parameter",
                    "problems": [
                        {
                            "field": "period",
                            "reason": "period '2024-13' is not one of YYYY-MM, YYYY-Qn, YYYY-Hn, "
                            "YYYY (or give from= and to= dates)",
                        }
                    ],
                }
            ]
        }
    }


class ApiError(HttpError):
    """A refused API request."""


INVALID = "Tham số không hợp lệ / Invalid parameter"


def invalid(field: str, reason: str) -> ApiError:
    return ApiError(422, "invalid", INVALID, [(field, reason)])


def not_found(field: str, reason: str) -> ApiError:
    return ApiError(404, "not_found", "Không tìm thấy / Not found", [(field, reason)])


def _respond(error: ApiError) -> JSONResponse:
    body = ErrorBody(
        error=error.error,
        message=error.message,
        problems=[Problem(field=f, reason=r) for f, r in error.problems],
    )
    return JSONResponse(body.model_dump(), error.status, headers=error.headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _respond(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            (".".join(str(p) for p in e["loc"] if p not in ("query", "path")), e["msg"])
            for e in error.errors()
        ]
        return _respond(ApiError(422, "invalid", INVALID, problems))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected_error", route=request.url.path, error=repr(error), exc_info=error)
        return _respond(ApiError(500, "internal", "Lỗi hệ thống / Internal error"))


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The error responses of a route, for the OpenAPI page."""
    descriptions = {
        401: "No viewer token, or an unknown one",
        403: "The unit is outside the token's scope",
        404: "Unknown unit (or indicator)",
        422: "A malformed parameter: each is named in `problems`",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}
