"""Buckets of a trend: the days, ISO weeks or months of a period, each a period of its own.

A point of a trend is the indicator computed over one bucket exactly as a score of that bucket
would be (dossiers received in it, judged at its end or now), so a monthly point equals the
monthly score. Buckets are cut to the requested period at its edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from tthc.periods import Period, date_range


class Granularity(StrEnum):
    day = "day"
    week = "week"
    month = "month"


@dataclass(frozen=True)
class Bucket:
    label: str  # "2024-05-06", "2024-W19", "2024-05"
    period: Period


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def buckets(period: Period, granularity: Granularity) -> list[Bucket]:
    """The buckets covering `period`, in order; the first and last may be partial."""
    first, end = period.start_date, period.end_date  # end: the first day after
    found: list[Bucket] = []
    day = first
    while day < end:
        if granularity is Granularity.day:
            start, after, label = day, day + timedelta(days=1), day.isoformat()
        elif granularity is Granularity.week:
            start = day - timedelta(days=day.weekday())
            after = start + timedelta(days=7)
            year, week, _ = start.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            start = day.replace(day=1)
            after = _next_month(start)
            label = f"{start.year}-{start.month:02d}"
        cut_start, cut_after = max(start, first), min(after, end)
        found.append(Bucket(label, date_range(cut_start, cut_after - timedelta(days=1))))
        day = cut_after
    return found


def default_range(today: date, granularity: Granularity) -> Period:
    """The last 30 days, 12 weeks or 12 months up to today."""
    if granularity is Granularity.day:
        return date_range(today - timedelta(days=29), today)
    if granularity is Granularity.week:
        monday = today - timedelta(days=today.weekday())
        return date_range(monday - timedelta(weeks=11), today)
    index = today.year * 12 + today.month - 1 - 11
    return date_range(date(index // 12, index % 12 + 1, 1), today)
