"""The exception the HTTP services raise to refuse a request as a whole.

Each service has its own handler, which turns it into that service's documented error body.
"""

from __future__ import annotations


class HttpError(Exception):
    """An HTTP status, a stable code, a bilingual message, and the (field, reason) problems."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        problems: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = problems or []
        self.headers = headers or {}
