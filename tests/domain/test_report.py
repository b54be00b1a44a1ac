"""What the periodic report says, worked by hand: Vietnamese numbers, period titles, standings."""

from __future__ import annotations

from datetime import date

import pytest

from tthc.periods import date_range, parse_period
from tthc.report import date_line, number_vi, period_title, place_of, signed_vi, standings
from tthc.scoring import Scorecard
from tthc.units import UnitLevel


@pytest.mark.parametrize(
    ("value", "text"),
    [(86.4, "86,40"), (1234.5, "1.234,50"), (0, "0,00"), (None, "—"), (-2.125, "-2,12")],
)
def test_numbers_have_a_decimal_comma_and_dotted_thousands(value, text):
    assert number_vi(value) == text


def test_a_change_carries_its_sign():
    assert (signed_vi(2.5), signed_vi(-1), signed_vi(0)) == ("+2,50", "-1,00", "0,00")


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("2026-Q3", "Quý III năm 2026"),
        ("2026-H1", "6 tháng đầu năm 2026"),
        ("2026-H2", "6 tháng cuối năm 2026"),
        ("2026-05", "Tháng 5 năm 2026"),
        ("2026", "Năm 2026"),
    ],
)
def test_period_titles(label, title):
    assert period_title(parse_period(label)) == title


def test_a_date_range_title_names_both_days_and_the_dateline_the_place():
    span = date_range(date(2026, 7, 1), date(2026, 7, 15))
    assert period_title(span) == "Từ ngày 01/07/2026 đến ngày 15/07/2026"
    assert place_of("Tỉnh Đồng Nai") == "Đồng Nai"
    assert place_of("Thành phố Hà Nội") == "Hà Nội"
    assert date_line("Đồng Nai", date(2026, 10, 5)) == "Đồng Nai, ngày 05 tháng 10 năm 2026"


def card(total: float) -> Scorecard:
    return Scorecard(UnitLevel.commune, total, "Tốt", "Good", total, 100, (), ())


def test_standings_rank_by_total_with_the_previous_rank_and_ties_shared():
    now = {"a": card(80), "b": card(90), "c": card(80)}
    before = {"a": card(95), "b": card(70)}  # c had nothing to judge: no earlier rank
    names = {"a": "Xã A", "b": "Xã B", "c": "Xã C"}
    rows = standings(now, before, names)
    assert [(s.code, s.rank, s.previous_rank, s.rank_change) for s in rows] == [
        ("b", 1, 2, 1),
        ("a", 2, 1, -1),
        ("c", 2, None, None),
    ]
    assert rows[0].name == "Xã B" and rows[0].previous_total == 70


def test_a_unit_with_nothing_to_judge_is_listed_last_unranked():
    empty = Scorecard(UnitLevel.commune, None, "Không có dữ liệu", "No data", 0, 0, (), ())
    rows = standings({"a": card(80), "z": empty}, {"z": card(70)}, {"a": "Xã A", "z": "Xã Z"})
    assert [(s.code, s.rank, s.total, s.previous_rank) for s in rows] == [
        ("a", 1, 80, None),
        ("z", None, None, 1),
    ]
