"""Request bodies: read with a size cap, check the media type, split a batch into items.

One event comes in either HTTP content mode of CloudEvents 1.0. Structured: the envelope as a
JSON object (``application/cloudevents+json`` or ``application/json``). Binary: the attributes
as ``ce-`` headers, ``Content-Type`` the media type of ``data`` (``application/json``), the body
``data`` alone; :func:`binary_attributes` turns the headers back into the structured envelope,
so both modes go through the same checks and give the same Kafka record. A batch is structured
only: a JSON array (``application/cloudevents-batch+json`` or ``application/json``) or one event
per line (``application/x-ndjson``). A line that is not JSON is rejected on its own; the other
lines of the batch go through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import ClientDisconnect, Request

from services.errors import HttpError
from services.ingest.checks import Reason, Rejection
from tthc.events import Event

SINGLE_TYPES = ("application/cloudevents+json", "application/json")
ARRAY_TYPES = ("application/cloudevents-batch+json", "application/json")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
STRUCTURED_PREFIX = "application/cloudevents"
BINARY_DATA_TYPES = ("application/json",)
# Parts of the envelope that binary mode carries elsewhere than in a ce- header.
_NOT_HEADERS = {
    "data": "in binary mode the body is the data",
    "datacontenttype": "in binary mode the Content-Type header is the datacontenttype",
}


class RequestError(HttpError):
    """A request refused as a whole (not one event of it)."""


@dataclass
class Item:
    """One event of a request, from its raw JSON to its outcome."""

    index: int
    raw: Any = None
    line: int | None = None
    rejection: Rejection | None = None
    event: Event | None = None
    value: bytes | None = None  # the Kafka record value, encoded once
    outcome: str | None = None  # accepted | duplicate | rejected

    def claimed(self, name: str) -> str | None:
        """The envelope attribute as sent, for reporting even when the event is invalid."""
        value = self.raw.get(name) if isinstance(self.raw, dict) else None
        return value if isinstance(value, str) else None


def is_binary(request: Request) -> bool:
    """Binary content mode: ``ce-`` headers on a request that is not structured-mode JSON.

    The HTTP binding tells the modes apart by Content-Type; any ``ce-`` header (not only
    ``ce-specversion``) makes it binary, so that a forgotten one is named rather than the
    body being mistaken for a whole envelope.
    """
    if media_type(request).startswith(STRUCTURED_PREFIX):
        return False
    return any(name.lower().startswith(b"ce-") for name, _ in request.headers.raw)


def binary_attributes(request: Request) -> dict[str, Any]:
    """The envelope's attributes from the ``ce-`` headers (percent-decoded) and Content-Type.

    Checked here is only what the headers alone can get wrong (their encoding, a header sent
    twice, the data's media type); which attributes are required and what they may hold is
    checked on the rebuilt envelope, the same way as in structured mode.
    """
    kind = media_type(request)
    if kind not in BINARY_DATA_TYPES:
        raise RequestError(
            415,
            "unsupported_media_type",
            "Kiểu nội dung không được hỗ trợ / Unsupported Content-Type "
            f"{kind or '(none)'!r} for a binary-mode event; its data must be JSON",
            [(
                "Content-Type",
                f"binary mode (ce- headers): the media type of data, one of "
                f"{', '.join(BINARY_DATA_TYPES)}; or send the whole envelope as "
                f"{SINGLE_TYPES[0]}",
            )],
        )  # fmt: skip
    attributes: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        if not name.startswith("ce-"):
            continue
        attribute = name.removeprefix("ce-")
        if attribute in _NOT_HEADERS:
            problems.append((name, _NOT_HEADERS[attribute]))
        elif attribute in attributes:
            problems.append((name, "sent more than once"))
        else:
            try:
                # Percent-decoding only: "+" is a literal plus (ce-time offsets), not a space.
                attributes[attribute] = unquote_to_bytes(raw_value).decode("utf-8")
            except UnicodeDecodeError:
                problems.append((name, "not UTF-8 once percent-decoded"))
    if problems:
        raise RequestError(
            400,
            "invalid_headers",
            "Tiêu đề ce- không hợp lệ / Invalid ce- headers",
            problems,
        )
    attributes["datacontenttype"] = kind
    return attributes


def header_names(rejection: Rejection) -> Rejection:
    """A binary-mode rejection, naming the header or the body each problem came from."""
    return Rejection(rejection.reason, tuple((_header_field(f), r) for f, r in rejection.problems))


def _header_field(field: str) -> str:
    if field == "data":
        return "(body)"
    if field.startswith(("data.", "(")):
        return field
    if field == "datacontenttype":
        return "Content-Type"
    return f"ce-{field.split('.', 1)[0]}"


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, accepted: tuple[str, ...]) -> str:
    kind = media_type(request)
    if kind not in accepted:
        raise RequestError(
            415,
            "unsupported_media_type",
            "Kiểu nội dung không được hỗ trợ / Unsupported Content-Type "
            f"{kind or '(none)'!r}; use one of: {', '.join(accepted)}",
            [("Content-Type", f"expected one of {', '.join(accepted)}")],
        )
    return kind


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody reads the answer; it is for the request's log line (no traceback: its frames
        # hold the request and its key).
        raise RequestError(
            400,
            "client_disconnected",
            "Kết nối bị ngắt giữa chừng / The client disconnected before the body was complete",
            [("(body)", f"{size} bytes received, then the connection closed")],
        ) from None
    return b"".join(chunks)


def _too_large(limit: int) -> RequestError:
    message = f"Nội dung quá lớn / Request body larger than {limit} bytes; split it into batches"
    return _over_limit("body_too_large", message, f"at most {limit} bytes")


def _over_limit(error: str, message: str, limit: str) -> RequestError:
    """A 413: the body is past one of the ingest's limits, nothing of it was read as events."""
    return RequestError(413, error, message, [("(body)", limit)])


def _not_json(error: orjson.JSONDecodeError) -> tuple[str, str]:
    return ("(body)", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")


def decode_single(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(
            400, Reason.malformed_json.value, "Không phải JSON hợp lệ / Not valid JSON",
            [_not_json(error)],
        ) from None  # fmt: skip


def split_batch(body: bytes, kind: str, max_events: int) -> list[Item]:
    """The items of a batch body, in order; too many → 413 before any is checked."""
    if kind in NDJSON_TYPES:
        items: list[Item] = []
        for number, line in enumerate(body.split(b"\n"), start=1):
            if not line.strip():
                continue
            item = Item(index=len(items), line=number)
            try:
                item.raw = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                reason = f"not valid JSON: {error.msg} at column {error.colno}"
                item.rejection = Rejection(Reason.malformed_json, (("(line)", reason),))
            items.append(item)
            if len(items) > max_events:
                raise _too_many(max_events)
        return items
    raw = decode_single(body)
    if not isinstance(raw, list):
        raise RequestError(
            400,
            "not_a_batch",
            "Lô sự kiện phải là một mảng JSON / A batch is a JSON array of events",
            [("(body)", f"expected a JSON array, got {type(raw).__name__}")],
        )
    if len(raw) > max_events:
        raise _too_many(max_events)
    return [Item(index=i, raw=value) for i, value in enumerate(raw)]


def _too_many(max_events: int) -> RequestError:
    message = f"Quá nhiều sự kiện trong một lô / More than {max_events} events in one batch"
    return _over_limit("too_many_events", message, f"at most {max_events} events per batch")
