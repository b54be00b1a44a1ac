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
        if kind is not None:
            return containing(kind, _shift_months(self.start_date, -_MONTHS[kind]))
        length = self.end - self.start
        return Period(f"before {self.label}", self.start - length, self.start)


_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "half": re.compile(r"^(\d{4})-H([12])$"),
    "year": re.compile(r"^(\d{4})$"),
}


_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


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
        year, months = int(match.group(1)), _MONTHS[kind]
        n = int(match.group(2)) if kind != "year" else 1
        first = date(year, (n - 1) * months + 1, 1)
        return Period(label, _local(first), _local(_shift_months(first, months)))
    raise ValueError(
        f"period {label!r} is not one of YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY "
        "(or give from= and to= dates)"
    )


def containing(kind: str, day: date) -> Period:
    """The month, quarter, half(-year) or year that holds `day`."""
    n = (day.month - 1) // _MONTHS[kind] + 1
    label = {
        "month": f"{day.year}-{day.month:02d}",
        "quarter": f"{day.year}-Q{n}",
        "half": f"{day.year}-H{n}",
        "year": str(day.year),
    }[kind]
    return parse_period(label)


def date_range(start: date, end: date) -> Period:
    """A custom period from `start` to `end`, both days included."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return Period(
        f"{start.isoformat()}..{end.isoformat()}", _local(start), _local(end) + timedelta(days=1)
    )
