"""The periodic report: the DOCX read back with python-docx holds the API's numbers in its tables;
the PDF, rendered to PNG pages by pdftoppm, has its pages and its text (pdftotext)."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from docx.table import Table
from typer.testing import CliRunner

from services.api import ApiSettings, create_app
from services.api.routers.reports import DOCX, PDF
from services.cli import app as cli
from tests.api.conftest import AS_OF, COMMUNE_VIEWER, PROVINCE_VIEWER, VIEWERS, bearer
from tests.served import served

PERIOD = "2024-Q2"


def number(text: str) -> float:
    """'1.234,50' → 1234.5"""
    return float(text.replace(".", "").replace(",", "."))


def rows_of(table: Table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def table_after(document: Document, caption: str) -> list[list[str]]:
    """The table right after the paragraph with this caption."""
    content = list(document.iter_inner_content())
    for index, block in enumerate(content[:-1]):
        if not isinstance(block, Table) and block.text == caption:
            following = content[index + 1]
            assert isinstance(following, Table), caption
            return rows_of(following)
    raise AssertionError(f"no table captioned {caption!r}")


@pytest.fixture(scope="module")
def docx_report(api) -> Document:
    response = api.get(
        "/v1/units/75/report",
        params={"period": PERIOD, "format": "docx"},
        headers=bearer(PROVINCE_VIEWER),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    assert 'filename="bao-cao-766-75-2024-Q2.docx"' in response.headers["content-disposition"]
    return Document(io.BytesIO(response.content))


def test_the_docx_has_the_official_heading_and_the_totals_of_the_api(api, docx_report):
    scores = api.get("/v1/scores", params={"unit": "75", "period": PERIOD}).json()
    previous = api.get("/v1/scores", params={"unit": "75", "period": "2024-Q1"}).json()
    masthead = rows_of(docx_report.tables[0])[0]
    assert masthead[0].startswith("TỈNH ĐỒNG NAI")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc" in masthead[1]
    assert "Đồng Nai, ngày 20 tháng 06 năm 2024" in masthead[1]
    text = "\n".join(p.text for p in docx_report.paragraphs)
    assert "BÁO CÁO KẾT QUẢ ĐÁNH GIÁ BỘ CHỈ SỐ" in text and "QUÝ II NĂM 2024" in text
    total = f"{scores['total']:.2f}".replace(".", ",")
    assert f"Tổng điểm đạt {total}/100 điểm, xếp loại {scores['grade']}." in text
    groups = table_after(docx_report, "Điểm theo nhóm chỉ số")
    assert groups[0][:4] == ["Nhóm", "Tên nhóm", "Điểm đạt", "Điểm tối đa"]
    for row, group, before in zip(groups[1:], scores["groups"], previous["groups"], strict=False):
        assert int(row[0]) == group["number"]
        assert number(row[2]) == pytest.approx(group["points"], abs=0.005)
        assert number(row[3]) == pytest.approx(group["max_points"], abs=0.005)
        assert number(row[5]) == pytest.approx(before["points"], abs=0.005)
    assert number(groups[-1][2]) == pytest.approx(scores["total"], abs=0.005)
    assert number(groups[-1][6]) == pytest.approx(scores["total"] - previous["total"], abs=0.01)


@pytest.mark.parametrize(
    ("caption", "level"),
    [
        ("Bảng xếp hạng các xã, phường", "commune"),
        ("Bảng xếp hạng các sở, ban, ngành", "department"),
    ],
)
def test_the_docx_ranking_tables_are_the_api_rankings(api, docx_report, caption, level):
    ranking = api.get("/v1/rankings", params={"level": level, "period": PERIOD}).json()
    rows = table_after(docx_report, caption)
    assert rows[0][:4] == ["Hạng", "Mã", "Tên đơn vị", "Tổng điểm"]
    assert len(rows) - 1 == len(ranking["units"]) > 1
    for row, unit in zip(rows[1:], ranking["units"], strict=True):
        assert (int(row[0]), row[1], row[2]) == (
            unit["rank"],
            *[unit["unit"][k] for k in ("code", "name")],
        )
        assert number(row[3]) == pytest.approx(unit["total"], abs=0.005)
        assert row[5] == (str(unit["previous_rank"]) if unit["previous_rank"] else "—")


def test_the_docx_names_the_indicators_that_lost_most_and_counts_the_late(api, docx_report):
    scores = api.get("/v1/scores", params={"unit": "75", "period": PERIOD}).json()
    lost = sorted(
        (i for i in scores["indicators"] if i["applicable"] and i["lost"] > 1e-9),
        key=lambda i: (-i["lost"], i["code"]),
    )[:5]
    rows = table_after(docx_report, "Các chỉ số bị trừ nhiều điểm nhất")
    assert [r[0] for r in rows[1:]] == [i["code"] for i in lost]
    for row, indicator in zip(rows[1:], lost, strict=True):
        assert number(row[3]) == pytest.approx(indicator["lost"], abs=0.005)
    one_part = {
        i["code"] for i in api.get("/v1/indicators").json()["indicators"] if len(i["parts"]) == 1
    }
    counted = [r for r in rows[1:] if r[5] != "—" and r[0] in one_part]
    assert counted, "some indicator that lost points counts dossiers or feedback"
    for row in counted:  # the causes add up to the items that failed the indicator
        good, out_of = (number(x) for x in row[4].split(" / "))
        causes = [int(c.rsplit("(", 1)[1].rstrip(")")) for c in row[5].split("; ")]
        assert sum(causes) == out_of - good, row
    late = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": "2.1", "period": PERIOD, "limit": 1},
        headers=bearer(PROVINCE_VIEWER),
    ).json()
    text = "\n".join(p.text for p in docx_report.paragraphs)
    assert f"Hồ sơ giải quyết trễ hạn. Tổng số: {late['total']}." in text
    listed = table_after(docx_report, "Hồ sơ giải quyết trễ hạn")
    assert [r[0] for r in listed[1:]][:1] == [late["items"][0]["code"]]


def test_the_pdf_renders_to_pages_with_the_report_text(api, tmp_path: Path):
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.fail("poppler-utils is missing: run scripts/install-system-deps.sh")
    response = api.get(
        "/v1/units/75/report", params={"period": PERIOD}, headers=bearer(PROVINCE_VIEWER)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == PDF
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", pdf, tmp_path / "page"], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    # the heading and groups; the rankings (95 communes, 3 pages); losses, late ones, the year
    assert 6 <= len(pages) <= 10, len(pages)
    text = subprocess.run(
        ["pdftotext", "-layout", pdf, "-"], check=True, capture_output=True, text=True
    ).stdout
    scores = api.get("/v1/scores", params={"unit": "75", "period": PERIOD}).json()
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "QUÝ II NĂM 2024",
        "Bảng xếp hạng các xã, phường",
        f"Tổng điểm đạt {scores['total']:.2f}/100".replace(".", ","),
        "Hình 3. Tổng điểm từng tháng",
    ):
        assert expected in " ".join(text.split()), expected


def test_a_report_needs_a_token_covering_the_unit(api):
    assert api.get("/v1/units/75/report", params={"period": PERIOD}).status_code == 401
    refused = api.get(
        "/v1/units/75/report", params={"period": PERIOD}, headers=bearer(COMMUNE_VIEWER)
    )
    assert refused.status_code == 403
    bad = api.get(
        "/v1/units/75/report",
        params={"period": PERIOD, "format": "odt"},
        headers=bearer(PROVINCE_VIEWER),
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "format"


@pytest.fixture(scope="module")
def api_url(facts_url: str) -> Iterator[str]:
    """The API over real HTTP, for the command line."""
    settings = ApiSettings(clickhouse_url=facts_url, viewer_tokens=VIEWERS, log_json=False)
    with served(create_app(settings, clock=lambda: AS_OF, configure_logs=False)) as url:
        yield url


def test_tthc_report_writes_the_file_the_api_makes(api_url: str, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["report", "--unit", "75", "--period", PERIOD, "--format", "docx", "--url", api_url],
        env={"TTHC_API_TOKEN": PROVINCE_VIEWER},
    )
    assert result.exit_code == 0, result.output
    written = tmp_path / "bao-cao-766-75-2024-Q2.docx"
    document = Document(str(written))
    assert table_after(document, "Điểm theo nhóm chỉ số")[0][0] == "Nhóm"
    refused = runner.invoke(
        cli,
        ["report", "--unit", "75", "--period", "2024-Q9", "--url", api_url],
        env={"TTHC_API_TOKEN": PROVINCE_VIEWER},
    )
    assert refused.exit_code == 1
    assert "Tham số không hợp lệ / Invalid parameter (period: period '2024-Q9'" in " ".join(
        refused.output.split()
    )
    assert "Traceback" not in refused.output
