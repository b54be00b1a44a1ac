"""Scores from the windows the aggregator keeps, where they can answer; else from the facts.

The aggregator recomputes the window of every (unit, day) a batch touches (tthc.windows); the
API only reads them. A period of whole local days judged now (at any instant at or after the
windows' W) or at the end of a month, quarter or year is read from the windows, exactly; an
arbitrary past instant (`as_of`), a period that does not start and end at local midnight, or a
window that cannot answer is counted from the facts. Every answer says which (`source`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from services.api.metrics import ApiMetrics
from services.api.pool import ClientPool
from services.api.queries import tallies_by_scope, turning_late_counts, unknown_procedures
from services.storage.schema import BY_DAY, TABLES
from tthc.calendar import VN_TZ
from tthc.measures import Measure, Scope, Tally, rollup
from tthc.periods import Period, containing
from tthc.profile import Profile
from tthc.reference import scope_of
from tthc.scoring import Scorecard, profile_measures, score
from tthc.units import UnitTree
from tthc.windows import WindowQuery, whole_days, windows_grouped_sql

Used = Literal["windows", "facts"]  # what an answer was read from
# What a request asks for: the windows where they can answer (default), or one of the two.
Wanted = Literal["default", "windows", "facts"]


class WindowsCannotAnswer(Exception):
    """The windows cannot judge this period at this cutoff: read the facts."""


def tallies_from_windows(
    pool: ClientPool, measures: Sequence[Measure], scopes: Mapping[str, Scope], purpose: str
) -> dict[str, dict[str, Tally]]:
    """Tallies of many scopes sharing a period and cutoff, from the windows (the measures not
    windowed from the facts, the dossier sets from the windows); `WindowsCannotAnswer` where
    a window cannot judge at that cutoff, or the period is not made of whole days."""
    try:
        whole_days(next(iter(scopes.values())).period)
    except ValueError as error:
        raise WindowsCannotAnswer(str(error)) from error
    result: dict[str, dict[str, Tally]] = {key: {} for key in scopes}
    queries = windows_grouped_sql(measures, scopes, BY_DAY, TABLES)
    answers = pool.rows_of_each([q.sql for q in queries], purpose)
    for query, rows in zip(queries, answers, strict=True):
        if isinstance(query, WindowQuery):
            rows = query.wide(rows)
        if any(value is None for row in rows for value in row.values()):
            raise WindowsCannotAnswer("a window cannot judge at this cutoff")
        for key, found in rollup(query, rows, scopes).items():
            result[key].update(found)
    return result


def tallies_by_source(
    pool: ClientPool,
    measures: Sequence[Measure],
    scopes: Mapping[str, Scope],
    purpose: str,
    wanted: Wanted = "default",
) -> tuple[dict[str, dict[str, Tally]], Used]:
    """The tallies, and what they were read from: the windows unless the facts are asked
    for or the windows cannot answer (then the facts, whatever was asked)."""
    if wanted != "facts" and scopes:
        try:
            return tallies_from_windows(pool, measures, scopes, purpose), "windows"
        except WindowsCannotAnswer:
            pass
    return tallies_by_scope(pool, measures, scopes, purpose), "facts"


def scorecards_by_source(
    pool: ClientPool,
    tree: UnitTree,
    profile: Profile,
    units: Iterable[str],
    period: Period,
    as_of: datetime,
    purpose: str,
    wanted: Wanted = "default",
) -> tuple[dict[str, Scorecard], Used]:
    """The scorecard of each unit over its subtree, and what it was read from."""
    scopes = {code: scope_of(tree, code, period, as_of) for code in units}
    found, used = tallies_by_source(pool, profile_measures(profile), scopes, purpose, wanted)
    return {code: score(profile, found[code], tree.level_of(code)) for code in scopes}, used


# --- The business gauges, read at scrape time ----------------------------------------------------

GAUGE_KINDS = ("month", "quarter", "year")


class BusinessGauges:
    """Each current unit's total and indicator rates for the current month, quarter and year,
    and its dossiers turning late, computed when Prometheus scrapes (read-only: from the
    windows, as any answer), at most once every `cache_seconds`."""

    def __init__(
        self,
        pool: ClientPool,
        tree: UnitTree,
        profile: Profile,
        metrics: ApiMetrics,
        *,
        clock: Callable[[], datetime],
        warning_horizon: timedelta,
        cache_seconds: float = 5.0,
    ) -> None:
        self.pool, self.tree, self.profile, self.metrics = pool, tree, profile, metrics
        self.clock = clock
        self.warning_horizon = warning_horizon
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._at = -math.inf

    def update(self) -> None:
        """Set the gauges, unless they were set less than `cache_seconds` ago."""
        with self._lock:
            if time.monotonic() - self._at < self.cache_seconds:
                return
            now = self.clock()
            today = now.astimezone(VN_TZ).date()
            units = [u.code for u in self.tree.current_units()]
            for kind in GAUGE_KINDS:
                cards, _ = scorecards_by_source(
                    self.pool,
                    self.tree,
                    self.profile,
                    units,
                    containing(kind, today),
                    now,
                    "gauges",
                )
                for code, card in cards.items():
                    self._gauge(code, kind, card)
            late = turning_late_counts(self.pool, self.tree, units, now, self.warning_horizon)
            for code, n in late.items():
                self.metrics.turning_late.labels(code, self.tree.get(code).level.value).set(n)
            unknown = unknown_procedures(self.pool, self.tree.subtree(self.tree.root.code))
            self.metrics.unknown_procedure_dossiers.set(sum(r["dossiers"] for r in unknown))
            self._at = time.monotonic()

    def _gauge(self, unit: str, kind: str, card: Scorecard) -> None:
        level = card.level.value
        # NaN for a unit with nothing to judge: no score, and no threshold crossed
        total = card.total if card.total is not None else math.nan
        self.metrics.unit_total.labels(unit, level, kind).set(total)
        for i in card.indicators:
            if i.rate is not None:
                self.metrics.indicator_rate.labels(unit, level, i.code, kind).set(i.rate)
                counted = sum(p.denominator for p in i.parts)
                self.metrics.indicator_counted.labels(unit, level, i.code, kind).set(counted)
