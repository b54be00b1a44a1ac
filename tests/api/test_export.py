"""Listings and rankings as XLSX and CSV: read back with openpyxl and csv, the cells hold the
JSON answer's numbers as numbers, under Vietnamese headers, the period and the instant judged at."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.api.export import CSV, EXPORTS, XLSX
from tests.api.conftest import AS_OF, PROVINCE_VIEWER, bearer
from tthc.calendar import VN_TZ


def sheet_of(content: bytes, index: int = 0) -> Worksheet:
    book = load_workbook(io.BytesIO(content))
    return book.worksheets[index]


def table(page: Worksheet, first_header: str) -> tuple[list[str], list[list[object]]]:
    """The header row (found by its first cell) and the rows under it."""
    rows = [list(r) for r in page.iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if r[0] == first_header)
    return rows[at], rows[at + 1 :]


def labels(page: Worksheet) -> dict[str, object]:
    return {r[0]: r[1] for r in page.iter_rows(max_row=6, values_only=True) if r[0]}


def test_a_ranking_downloads_as_xlsx_with_the_numbers_as_numbers(api):
    params = {"level": "commune", "period": "2024-05"}
    answer = api.get("/v1/rankings", params=params).json()
    response = api.get("/v1/rankings", params={**params, "format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert 'filename="xep-hang-2024-05.xlsx"' in response.headers["content-disposition"]
    page = sheet_of(response.content)
    assert page["A1"].value == "Xếp hạng đơn vị"
    heading = labels(page)
    assert heading["Đơn vị"] == "Tỉnh Đồng Nai (75)"
    assert heading["Kỳ đánh giá"] == "2024-05 (2024-05-01 – 2024-05-31)"
    assert heading["Thời điểm đánh giá"] == "31/05/2024 23:59 (giờ Việt Nam)"
    header, rows = table(page, "Hạng")
    assert header[:5] == ["Hạng", "Mã đơn vị", "Tên đơn vị", "Giá trị xếp hạng", "Tổng điểm"]
    assert len(rows) == len(answer["units"]) > 10
    for row, unit in zip(rows, answer["units"], strict=True):
        assert row[0] == unit["rank"] and isinstance(row[0], int)
        assert (row[1], row[2]) == (unit["unit"]["code"], unit["unit"]["name"])
        assert row[4] == pytest.approx(unit["total"]) and isinstance(row[4], float)
        assert row[7] == unit["previous_rank"]


def test_a_paged_listing_exports_every_page_with_dates_as_dates(api):
    params = {"indicator": "2.1", "outcome": "counted", "period": "2024-Q2", "limit": 5}
    headers = bearer(PROVINCE_VIEWER)
    first = api.get("/v1/units/75/dossiers", params=params, headers=headers).json()
    assert first["total"] > 5  # more than the page asked for, all exported
    response = api.get("/v1/units/75/dossiers", params=params, headers={**headers, "Accept": XLSX})
    assert response.status_code == 200, response.text
    page = sheet_of(response.content)
    assert labels(page)["Chỉ số"] == "2.1 Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn"
    header, rows = table(page, "Mã")
    assert len(rows) == first["total"]
    assert [r[0] for r in rows[:5]] == [i["code"] for i in first["items"]]
    received = header.index("Ngày tiếp nhận")
    item = first["items"][0]
    assert isinstance(rows[0][received], datetime)
    expected = datetime.fromisoformat(item["received_at"]).astimezone(VN_TZ).replace(tzinfo=None)
    assert abs((rows[0][received] - expected).total_seconds()) < 0.001


def test_csv_has_the_same_heading_and_rows(api):
    params = {"unit": "25264", "indicator": "2.1", "granularity": "month", "period": "2024-Q2"}
    answer = api.get("/v1/trends", params=params).json()
    response = api.get("/v1/trends", params={**params, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(CSV)
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Diễn biến theo thời gian"]
    assert ["Đơn vị", "Xã Phú Riềng (25264)"] in rows
    at = rows.index(next(r for r in rows if r and r[0] == "Kỳ"))
    body = rows[at + 1 :]
    assert [r[0] for r in body] == [p["label"] for p in answer["points"]]
    points = rows[at].index("Điểm")
    assert [float(r[points]) for r in body] == [p["points"] for p in answer["points"]]


def test_scores_export_the_indicators_and_the_groups(api):
    answer = api.get("/v1/scores", params={"unit": "75", "period": "2024-Q2"}).json()
    response = api.get("/v1/scores", params={"unit": "75", "period": "2024-Q2", "format": "xlsx"})
    indicators = sheet_of(response.content, 0)
    groups = sheet_of(response.content, 1)
    assert (indicators.title, groups.title) == ("Chỉ số", "Nhóm")
    assert labels(indicators)["Tổng điểm (trên 100)"] == str(answer["total"])
    _, rows = table(indicators, "Nhóm")
    assert [r[1] for r in rows] == [i["code"] for i in answer["indicators"]]
    assert [r[6] for r in rows] == pytest.approx([i["points"] for i in answer["indicators"]])
    _, rows = table(groups, "Nhóm")
    assert [r[0] for r in rows] == [g["number"] for g in answer["groups"]]
    assert [r[2] for r in rows] == pytest.approx([g["points"] for g in answer["groups"]])


def test_errors_stay_json_and_a_bad_format_is_named(api):
    response = api.get("/v1/rankings", params={"level": "nowhere", "format": "xlsx"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "level"
    response = api.get("/v1/rankings", params={"level": "commune", "format": "pdf"})
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "format", "reason": "format must be json, xlsx or csv"}
    ]
    unauthorized = api.get("/v1/units/75/dossiers", params={"indicator": "2.1", "format": "csv"})
    assert unauthorized.status_code == 401


def test_the_openapi_page_offers_the_spreadsheet_of_every_export(api):
    spec = api.get("/openapi.json").json()
    for path in EXPORTS:
        operation = spec["paths"][path]["get"]
        assert XLSX in operation["responses"]["200"]["content"], path
        assert "format" in [p["name"] for p in operation["parameters"]], path


def test_as_of_is_the_judging_instant_of_a_current_period(api):
    response = api.get("/v1/rankings", params={"level": "department", "format": "xlsx"})
    judged = AS_OF.strftime("%d/%m/%Y %H:%M")
    assert labels(sheet_of(response.content))["Thời điểm đánh giá"].startswith(judged)
