"""Every listing and ranking as a spreadsheet: `?format=xlsx|csv` (or `Accept:` one of the two).

The routes answer JSON as ever; this middleware asks them for it (every page of a paged listing)
and lays the answer out as a table with Vietnamese column headers, under a heading that names
the unit, the period and the instant it was judged at. Numbers stay numbers, instants become
dates in Vietnam time. Which rows and columns each route exports is declared once, in `EXPORTS`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import FastAPI
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tthc.calendar import VN_TZ

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MEDIA_TYPES = {"xlsx": XLSX, "csv": CSV}
# Excel holds 1,048,576 rows a sheet; a listing longer than this is refused, not cut.
MAX_ROWS = 1_000_000
DATE_FORMAT = "dd/mm/yyyy hh:mm"

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    header: str  # Vietnamese, as the office reads it
    value: Callable[[Row], Any]
    instant: bool = False  # an ISO 8601 string in the JSON: a date cell in Vietnam time


def key(*path: str) -> Callable[[Row], Any]:
    def get(row: Row) -> Any:
        value: Any = row
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        return value

    return get


@dataclass(frozen=True)
class Sheet:
    title: str
    rows: Callable[[Row], list[Row]]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Export:
    name: str  # of the file: ascii, e.g. xep-hang
    title: str  # the heading
    sheets: tuple[Sheet, ...]  # CSV carries the first
    paged: bool = False  # follow next_offset: the export is the whole listing
    heading: Callable[[Row], list[tuple[str, str]]] = field(default=lambda answer: [])


def _unit(*path: str) -> list[Column]:
    return [
        Column("Mã đơn vị", key(*path, "code")),
        Column("Tên đơn vị", key(*path, "name")),
    ]


def _points(*, lost: bool = True) -> list[Column]:
    columns = [Column("Điểm", key("points")), Column("Điểm tối đa", key("max_points"))]
    return [*columns, Column("Điểm bị trừ", key("lost"))] if lost else columns


CASE_COLUMNS = (
    Column("Mã", key("code")),  # of the dossier, feedback, procedure or commune
    Column("Loại", key("kind")),
    *_unit("unit"),
    Column("Mã thủ tục", key("procedure")),
    Column("Tên thủ tục", key("procedure_name")),
    Column("Kênh (1 trực tiếp, 2 trực tuyến, 3 bưu chính)", key("channel")),
    Column("Ngày tiếp nhận", key("received_at"), instant=True),
    Column("Hạn xử lý", key("due_at"), instant=True),
    Column("Hạn tính cả thời gian bổ sung", key("effective_due_at"), instant=True),
    Column("Ngày kết thúc xử lý", key("ended_at"), instant=True),
    Column("Số lần yêu cầu bổ sung", key("supplement_requests")),
    Column("Lý do bị trừ điểm", key("reason_vi")),
    Column("Chi tiết", key("detail_vi")),
    Column("Số ngày quá hạn", key("overdue_days")),
)
INDICATOR_COLUMNS = (
    Column("Nhóm", key("group")),
    Column("Chỉ số", key("code")),
    Column("Tên chỉ số", key("name_vi")),
    Column("Tử số", key("numerator")),
    Column("Mẫu số", key("denominator")),
    Column("Tỷ lệ", key("rate")),
    *_points(),
)


def _of_unit(answer: Row) -> list[tuple[str, str]]:
    unit = answer.get("unit") or answer.get("parent") or {}
    lines = [("Đơn vị", f"{unit.get('name', '')} ({unit.get('code', '')})")]
    if answer.get("indicator"):
        lines.append(("Chỉ số", f"{answer['indicator']} {answer.get('name_vi') or ''}".strip()))
    return lines


EXPORTS: dict[str, Export] = {
    "/v1/scores": Export(
        "diem",
        "Điểm Bộ chỉ số 766",
        (
            Sheet("Chỉ số", key("indicators"), INDICATOR_COLUMNS),
            Sheet(
                "Nhóm",
                key("groups"),
                (Column("Nhóm", key("number")), Column("Tên nhóm", key("name_vi")), *_points()),
            ),
        ),
        heading=lambda a: [
            *_of_unit(a),
            # no total: nothing to judge in the period (the grade says so)
            ("Tổng điểm (trên 100)", "" if a["total"] is None else f"{a['total']}"),
            ("Xếp loại", a["grade"]),
        ],
    ),
    "/v1/rankings": Export(
        "xep-hang",
        "Xếp hạng đơn vị",
        (
            Sheet(
                "Xếp hạng",
                key("units"),
                (
                    Column("Hạng", key("rank")),
                    *_unit("unit"),
                    Column("Giá trị xếp hạng", key("value")),
                    Column("Tổng điểm", key("total")),
                    Column("Xếp loại", key("grade")),
                    Column("Điểm bị trừ", key("lost")),
                    Column("Hạng kỳ trước", key("previous_rank")),
                    Column("Thay đổi hạng", key("rank_change")),
                    Column("Giá trị kỳ trước", key("previous_value")),
                ),
            ),
        ),
        heading=_of_unit,
    ),
    "/v1/trends": Export(
        "xu-huong",
        "Diễn biến theo thời gian",
        (
            Sheet(
                "Diễn biến",
                key("points"),
                (
                    Column("Kỳ", key("label")),
                    Column("Từ ngày", key("first_day")),
                    Column("Đến ngày", key("last_day")),
                    Column("Tử số", key("numerator")),
                    Column("Mẫu số", key("denominator")),
                    Column("Tỷ lệ", key("rate")),
                    *_points(lost=False),
                    Column("Tổng điểm", key("total")),
                ),
            ),
        ),
        heading=_of_unit,
    ),
    "/v1/units/{code}/dossiers": Export(
        "ho-so",
        "Hồ sơ bị trừ điểm",
        (Sheet("Hồ sơ", key("items"), CASE_COLUMNS),),
        paged=True,
        heading=_of_unit,
    ),
    "/v1/units/{code}/procedures": Export(
        "thu-tuc",
        "Theo từng thủ tục",
        (
            Sheet(
                "Thủ tục",
                key("items"),
                (
                    Column("Mã thủ tục", key("procedure")),
                    Column("Tên thủ tục", key("procedure_name")),
                    Column("Tử số", key("numerator")),
                    Column("Mẫu số", key("denominator")),
                    Column("Tỷ lệ (trung bình: ngày)", key("rate")),
                ),
            ),
        ),
        heading=_of_unit,
    ),
    "/v1/warnings": Export(
        "canh-bao",
        "Hồ sơ sắp quá hạn",
        (Sheet("Sắp quá hạn", key("items"), CASE_COLUMNS),),
        paged=True,
        heading=_of_unit,
    ),
    "/v1/indicators": Export(
        "chi-so",
        "Danh mục chỉ số",
        (
            Sheet(
                "Chỉ số",
                key("indicators"),
                (
                    Column("Nhóm", key("group")),
                    Column("Chỉ số", key("code")),
                    Column("Tên chỉ số", key("name_vi")),
                    Column("Điểm tối đa", key("points")),
                    Column("Chỉ theo dõi (0 điểm)", key("monitoring")),
                ),
            ),
        ),
    ),
}


def _patterns() -> list[tuple[re.Pattern[str], Export]]:
    return [
        (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"), export)
        for path, export in EXPORTS.items()
    ]


def _chosen_format(scope: Scope) -> str | None:
    """'xlsx', 'csv', '' for a format= the API does not offer, None for JSON."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if "format" in query:
        wanted = query["format"].strip().lower()
        return wanted if wanted in MEDIA_TYPES or wanted == "json" else ""
    accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return next((name for name, media in MEDIA_TYPES.items() if media == first), None)


class ExportMiddleware:
    """Turns the JSON answer of an exported route into XLSX or CSV."""

    def __init__(self, app: ASGIApp, max_page_size: int) -> None:
        self.app = app
        self.max_page_size = max_page_size
        self.routes = _patterns()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        export = self._export_of(scope)
        chosen = _chosen_format(scope) if export is not None else None
        if export is None or chosen is None or chosen == "json":
            await self.app(scope, receive, send)
            return
        if chosen == "":
            await _answer(send, 422, "application/json", _bad_format())
            return
        asked = parse_qsl(scope["query_string"].decode("latin-1"))
        query = [(k, v) for k, v in asked if k != "format"]
        status, headers, body = await self._json(scope, query, export)
        if status != 200:
            await _answer(send, status, headers.get("content-type", "application/json"), body)
            return
        answer = orjson.loads(body)
        content = to_xlsx(export, answer) if chosen == "xlsx" else to_csv(export, answer)
        period = (answer.get("period") or {}).get("label", "")
        filename = "-".join(p for p in (export.name, period) if p) + f".{chosen}"
        await _answer(
            send,
            200,
            XLSX if chosen == "xlsx" else f"{CSV}; charset=utf-8",
            content,
            {"content-disposition": f'attachment; filename="{filename}"'},
        )

    def _export_of(self, scope: Scope) -> Export | None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            return None
        path = scope.get("path", "")
        return next((e for pattern, e in self.routes if pattern.match(path)), None)

    async def _json(
        self, scope: Scope, query: list[tuple[str, str]], export: Export
    ) -> tuple[int, dict[str, str], bytes]:
        """The route's JSON answer; for a paged listing, every page's items in one answer."""
        if not export.paged:
            return await self._call(scope, query)
        base = [(k, v) for k, v in query if k not in ("limit", "offset")]
        offset: int | None = 0
        merged: Row | None = None
        while offset is not None:
            page = [*base, ("limit", str(self.max_page_size)), ("offset", str(offset))]
            status, headers, body = await self._call(scope, page)
            if status != 200:
                return status, headers, body
            answer = orjson.loads(body)
            if answer["total"] > MAX_ROWS:
                return 422, {}, _too_many(answer["total"])
            if merged is None:
                merged = answer
            else:
                merged["items"].extend(answer["items"])
            offset = answer.get("next_offset")
        assert merged is not None
        merged.update(limit=len(merged["items"]), offset=0, next_offset=None)
        return 200, {}, orjson.dumps(merged)

    async def _call(
        self, scope: Scope, query: list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"accept"]
        inner = dict(
            scope,
            query_string=urlencode(query).encode("latin-1"),
            headers=[*headers, (b"accept", b"application/json")],
        )
        status = 500
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def collect(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    answer_headers[k.decode("latin-1").lower()] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, nothing, collect)
        return status, answer_headers, b"".join(chunks)


def _problem(reason: str) -> bytes:
    return orjson.dumps(
        {
            "error": "invalid",
            "message": "Tham số không hợp lệ / Invalid parameter",
            "problems": [{"field": "format", "reason": reason}],
        }
    )


def _bad_format() -> bytes:
    return _problem("format must be json, xlsx or csv")


def _too_many(total: int) -> bytes:
    return _problem(f"{total} rows is more than a spreadsheet holds ({MAX_ROWS}): narrow the query")


async def _answer(
    send: Send, status: int, media: str, body: bytes, extra: dict[str, str] | None = None
) -> None:
    headers = {"content-type": media, "content-length": str(len(body)), **(extra or {})}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    # Excel has no time zones: the office reads Vietnam time
    return datetime.fromisoformat(value).astimezone(VN_TZ).replace(tzinfo=None)


def heading(export: Export, answer: Row) -> list[tuple[str, str]]:
    """The lines above the table: what, which unit, the period and the instant judged at."""
    lines = list(export.heading(answer))
    period = answer.get("period")
    if period:
        lines.append(
            ("Kỳ đánh giá", f"{period['label']} ({period['first_day']} – {period['last_day']})")
        )
        judged = _instant(period["cutoff"])
        assert judged is not None
        lines.append(("Thời điểm đánh giá", judged.strftime("%d/%m/%Y %H:%M") + " (giờ Việt Nam)"))
    return lines


def _cells(sheet: Sheet, answer: Row) -> Iterable[list[Any]]:
    for row in sheet.rows(answer) or []:
        yield [_instant(c.value(row)) if c.instant else c.value(row) for c in sheet.columns]


def to_xlsx(export: Export, answer: Row) -> bytes:
    book = Workbook()
    bold = Font(bold=True)
    for index, sheet in enumerate(export.sheets):
        page = book.active if index == 0 else book.create_sheet()
        assert page is not None
        page.title = sheet.title
        page.append([export.title])
        page["A1"].font = Font(bold=True, size=14)
        for label, value in heading(export, answer):
            page.append([label, value])
        page.append([])
        page.append([c.header for c in sheet.columns])
        header_row = page.max_row
        for cell in page[header_row]:
            cell.font = bold
        page.freeze_panes = f"A{header_row + 1}"
        for values in _cells(sheet, answer):
            page.append(values)
        for number, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(number)
            if column.instant:
                for (cell,) in page.iter_rows(
                    min_row=header_row + 1, min_col=number, max_col=number
                ):
                    cell.number_format = DATE_FORMAT
            page.column_dimensions[letter].width = max(12, min(45, len(column.header) + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(export: Export, answer: Row) -> bytes:
    """The first sheet, under the same heading; with a BOM so that Excel reads it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([export.title])
    for label, value in heading(export, answer):
        writer.writerow([label, value])
    writer.writerow([])
    sheet = export.sheets[0]
    writer.writerow([c.header for c in sheet.columns])
    for values in _cells(sheet, answer):
        writer.writerow(
            [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in values]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _document(app: FastAPI) -> None:
    """The OpenAPI page names the format parameter and the two media types of each export."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for path, export in EXPORTS.items():
            operation = spec.get("paths", {}).get(path, {}).get("get")
            if operation is None:
                continue
            whole = " (the whole listing, every page)" if export.paged else ""
            operation.setdefault("parameters", []).append(
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "description": "json (default), xlsx or csv: a spreadsheet with Vietnamese "
                    f"column headers, the period and the instant judged at{whole}; "
                    "or ask by Accept",
                    "schema": {"type": "string", "enum": ["json", "xlsx", "csv"]},
                }
            )
            content = operation["responses"]["200"].setdefault("content", {})
            binary = {"schema": {"type": "string", "format": "binary"}}
            content[XLSX] = binary
            content[CSV] = binary
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, max_page_size: int) -> None:
    app.add_middleware(ExportMiddleware, max_page_size=max_page_size)
    _document(app)
