"""Periods have their boundaries in Vietnam time."""

from __future__ import annotations

from datetime import date

import pytest

from tests.domain.builders import t
from tthc.periods import date_range, parse_period


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2024-05", "2024-05-01 00:00", "2024-06-01 00:00"),
        ("2024-Q2", "2024-04-01 00:00", "2024-07-01 00:00"),
        ("2024-H2", "2024-07-01 00:00", "2025-01-01 00:00"),
        ("2024", "2024-01-01 00:00", "2025-01-01 00:00"),
    ],
)
def test_periods_start_and_end_at_midnight_in_vietnam(label, start, end):
    period = parse_period(label)
    assert (period.start, period.end) == (t(start), t(end))


def test_a_dossier_received_late_on_the_last_evening_belongs_to_that_month():
    may = parse_period("2024-05")
    assert may.contains(t("2024-05-31 23:30"))  # 16:30 UTC, still May in Vietnam
    assert not may.contains(t("2024-06-01 00:00"))


def test_previous_periods_of_each_kind():
    assert parse_period("2024-01").previous().label == "2023-12"
    assert parse_period("2024-Q1").previous().label == "2023-Q4"
    assert parse_period("2024-H1").previous().label == "2023-H2"
    assert parse_period("2024").previous().label == "2023"
    custom = date_range(date(2024, 5, 1), date(2024, 5, 10))
    assert custom.previous().end == custom.start


def test_a_past_period_is_judged_at_its_last_second_and_the_current_one_now():
    q2 = parse_period("2024-Q2")
    assert q2.cutoff(t("2025-01-01 00:00")) == t("2024-06-30 23:59:59")
    assert q2.cutoff(t("2024-05-15 10:00")) == t("2024-05-15 10:00")


@pytest.mark.parametrize("label", ["2024-13", "2024-Q5", "24-05", "may", "2024-H3"])
def test_malformed_periods_say_what_is_accepted(label):
    with pytest.raises(ValueError, match="YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY"):
        parse_period(label)


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends"):
        date_range(date(2024, 5, 10), date(2024, 5, 1))
