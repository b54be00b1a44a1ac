"""Working days and deadlines, checked by hand against the 2024–2025 holiday calendar.

2024: Tết off Thu 8 – Wed 14 February; Giỗ Tổ Thu 18 April; Mon 29 April off in exchange for
working Sat 4 May, then Tue 30 April and Wed 1 May; Quốc khánh Mon 2 – Tue 3 September.
2025: Tết off Mon 27 January – Sat 1 February; Fri 2 May off in exchange for Sat 26 April.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tthc.calendar import VN_TZ, WorkingCalendar, local_date

CAL = WorkingCalendar()


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=VN_TZ)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time.max, tzinfo=VN_TZ)


# --- is_working_day --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 2, 7), True),  # Wed before Tết
        (date(2024, 2, 8), False),  # 29 Tết
        (date(2024, 2, 12), False),  # Mon, mùng 3
        (date(2024, 2, 14), False),  # Wed, mùng 5: the last day off
        (date(2024, 2, 15), True),
        (date(2024, 4, 18), False),  # Giỗ Tổ Hùng Vương
        (date(2024, 4, 29), False),  # Monday swapped for Saturday 4 May
        (date(2024, 5, 4), True),  # the compensatory Saturday
        (date(2024, 5, 5), False),  # an ordinary Sunday
        (date(2024, 9, 3), False),
        (date(2025, 4, 26), True),  # Saturday worked for Friday 2 May 2025
        (date(2025, 5, 2), False),
        (date(2025, 1, 27), False),
        (date(2025, 2, 3), True),
        (date(2024, 6, 11), True),  # an ordinary Tuesday
        (date(2024, 6, 15), False),  # an ordinary Saturday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_is_working_day_of_a_datetime_uses_vietnam_local_day() -> None:
    # 2024-02-14 20:00 UTC is already Thursday 15 February in Vietnam.
    assert CAL.is_working_day(datetime(2024, 2, 14, 20, tzinfo=UTC)) is True
    assert CAL.is_working_day(datetime(2024, 2, 14, 16, tzinfo=UTC)) is False


# --- add_working_days ------------------------------------------------------------------------


def test_feedback_deadline_across_tet_2024() -> None:
    # Received Fri 2 Feb; 15 working days: Mon 5–Wed 7 (3), Thu 15–Fri 16 (5), 19–23 (10),
    # 26–29 Feb (14), Fri 1 March (15).
    deadline = CAL.add_working_days(at(2024, 2, 2, 16), 15)
    assert deadline == end_of(2024, 3, 1)
    assert deadline.tzinfo is VN_TZ
    assert deadline.utcoffset() == timedelta(hours=7)


def test_five_working_days_from_the_day_before_tet_2024() -> None:
    # Wed 7 Feb: Tết 8–14 off; Thu 15, Fri 16, Mon 19, Tue 20, Wed 21.
    assert CAL.add_working_days(at(2024, 2, 7), 5) == end_of(2024, 2, 21)
    assert CAL.add_working_days(at(2024, 2, 7), 1) == end_of(2024, 2, 15)


def test_across_tet_2025() -> None:
    # Fri 24 Jan 2025: 27 Jan – 1 Feb off, Sun 2 Feb; next working day Mon 3 Feb.
    assert CAL.add_working_days(at(2025, 1, 24), 1) == end_of(2025, 2, 3)


def test_across_a_weekend() -> None:
    assert CAL.add_working_days(at(2024, 3, 8), 1) == end_of(2024, 3, 11)  # Fri → Mon
    assert CAL.add_working_days(at(2024, 3, 7), 2) == end_of(2024, 3, 11)  # Thu → Mon
    # A start on Saturday counts from Monday.
    assert CAL.add_working_days(at(2024, 3, 9), 1) == end_of(2024, 3, 11)


def test_across_30_april_and_1_may_2024() -> None:
    # Fri 26 Apr; off Sat 27 – Wed 1 May; Thu 2, Fri 3, Sat 4 (worked), Mon 6.
    start = at(2024, 4, 26)
    assert CAL.add_working_days(start, 1) == end_of(2024, 5, 2)
    assert CAL.add_working_days(start, 2) == end_of(2024, 5, 3)
    assert CAL.add_working_days(start, 3) == end_of(2024, 5, 4)
    assert CAL.add_working_days(start, 4) == end_of(2024, 5, 6)


def test_a_holiday_free_week() -> None:
    assert CAL.add_working_days(at(2024, 6, 10), 4) == end_of(2024, 6, 14)
    assert CAL.add_working_days(at(2024, 6, 10), 5) == end_of(2024, 6, 17)
    assert CAL.add_working_days(at(2024, 6, 10), 10) == end_of(2024, 6, 24)


def test_across_the_new_year() -> None:
    # Mon 30 Dec 2024: Tue 31, (Wed 1 Jan off), Thu 2, Fri 3.
    assert CAL.add_working_days(at(2024, 12, 30), 3) == end_of(2025, 1, 3)


def test_zero_days_is_the_end_of_the_start_day() -> None:
    assert CAL.add_working_days(at(2024, 2, 10, 8), 0) == end_of(2024, 2, 10)


def test_counting_back() -> None:
    # Fri 3 Jan 2025, 3 working days before: Thu 2, (1 Jan off), Tue 31, Mon 30 Dec.
    assert CAL.add_working_days(at(2025, 1, 3), -3) == end_of(2024, 12, 30)
    # Thu 15 Feb 2024, 1 working day before: Wed 7 Feb (Tết in between).
    assert CAL.add_working_days(at(2024, 2, 15), -1) == end_of(2024, 2, 7)


def test_days_are_counted_in_vietnam_time() -> None:
    # 20:00 UTC on Tue 6 Feb 2024 is 03:00 on Wed 7 Feb in Vietnam: the next working day
    # is Thu 15 Feb, not Wed 7 Feb.
    assert CAL.add_working_days(datetime(2024, 2, 6, 20, tzinfo=UTC), 1) == end_of(2024, 2, 15)
    assert CAL.add_working_days(datetime(2024, 2, 6, 16, tzinfo=UTC), 1) == end_of(2024, 2, 7)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(datetime(2024, 2, 2, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.working_days_between(datetime(2024, 2, 2), at(2024, 2, 5))


def test_years_outside_the_lunar_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="year 2100"):
        CAL.is_working_day(date(2100, 1, 4))


# --- working_days_between --------------------------------------------------------------------


def test_working_days_between() -> None:
    assert CAL.working_days_between(at(2024, 2, 2, 8), at(2024, 2, 2, 17)) == 0
    assert CAL.working_days_between(at(2024, 2, 2), at(2024, 3, 1)) == 15
    assert CAL.working_days_between(at(2024, 3, 1), at(2024, 2, 2)) == -15
    assert CAL.working_days_between(at(2024, 2, 7), at(2024, 2, 14)) == 0  # all Tết
    assert CAL.working_days_between(at(2024, 2, 7), at(2024, 2, 15)) == 1
    assert CAL.working_days_between(at(2024, 4, 26), at(2024, 5, 6)) == 4
    assert CAL.working_days_between(at(2023, 12, 29), at(2025, 1, 2)) > 240


def test_working_days_in_a_range() -> None:
    assert CAL.working_days_in(date(2024, 12, 30), date(2025, 1, 3)) == 4
    assert CAL.working_days_in(date(2024, 2, 8), date(2024, 2, 14)) == 0
    assert CAL.working_days_in(date(2024, 2, 1), date(2024, 2, 29)) == 16
    assert CAL.working_days_in(date(2024, 3, 2), date(2024, 3, 1)) == 0


# --- a province's own days -------------------------------------------------------------------


def test_extra_holidays_and_working_days() -> None:
    cal = WorkingCalendar(
        extra_holidays=[date(2024, 2, 7)],  # e.g. a longer Tết decided for the province
        extra_working_days=[date(2024, 2, 17)],  # a Saturday worked in exchange
    )
    assert not cal.is_working_day(date(2024, 2, 7))
    assert cal.is_working_day(date(2024, 2, 17))
    assert cal.add_working_days(at(2024, 2, 6), 1) == end_of(2024, 2, 15)
    assert cal.add_working_days(at(2024, 2, 16), 1) == end_of(2024, 2, 17)
    # The shared default calendar is untouched.
    assert CAL.is_working_day(date(2024, 2, 7))
    assert CAL.add_working_days(at(2024, 2, 16), 1) == end_of(2024, 2, 19)


def test_a_day_cannot_be_both_extra_holiday_and_working_day() -> None:
    with pytest.raises(ValueError, match="2024-02-17"):
        WorkingCalendar(extra_holidays=[date(2024, 2, 17)], extra_working_days=[date(2024, 2, 17)])


def test_local_date() -> None:
    assert local_date(datetime(2024, 12, 31, 17, 30, tzinfo=UTC)) == date(2025, 1, 1)


# --- properties, against a plain day-by-day count --------------------------------------------


def _slow_add(start: date, n: int) -> date:
    day, step, left = start, (1 if n > 0 else -1), abs(n)
    while left:
        day += timedelta(days=step)
        left -= CAL.is_working_day(day)
    return day


starts = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(VN_TZ)
)


@given(starts, st.integers(min_value=-80, max_value=80))
def test_add_matches_a_day_by_day_count(start: datetime, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    assert deadline.timetz() == time.max.replace(tzinfo=VN_TZ)
    assert deadline.date() == _slow_add(start.date(), n)
    if n != 0:
        assert CAL.is_working_day(deadline.date())


@given(starts, st.integers(min_value=0, max_value=80))
def test_between_inverts_add(start: datetime, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(starts, starts)
def test_between_is_antisymmetric(a: datetime, b: datetime) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
