"""Mapping one CSV row of a one-stop-shop export to events (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.importer import ImportStopped, run_import
from services.ingest.onestop_csv import RowError, row_events
from tthc.events import parse_event

ROW = {
    "ma_ho_so": "H75-1",
    "ma_don_vi": "26068",
    "ma_tthc": "1.001234.000.00.00.H75",
    "ngay_tiep_nhan": "04/08/2025 08:30:15",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04/08/2025 08:30:15", "2025-08-04T08:30:15+07:00"),
        ("04/08/2025 08:30", "2025-08-04T08:30:00+07:00"),
        ("04/08/2025", "2025-08-04T00:00:00+07:00"),
        ("2025-08-04 08:30", "2025-08-04T08:30:00+07:00"),
        ("2025-08-04T01:30:00Z", "2025-08-04T01:30:00Z"),
        (" 2025-08-04T08:30:00+07:00 ", "2025-08-04T08:30:00+07:00"),
    ],
)
def test_time_formats(text: str, expected: str) -> None:
    [event] = row_events({**ROW, "ngay_tiep_nhan": text}, source="s")
    assert event["data"]["received_at"] == expected


def test_events_are_valid_and_ids_deterministic() -> None:
    row = {**ROW, "ngay_xu_ly_xong": "05/08/2025 10:00", "ngay_rut": ""}
    first = row_events(row, source="s")
    assert [e["id"] for e in first] == ["H75-1/received", "H75-1/processed"]
    assert first == row_events(row, source="s")
    for event in first:
        parse_event(event)


def test_every_problem_of_a_row_is_named() -> None:
    row = {
        **ROW,
        "ma_ho_so": "",
        "kenh": "fax",
        "ket_qua_dien_tu": "maybe",
        "ngay_tra_ket_qua": "hôm qua",
        "so_tien": "năm mươi",
    }
    with pytest.raises(RowError) as error:
        row_events(row, source="s")
    assert {column for column, _ in error.value.problems} == {
        "ma_ho_so",
        "kenh",
        "ket_qua_dien_tu",
        "ngay_tra_ket_qua",
        "so_tien",
    }


def test_a_fee_paid_without_amount_names_the_column() -> None:
    with pytest.raises(RowError) as error:
        row_events({**ROW, "ngay_thanh_toan": "05/08/2025"}, source="s")
    assert error.value.problems[0][0].startswith("ngay_thanh_toan (fee_paid.amount)")


def test_a_header_without_required_columns_stops_before_sending(tmp_path: Path) -> None:
    file = tmp_path / "export.csv"
    file.write_text("ma_ho_so,ngay_tiep_nhan\nH75-1,04/08/2025\n", encoding="utf-8")
    with pytest.raises(ImportStopped, match="ma_don_vi, ma_tthc"):
        run_import(file, client=None, show_progress=False)  # type: ignore[arg-type]
