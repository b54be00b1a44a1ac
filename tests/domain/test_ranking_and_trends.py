"""Rankings (competition ranks, rank change) and the buckets of a trend."""

from __future__ import annotations

from datetime import date

from tthc.periods import date_range, parse_period
from tthc.ranking import rank, rank_change
from tthc.trends import Granularity, buckets, default_range


def test_equal_values_share_a_rank_and_the_next_rank_skips():
    places = rank({"a": 80.0, "b": 92.5, "c": 80.0 + 1e-12, "d": 50.0})
    assert [(p.code, p.rank) for p in places] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]


def test_a_unit_with_nothing_to_judge_is_not_ranked():
    places = rank({"a": 80.0, "empty": None, "b": 92.5})
    assert [(p.code, p.rank) for p in places] == [("b", 1), ("a", 2)]
    assert rank({"empty": None}) == []


def test_rank_change_is_places_gained():
    assert rank_change(2, 5) == 3
    assert rank_change(5, 2) == -3
    assert rank_change(1, None) is None


def test_month_buckets_of_a_quarter_are_its_months():
    found = buckets(parse_period("2024-Q2"), Granularity.month)
    assert [b.label for b in found] == ["2024-04", "2024-05", "2024-06"]
    assert found[1].period.start == parse_period("2024-05").start
    assert found[1].period.end == parse_period("2024-05").end


def test_week_buckets_are_iso_weeks_cut_at_the_edges():
    found = buckets(parse_period("2024-05"), Granularity.week)
    assert found[0].label == "2024-W18"
    assert found[0].period.start_date == date(2024, 5, 1)  # Wednesday: the week is cut
    assert found[1].period.start_date == date(2024, 5, 6)  # a Monday
    assert found[-1].period.end_date == date(2024, 6, 1)
    assert sum((b.period.end - b.period.start).days for b in found) == 31


def test_day_buckets_and_default_ranges():
    assert len(buckets(date_range(date(2024, 2, 1), date(2024, 2, 29)), Granularity.day)) == 29
    assert default_range(date(2024, 5, 15), Granularity.month).start_date == date(2023, 6, 1)
    assert default_range(date(2024, 5, 15), Granularity.day).start_date == date(2024, 4, 16)
    assert default_range(date(2024, 5, 15), Granularity.week).start_date == date(2024, 2, 26)
