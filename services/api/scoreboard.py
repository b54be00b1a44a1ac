"""The score snapshot: every unit's scorecard for the current periods, kept in `unit_scores`.

Every `refresh_seconds` the refresher computes the scorecard of every unit of today's tree for
the current month, quarter and year (and, every `previous_every` refreshes, the ones before
them, for rank changes; every `past_every` refreshes, starting with the first, every earlier
one since the first dossier or feedback received, so that the dashboards' period menu offers
every period with data: past periods change rarely, by late events only), with one grouped
query per subject and period. It writes:

- `unit_scores` (ReplacingMergeTree): every row, every refresh; read it with FINAL;
- `unit_score_history` (MergeTree): the rows whose values changed since the last refresh, and
  every row at least every `history_full_seconds`, so a value holds until its next row;
- gauges for Prometheus: each unit's total and indicator rates, and its dossiers turning late.

Each refresh first writes a generation of rolling windows (services.api.windows), judged at
the refresh's instant, from which `source=windows` answers any period of whole days.

Dashboards and fast rankings read the tables; nothing else writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.api.metrics import ApiMetrics
from services.api.pool import ClientPool
from services.api.queries import (
    first_received,
    scorecards,
    turning_late_counts,
    unknown_procedures,
)
from services.api.windows import write_generation
from services.observability import get_logger
from services.storage.schema import (
    SCORE_COLUMNS,
    UNIT_SCORE_HISTORY_TABLE,
    UNIT_SCORES_TABLE,
)
from tthc.calendar import VN_TZ
from tthc.periods import Period, containing
from tthc.profile import Profile
from tthc.scoring import Scorecard, profile_measures
from tthc.units import UnitTree

log = get_logger("services.api.scoreboard")

COLUMN_NAMES = [name for name, _ in SCORE_COLUMNS]
_VALUES = COLUMN_NAMES.index("numerator"), COLUMN_NAMES.index("cutoff")  # what may change


TRACKED_KINDS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Tracked:
    kind: str  # month | quarter | year
    period: Period
    current: bool  # the period now runs (else: the one before, for rank changes)


def current_periods(now: datetime, *, previous: bool = True) -> list[Tracked]:
    """The month, quarter and year of `now` in Vietnam, and (optionally) the ones before."""
    today = now.astimezone(VN_TZ).date()
    tracked = [Tracked(kind, containing(kind, today), True) for kind in TRACKED_KINDS]
    if previous:
        tracked += [Tracked(t.kind, t.period.previous(), False) for t in list(tracked)]
    return tracked


def past_periods(since: datetime, now: datetime) -> list[Tracked]:
    """Every month, quarter and year from the one holding `since` to the one before the
    previous of each kind (those `current_periods` tracks), oldest first."""
    first, today = (t.astimezone(VN_TZ).date() for t in (since, now))
    tracked = []
    for kind in TRACKED_KINDS:
        stop = containing(kind, today).previous().start
        period = containing(kind, first)
        while period.start < stop:
            tracked.append(Tracked(kind, period, False))
            period = containing(kind, period.end_date)
    return tracked


def score_rows(
    card: Scorecard,
    *,
    tree: UnitTree,
    profile: Profile,
    unit: str,
    tracked: Tracked,
    cutoff: datetime,
    computed_at: datetime,
) -> list[list[Any]]:
    """The unit's total row and one row per indicator, in SCORE_COLUMNS order."""
    u = tree.get(unit)
    groups = {g.number: g.name_vi for g in profile.groups}
    period = tracked.period
    common = {
        "period": period.label,
        "period_kind": tracked.kind,
        "period_start": period.start_date,
        "period_end": period.end_date,
        "unit": unit,
        "level": u.level.value,
        "parent": u.parent or "",
        "unit_name": u.name,
        "total": card.total,
        "grade_vi": card.grade_vi,
        "cutoff": cutoff.astimezone(UTC).replace(microsecond=0),
        "computed_at": computed_at,
    }
    rows = [
        {
            **common,
            "indicator": "",
            "group_number": 0,
            "group_name_vi": "",
            "name_vi": "Tổng điểm",
            "assessed": True,
            "numerator": card.points,
            "denominator": 0,
            "rate": card.points / card.max_points if card.max_points else None,
            "points": card.points,
            "max_points": card.max_points,
            "lost": card.max_points - card.points,
        }
    ]
    for i in card.indicators:
        rows.append(
            {
                **common,
                "indicator": i.code,
                "group_number": i.group,
                "group_name_vi": groups[i.group],
                "name_vi": i.name_vi,
                "assessed": i.assessed,
                "numerator": float(i.numerator),
                "denominator": i.denominator,
                "rate": i.rate,
                "points": i.points,
                "max_points": i.max_points,
                "lost": i.lost,
            }
        )
    return [[row[name] for name in COLUMN_NAMES] for row in rows]


@dataclass
class Refresh:
    periods: list[str]
    units: int
    rows: int
    history_rows: int
    seconds: float
    computed_at: datetime
    generation: int | None  # the windows written, if any
    windows_seconds: float


class Scoreboard:
    def __init__(
        self,
        pool: ClientPool,
        tree: UnitTree,
        profile: Profile,
        metrics: ApiMetrics,
        *,
        clock: Callable[[], datetime],
        previous_every: int = 10,
        past_every: int = 40,
        history_full_seconds: float = 3600.0,
        warning_horizon: timedelta = timedelta(hours=24),
        windows: bool = True,
    ) -> None:
        self.pool = pool
        self.tree = tree
        self.profile = profile
        self.metrics = metrics
        self.clock = clock
        self.previous_every = previous_every
        self.past_every = past_every
        self.history_full_seconds = history_full_seconds
        self.warning_horizon = warning_horizon
        self.windows = windows
        self.refreshes = 0
        self.last: Refresh | None = None
        self._history: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._history_full_at = -float("inf")

    def refresh(
        self, now: datetime | None = None, tracked: Sequence[Tracked] | None = None
    ) -> Refresh:
        """Compute and write every unit's scorecard for the tracked periods (default: the
        current month, quarter and year, every few refreshes the ones before, and less often
        every earlier one with data)."""
        started = time.perf_counter()
        now = now or self.clock()
        if tracked is None:
            tracked = current_periods(now, previous=self.refreshes % self.previous_every == 0)
            since = first_received(self.pool) if self.refreshes % self.past_every == 0 else None
            if since is not None:
                tracked += past_periods(since, now)
        computed_at = datetime.now(UTC)
        generation = None
        if self.windows:
            generation = write_generation(self.pool, profile_measures(self.profile), now).id
        windows_seconds = time.perf_counter() - started
        units = [u.code for u in self.tree.current_units()]
        rows: list[list[Any]] = []
        for t in tracked:
            cards = scorecards(self.pool, self.tree, self.profile, units, t.period, now, "refresh")
            cutoff = t.period.cutoff(now)
            for code, card in cards.items():
                rows += score_rows(
                    card,
                    tree=self.tree,
                    profile=self.profile,
                    unit=code,
                    tracked=t,
                    cutoff=cutoff,
                    computed_at=computed_at,
                )
                if t.current:
                    self._gauge(code, t.kind, card)
        history = self._history_rows(rows)
        with self.pool.client() as client:
            if rows:
                client.insert(UNIT_SCORES_TABLE, rows, column_names=COLUMN_NAMES)
            if history:
                client.insert(UNIT_SCORE_HISTORY_TABLE, history, column_names=COLUMN_NAMES)
        late = turning_late_counts(self.pool, self.tree, units, now, self.warning_horizon)
        for code, n in late.items():
            self.metrics.turning_late.labels(code, self.tree.get(code).level.value).set(n)
        unknown = unknown_procedures(self.pool, self.tree.subtree(self.tree.root.code))
        self.metrics.unknown_procedure_dossiers.set(sum(r["dossiers"] for r in unknown))
        self.refreshes += 1
        elapsed = time.perf_counter() - started
        self.metrics.refresh_seconds.observe(elapsed)
        self.metrics.refreshed_at.set(computed_at.timestamp())
        self.last = Refresh(
            [t.period.label for t in tracked],
            len(units),
            len(rows),
            len(history),
            elapsed,
            computed_at,
            generation,
            windows_seconds,
        )
        return self.last

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

    def _history_rows(self, rows: list[list[Any]]) -> list[list[Any]]:
        """Rows whose values changed since they were last appended; all of them when due."""
        full = time.monotonic() - self._history_full_at >= self.history_full_seconds
        if full:
            self._history_full_at = time.monotonic()
        first, last = _VALUES
        chosen = []
        for row in rows:
            key = (row[0], row[4], row[5])  # period, unit, indicator
            values = tuple(row[first:last])
            if full or self._history.get(key) != values:
                chosen.append(row)
                self._history[key] = values
        return chosen

    async def run(self, every: float, stop: asyncio.Event) -> None:
        """Refresh now, then every `every` seconds, until `stop` is set; errors are logged and
        counted, and the next refresh tries again."""
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(self.refresh)
                log.debug(
                    "snapshot_refreshed",
                    rows=done.rows,
                    seconds=round(done.seconds, 3),
                    windows_seconds=round(done.windows_seconds, 3),
                )
            except Exception as error:  # ClickHouse down, a migration not applied yet
                self.metrics.refresh_failures.inc()
                log.warning("snapshot_refresh_failed", error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
