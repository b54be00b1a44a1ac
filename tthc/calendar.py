"""Vietnamese working days, for deadlines counted in working days (feedback, announcements).

A working day is Monday to Friday, minus the public holidays of the Labour Code (lunar Tết
included) and the days the government swaps with a Saturday, plus those compensatory Saturdays.
The holidays come from the ``holidays`` library (``"VN"``, which carries the official day
swaps it knows of); a province can add its own with ``extra_holidays`` / ``extra_working_days``
(e.g. the government's yearly Tết decision for civil servants when the library lags).

Deadline convention (used by :meth:`WorkingCalendar.add_working_days` and
:meth:`WorkingCalendar.working_days_between`):

- only calendar days in Asia/Ho_Chi_Minh matter; the time of day of the start does not;
- the start day itself never counts (a time limit "within n days of receipt" starts the next
  day), whether or not it is a working day;
- the deadline of "n working days after ``start``" is the *end* of the n-th working day after the
  start day: its last microsecond, 23:59:59.999999 local time. Something finished at any time on
  that day is on time; ``finished_at <= deadline`` is the test.

Example: feedback received on Friday 2024-02-02 with 15 working days to handle it. Days 1–3 are
Mon 5 to Wed 7 February; Tết closes Thu 8 to Wed 14; days 4–14 run from Thu 15 February to Thu
29 February; day 15 is Friday 2024-03-01, and the deadline is 2024-03-01 23:59:59.999999+07:00.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from threading import Lock
from zoneinfo import ZoneInfo

from holidays import country_holidays

__all__ = ["VN_TZ", "WorkingCalendar", "local_date"]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# The lunar calendar of the holidays library covers these years; beyond them we refuse rather
# than silently count Tết as working days.
MIN_YEAR = 1995
MAX_YEAR = 2099


def local_date(moment: datetime) -> date:
    """The calendar day of an aware ``moment`` in Vietnam."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone-aware datetime")
    return moment.astimezone(VN_TZ).date()


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=VN_TZ)


class _Year:
    """Working-day flags of one year, with running counts for O(log n) deadline arithmetic."""

    __slots__ = ("first", "working", "cumulative", "total")

    def __init__(self, first: date, working: list[bool]) -> None:
        self.first = first
        self.working = working
        # cumulative[i] = number of working days among days 0..i of the year.
        self.cumulative = list(accumulate(int(flag) for flag in working))
        self.total = self.cumulative[-1]

    def index(self, day: date) -> int:
        return (day - self.first).days

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)


class WorkingCalendar:
    """Vietnamese working days, with a province's own extra holidays and working days.

    Years are computed lazily on first use and cached; the calendar holds no other state, so
    one instance can be shared (also across threads).
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        both = self.extra_holidays & self.extra_working_days
        if both:
            raise ValueError(
                "days both extra holidays and extra working days: "
                + ", ".join(d.isoformat() for d in sorted(both))
            )
        self._years: dict[int, _Year] = {}
        self._lock = Lock()

    # --- per-year data ------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} is outside the supported {MIN_YEAR}–{MAX_YEAR}")
        official = country_holidays("VN", years=year)
        days_off = set(official) | {d for d in self.extra_holidays if d.year == year}
        # Saturdays worked in exchange for a day off (the library lists every year's swaps).
        swapped = {d for d in official.weekend_workdays if d.year == year}
        days_on = swapped | {d for d in self.extra_working_days if d.year == year}
        first = date(year, 1, 1)
        length = (date(year + 1, 1, 1) - first).days
        flags = []
        for offset in range(length):
            day = first + timedelta(days=offset)
            flags.append(day in days_on or (day.weekday() < 5 and day not in days_off))
        computed = _Year(first, flags)
        with self._lock:
            return self._years.setdefault(year, computed)

    # --- public API ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` is a working day (a datetime is taken at its Vietnam calendar day)."""
        if isinstance(day, datetime):
            day = local_date(day)
        year = self._year(day.year)
        return year.working[year.index(day)]

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline ``n`` working days after ``start`` (see the module docstring).

        Returns the end (23:59:59.999999, Asia/Ho_Chi_Minh) of the n-th working day after the
        Vietnam calendar day of ``start``; the start day itself never counts. ``n == 0`` gives
        the end of the start day. A negative ``n`` counts back: the end of the |n|-th working day
        before the start day (e.g. "at least 20 working days before the effective date").
        """
        day = local_date(start)
        if n == 0:
            return _end_of_day(day)
        return _end_of_day(self._nth_after(day, n) if n > 0 else self._nth_before(day, -n))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the calendar day of ``start`` up to and including that of ``end``.

        An int, counted in Vietnam calendar days: times of day do not matter. It is the inverse
        of :meth:`add_working_days` for n ≥ 0: ``working_days_between(s, add_working_days(s, n))
        == n``; zero when both fall on the same day; negative (the same count, negated) when
        ``end`` is on an earlier day than ``start``. A thing finished ``k`` working days after it
        started is on time for an n-working-day limit exactly when ``k <= n``.
        """
        first, last = local_date(start), local_date(end)
        if last < first:
            return -self._count_after(last, first)
        return self._count_after(first, last)

    def working_days_in(self, first: date, last: date) -> int:
        """Working days among the calendar days ``first`` to ``last``, both included."""
        if last < first:
            return 0
        return self._count_after(first, last) + int(self.is_working_day(first))

    # --- arithmetic ---------------------------------------------------------------------------

    def _count_after(self, first: date, last: date) -> int:
        """Working days d with first < d <= last (first <= last)."""
        count = 0
        year_no = first.year
        year = self._year(year_no)
        done_before = year.cumulative[year.index(first)]
        while year_no < last.year:
            count += year.total - done_before
            year_no += 1
            year = self._year(year_no)
            done_before = 0
        return count + year.cumulative[year.index(last)] - done_before

    def _nth_after(self, day: date, n: int) -> date:
        year = self._year(day.year)
        done = year.cumulative[year.index(day)]
        while year.total - done < n:
            n -= year.total - done
            year = self._year(year.first.year + 1)
            done = 0
        # The first day whose running count reaches done + n is a working day.
        return year.day(bisect_left(year.cumulative, done + n))

    def _nth_before(self, day: date, n: int) -> date:
        year = self._year(day.year)
        index = year.index(day)
        before = year.cumulative[index] - int(year.working[index])
        while before < n:
            n -= before
            year = self._year(year.first.year - 1)
            before = year.total
        return year.day(bisect_left(year.cumulative, before - n + 1))
