"""Mapping one CSV row of a one-stop-shop export to events (no broker needed)."""

from __future__ import annotations

import csv
import re
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


EXTENDED = {
    **ROW,
    "ngay_gia_han": "06/08/2025 09:15",
    "han_xu_ly_moi": "12/08/2025",
    "ly_do_gia_han": "Cần xác minh thêm tại thực địa",
}


def test_an_extension_written_in_another_offset_is_the_same_event() -> None:
    utc = row_events({**EXTENDED, "ngay_gia_han": "2025-08-06T02:15:00Z"}, source="s")
    local = row_events(EXTENDED, source="s")
    assert utc[1]["id"] == local[1]["id"]


def test_an_extension_is_a_due_date_change() -> None:
    events = row_events(EXTENDED, source="s")

    assert [e["type"] for e in events] == [
        "vn.tthc.dossier.received.v1",
        "vn.tthc.dossier.due_date_changed.v1",
    ]
    changed = events[1]
    assert changed["id"] == "H75-1/due_date_changed/2025-08-06T02:15:00+00:00"
    assert changed["subject"] == "H75-1"
    assert changed["time"] == "2025-08-06T09:15:00+07:00"  # when it was extended
    assert changed["data"] == {
        "at": "2025-08-06T09:15:00+07:00",
        "due_at": "2025-08-12T23:59:59+07:00",  # a date: the end of that day, as han_xu_ly
        "reason": "Cần xác minh thêm tại thực địa",
    }
    assert parse_event(changed).data.due_at.isoformat() == "2025-08-12T23:59:59+07:00"


def test_a_later_extension_is_a_new_event_and_the_same_one_is_not() -> None:
    again = row_events(EXTENDED, source="s")[1]["id"]
    later = row_events(
        {**EXTENDED, "ngay_gia_han": "11/08/2025 14:00", "han_xu_ly_moi": "20/08/2025 17:00"},
        source="s",
    )[1]
    assert again == row_events(EXTENDED, source="s")[1]["id"]
    assert later["id"] != again
    assert later["data"]["due_at"] == "2025-08-20T17:00:00+07:00"


def test_empty_extension_columns_give_no_event() -> None:
    row = {**ROW, "ngay_gia_han": "", "han_xu_ly_moi": "  ", "ly_do_gia_han": ""}
    assert [e["type"] for e in row_events(row, source="s")] == ["vn.tthc.dossier.received.v1"]


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"han_xu_ly_moi": "sau Tết"}, "han_xu_ly_moi", "not a date or time"),
        ({"ngay_gia_han": "31/02/2025"}, "ngay_gia_han", "not a date or time"),
        ({"han_xu_ly_moi": ""}, "han_xu_ly_moi", "required when ngay_gia_han is filled"),
        ({"ngay_gia_han": ""}, "ngay_gia_han", "required when han_xu_ly_moi is filled"),
    ],
    ids=["bad-new-due-date", "bad-extension-date", "no-new-due-date", "no-extension-date"],
)
def test_a_bad_extension_names_its_column(
    changes: dict[str, str], column: str, reason: str
) -> None:
    with pytest.raises(RowError) as error:
        row_events({**EXTENDED, **changes}, source="s")
    [(named, why)] = error.value.problems
    assert named == column
    assert reason in why


def test_the_documented_example_file_maps_every_documented_column() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    table = (docs / "onestop-csv.md").read_text(encoding="utf-8")
    documented = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    with (docs / "examples" / "mot-cua.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert documented == set(rows[0])  # the example has every column the page names
    types = set()
    for row in rows:
        for event in row_events(row, source="mot-cua-csv"):
            types.add(parse_event(event).type)
    documented_types = set(re.findall(r"`dossier\.(\w+)`", table))
    assert {t.split(".")[3] for t in types} == documented_types
