"""Reporting periods: month, quarter, half-year, year (to date), custom ranges; Vietnam time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tthc.calendar import VN_TZ


@dataclass(frozen=True)
class Period:
    """[start, end) in Vietnam time; `label` is how it was asked for ("2024-Q2")."""

    label: str
    start: datetime
    end: datetime

    @property
    def start_date(self) -> date:
        return self.start.astimezone(VN_TZ).date()

    @property
    def end_date(self) -> date:
        """First day after the period."""
        return self.end.astimezone(VN_TZ).date()

    def cutoff(self, as_of: datetime) -> datetime:
        """The instant the period is judged at: now for the current period, its last second
        for a past one (an open dossier of a past period is judged at the period's end)."""
        return min(as_of, self.end - timedelta(seconds=1))

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one (for rank changes)."""
        kind = _kind(self.label)
        if kind == "month":
            start = _shift_months(self.start_date, -1)
            return parse_period(f"{start.year}-{start.month:02d}")
        if kind == "quarter":
            start = _shift_months(self.start_date, -3)
            return parse_period(f"{start.year}-Q{(start.month - 1) // 3 + 1}")
        if kind == "half":
            start = _shift_months(self.start_date, -6)
            return parse_period(f"{start.year}-H{(start.month - 1) // 6 + 1}")
        if kind == "year":
            return parse_period(str(self.start_date.year - 1))
        length = self.end - self.start
        return Period(f"before {self.label}", self.start - length, self.start)


_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "half": re.compile(r"^(\d{4})-H([12])$"),
    "year": re.compile(r"^(\d{4})$"),
}


def _kind(label: str) -> str | None:
    return next((k for k, p in _PATTERNS.items() if p.match(label)), None)


def _local(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=VN_TZ)


def _shift_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(label: str) -> Period:
    """'2024-05', '2024-Q2', '2024-H1', '2024'; a ValueError says what is accepted."""
    label = label.strip()
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(label)
        if not match:
            continue
        year = int(match.group(1))
        if kind == "year":
            first, months = date(year, 1, 1), 12
        else:
            n = int(match.group(2))
            months = {"month": 1, "quarter": 3, "half": 6}[kind]
            first = date(year, (n - 1) * months + 1, 1)
        return Period(label, _local(first), _local(_shift_months(first, months)))
    raise ValueError(
        f"period {label!r} is not one of YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY "
        "(or give from= and to= dates)"
    )


def date_range(start: date, end: date) -> Period:
    """A custom period from `start` to `end`, both days included."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return Period(
        f"{start.isoformat()}..{end.isoformat()}", _local(start), _local(end) + timedelta(days=1)
    )
