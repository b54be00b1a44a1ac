"""The windows the worker's write step keeps, worked out by hand on embedded ClickHouse: an
open dossier turns late at its due instant with no event, a dossier that moves leaves its old
(unit, day), a past month is judged at its end, and any other past instant is not answered;
a window's dossier sets keep few entries and answer at any cutoff as the dossiers do."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.writer import FactsWriter
from services.storage.clickhouse import VersionedFacts, migrate
from services.storage.schema import BY_DAY
from tthc.calendar import VN_TZ, local_date
from tthc.facts import DossierFacts
from tthc.measures import MEASURES, Subject
from tthc.windows import (
    DaySpan,
    ended_periods,
    recompute_sql,
    rollup_sql,
    window_set_rows_sql,
    window_tallies_sql,
)

ON_TIME = MEASURES["dossiers_on_time"]
COUNTED = ["dossiers_on_time", "dossiers_online"]


def dossier(
    code: str, unit: str, received: datetime, due: datetime, **changes: Any
) -> DossierFacts:
    """An open dossier, received at `received`, due at `due`, nothing else happened."""
    row = dict.fromkeys(DossierFacts.columns())
    row |= {
        "code": code,
        "unit": unit,
        "procedure": "P1",
        "counted": True,
        "channel": 2,
        "received_at": received,
        "due_at": due,
        "withdrawn": False,
        "online_service": "full",
        "full_online_eligible": True,
        "returns_result_document": False,
        "due_changed_at": [received],
        "due_values": [due],
        "fee": 0,
    }
    for name in DossierFacts.columns():
        if row[name] is None and name.endswith(("_seconds", "_components", "_requests")):
            row[name] = 0
        elif row[name] is None and name in _FLAGS:
            row[name] = False
        elif row[name] is None and name in _ARRAYS:
            row[name] = []
    return DossierFacts(**(row | changes))


_FLAGS = {
    "result_electronic",
    "result_digitized",
    "result_pushed_to_data_store",
    "paid_online",
    "population_data_used",
    "dissatisfied",
    "complaint",
}
_ARRAYS = {
    "supplement_requested_at",
    "supplement_answered_at",
    "supplement_due_reset",
    "fee_changed_at",
    "fee_values",
    "rated_at",
    "rated_dissatisfied",
}


def write(client: Any, *rows: VersionedFacts, writer: FactsWriter | None = None) -> None:
    """The worker's write step (facts by day, windows, facts by code), as a batch runs it."""
    own = writer or FactsWriter(client, AggregatorMetrics())
    try:
        asyncio.run(own.write({Subject.dossier: list(rows)}))
    finally:
        if writer is None:
            own.close()


def tallies(client: Any, cutoff: datetime, start: date, end: date) -> dict[tuple[str, str], Any]:
    sql = window_tallies_sql([MEASURES[k] for k in COUNTED], DaySpan.literal(start, end, cutoff))
    return {
        (r["unit"], r["measure"]): (r["numerator"], r["denominator"])
        for r in client.query(sql).named_results()
    }


@pytest.fixture
def db(clickhouse):
    migrate(clickhouse)
    return clickhouse


def test_an_open_dossier_turns_late_at_its_due_instant_with_no_event(db):
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(hours=2)
    write(db, VersionedFacts(dossier("D1", "U1", now - timedelta(hours=1), due), 1, fresh=True))
    day = (now - timedelta(hours=1)).astimezone(UTC).date()
    days = (day - timedelta(days=1), day + timedelta(days=2))
    # nothing is recomputed between these reads: the windows hold the due instant
    assert tallies(db, now, *days)[("U1", ON_TIME.key)] == (1.0, 1)
    assert tallies(db, due, *days)[("U1", ON_TIME.key)] == (1.0, 1)  # on time up to its due
    assert tallies(db, due + timedelta(seconds=1), *days)[("U1", ON_TIME.key)] == (0.0, 1)
    assert tallies(db, due + timedelta(days=30), *days)[("U1", "dossiers_online")] == (1.0, 1)


def test_a_dossier_moved_to_another_unit_and_day_leaves_its_old_window(db):
    now = datetime.now(UTC).replace(microsecond=0)
    first = dossier("D1", "U1", now - timedelta(days=3), now + timedelta(days=3))
    write(db, VersionedFacts(first, 1, fresh=True))
    moved = replace(first, unit="U2", received_at=now - timedelta(days=1))
    write(db, VersionedFacts(moved, 2))  # a new writer: where it was is read from the facts
    days = ((now - timedelta(days=5)).date(), (now + timedelta(days=1)).date())
    found = tallies(db, now, *days)
    assert found[("U2", ON_TIME.key)] == (1.0, 1)
    assert found[("U1", ON_TIME.key)] == (0.0, 0)  # its old window, emptied
    # and back, with the same writer: it remembers where the row went
    writer = FactsWriter(db, AggregatorMetrics())
    try:
        write(db, VersionedFacts(moved, 2), writer=writer)  # a redelivery: the same rows
        write(db, VersionedFacts(first, 3), writer=writer)
    finally:
        writer.close()
    found = tallies(db, now, *days)
    assert found[("U1", ON_TIME.key)] == (1.0, 1)
    assert found[("U2", ON_TIME.key)] == (0.0, 0)


def test_staged_batches_wait_for_one_window_step_and_a_crash_before_it_is_mended(db):
    """Batches staged one after another share one window step (`flush`); a worker killed before
    it left by-day rows whose windows and by-code rows were never written, and the redelivered
    batches, staged again by a new worker, end as if nothing had happened."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = dossier("D1", "U1", now - timedelta(days=3), now + timedelta(days=3))
    write(db, VersionedFacts(first, 1, fresh=True))
    second = replace(first, unit="U2", received_at=now - timedelta(days=2))
    third = replace(first, unit="U3", received_at=now - timedelta(days=1))
    days = ((now - timedelta(days=5)).date(), (now + timedelta(days=1)).date())

    async def stage_both(writer: FactsWriter) -> None:
        await writer.stage({Subject.dossier: [VersionedFacts(second, 2)]})
        await writer.stage({Subject.dossier: [VersionedFacts(third, 3)]})  # from U2, staged

    killed = FactsWriter(db, AggregatorMetrics())
    try:
        asyncio.run(stage_both(killed))
        assert killed.staged == 1  # one entity, its newest row
    finally:
        killed.close()  # never flushed: the worker died here
    found = tallies(db, now, *days)
    assert found[("U1", ON_TIME.key)] == (1.0, 1)  # windows as the last flush left them
    assert ("U3", ON_TIME.key) not in found

    redelivered = FactsWriter(db, AggregatorMetrics())
    try:
        asyncio.run(stage_both(redelivered))
        asyncio.run(redelivered.flush())
    finally:
        redelivered.close()
    found = tallies(db, now, *days)
    assert found[("U3", ON_TIME.key)] == (1.0, 1)
    assert found[("U1", ON_TIME.key)] == (0.0, 0)  # left by the first redelivered batch
    assert found[("U2", ON_TIME.key)] == (0.0, 0)  # entered and left within the two
    placed = db.query("SELECT unit FROM dossier_facts FINAL WHERE code = 'D1'").result_rows
    assert placed == [("U3",)]


def test_a_past_month_is_judged_at_its_end_and_no_other_past_instant(db):
    received = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)
    due = datetime(2024, 3, 25, 10, 0, tzinfo=UTC)
    ended = datetime(2024, 4, 5, 3, 0, tzinfo=UTC)  # after the month: open at its end, late
    write(db, VersionedFacts(dossier("D1", "U1", received, due, ended_at=ended), 1, fresh=True))
    march = (date(2024, 3, 1), date(2024, 4, 1))
    march_end = datetime(2024, 3, 31, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Vietnam
    assert tallies(db, march_end, *march)[("U1", ON_TIME.key)] == (0.0, 1)
    quarter_end = march_end  # Q1 ends with March: the quarter's columns give the same
    assert tallies(db, quarter_end, date(2024, 1, 1), date(2024, 4, 1))[("U1", ON_TIME.key)] == (
        0.0,
        1,
    )
    # mid-month: only the facts can tell (on time then)
    assert tallies(db, datetime(2024, 3, 20, tzinfo=UTC), *march)[("U1", ON_TIME.key)] == (
        None,
        None,
    )


def test_recomputing_a_key_again_changes_nothing_and_the_later_one_wins(db):
    now = datetime.now(UTC).replace(microsecond=0)
    write(db, VersionedFacts(dossier("D1", "U1", now, now + timedelta(days=1)), 1, fresh=True))
    key = ("U1", local_date(now))
    before = db.query(f"SELECT version FROM {BY_DAY.windows} FINAL").result_rows
    db.command(recompute_sql(Subject.dossier, [key]))
    rows = db.query(f"SELECT version, numerator FROM {BY_DAY.windows} FINAL").result_rows
    assert len(rows) == 1 and rows[0][0] > before[0][0]  # versions from the server's clock
    day = local_date(now)
    assert tallies(db, now, day, day + timedelta(days=1))[("U1", ON_TIME.key)] == (1.0, 1)


def test_a_window_keeps_the_fewest_set_entries_that_answer_at_every_cutoff(db):
    def at(hour: float) -> datetime:
        return datetime(2024, 3, 10, tzinfo=UTC) + timedelta(hours=hour)

    due = at(200)
    dossiers = [
        dossier("A", "U1", at(3), due),  # online from 03:00 on: P1 is in the set for good
        dossier("B", "U1", at(1), due, refused_at=at(2), procedure="P1"),  # before A: kept
        dossier("C", "U1", at(5), due, refused_at=at(6)),  # inside A's interval: dropped
        dossier("D", "U1", at(4), due, refused_at=at(4.5), procedure="P2"),
        dossier("E", "U1", at(7), due, channel=1, procedure="P3"),  # not online: no entry
    ]
    write(db, *(VersionedFacts(d, 1, fresh=True) for d in dossiers))
    entries = db.query(
        f"SELECT p, s, u FROM {BY_DAY.windows} FINAL "
        "ARRAY JOIN set_name AS n, set_procedure AS p, set_since AS s, set_until AS u "
        "WHERE n = 'procedures_with_online_dossiers'"
    ).result_rows
    utc = [(p, s.replace(tzinfo=UTC), u and u.replace(tzinfo=UTC)) for p, s, u in entries]
    assert sorted(utc, key=str) == sorted(
        [("P1", at(3), None), ("P1", at(1), at(2)), ("P2", at(4), at(4.5))], key=str
    )
    span_days = (date(2024, 3, 9), date(2024, 3, 12))
    for hour in (0.5, 1, 1.5, 2, 2.5, 3, 4, 4.25, 4.5, 5.5, 6.5, 7.5, 100):
        cutoff = at(hour)
        sql = window_set_rows_sql(
            "procedures_with_online_dossiers", DaySpan.literal(*span_days, cutoff)
        )
        found = {r[1] for r in db.query(sql).result_rows}
        expected = {
            d.procedure
            for d in dossiers
            if d.channel == 2
            and d.received_at <= cutoff
            and (d.refused_at is None or d.refused_at > cutoff)
        }
        assert found == expected, hour


def test_a_month_row_answers_as_its_days_judged_at_different_instants(db):
    """Two dossiers of last month, their days' windows judged at different W: the month row is
    judged at the later W, holds its month's end from one day's kept tallies and the other's
    changes, and cannot answer between the two W (the day rows of a partial span can)."""
    now = datetime.now(UTC).replace(microsecond=0)
    this_month = local_date(now).replace(day=1)
    first = (this_month - timedelta(days=1)).replace(day=1)
    month_end = datetime.combine(this_month, datetime.min.time(), VN_TZ) - timedelta(seconds=1)
    d1 = dossier("D1", "U1", _local(first, 2), month_end - timedelta(hours=1))
    d2 = dossier("D2", "U1", _local(first + timedelta(days=1), 2), now + timedelta(hours=1))
    write(db, VersionedFacts(d1, 1, fresh=True), VersionedFacts(d2, 1, fresh=True))
    w1 = month_end - timedelta(hours=2)  # before D1's due and the month's end
    margin = int((now - w1).total_seconds()) + 1
    db.command(recompute_sql(Subject.dossier, [("U1", first)], margin_seconds=margin))
    db.command(rollup_sql(Subject.dossier, [("U1", first)]))

    (judged, at), *_ = db.query(
        f"SELECT judged_at, change_at FROM {BY_DAY.months} FINAL WHERE subject = 'dossier'"
    ).result_rows
    assert abs(judged.replace(tzinfo=UTC) - (now - timedelta(seconds=60))) < timedelta(seconds=5)
    due_after = d2.due_at + timedelta(seconds=1)  # D1's change, before W2, is in the tallies
    assert {a.replace(tzinfo=UTC) for a in at} >= {due_after}
    assert all(a.replace(tzinfo=UTC) > judged.replace(tzinfo=UTC) for a in at)

    month = (first, this_month)
    assert tallies(db, now, *month)[("U1", ON_TIME.key)] == (1.0, 2)  # D1 late, D2 not yet
    assert tallies(db, now + timedelta(hours=2), *month)[("U1", ON_TIME.key)] == (0.0, 2)
    assert tallies(db, month_end, *month)[("U1", ON_TIME.key)] == (1.0, 2)
    between = month_end - timedelta(minutes=90)  # after D1's W, before the month row's
    assert tallies(db, between, *month)[("U1", ON_TIME.key)] == (None, None)
    day_one = (first, first + timedelta(days=1))  # a partial span: D1's day row answers
    assert tallies(db, between, *day_one)[("U1", ON_TIME.key)] == (1.0, 1)


def test_one_roll_up_brings_every_month_it_names_up_to_date(db):
    """Months of several units in one batch: each unit's own month is rolled up, whatever the
    order of units and months."""
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(days=1)
    march, may = date(2024, 3, 1), date(2024, 5, 1)
    write(
        db,
        VersionedFacts(dossier("D1", "U1", _local(may, 10), due), 1, fresh=True),
        VersionedFacts(dossier("D2", "U2", _local(march, 10), due), 1, fresh=True),
    )
    months = db.query(f"SELECT unit, day FROM {BY_DAY.months} FINAL ORDER BY unit").result_rows
    assert months == [("U1", may), ("U2", march)]
    assert tallies(db, now, march, may)[("U2", ON_TIME.key)] == (1.0, 1)


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), VN_TZ) + timedelta(hours=hour)


SPANS = [
    (date(2025, 1, 15), date(2025, 3, 10)),
    (date(2025, 1, 1), date(2025, 4, 1)),
    (date(2025, 2, 3), date(2025, 2, 20)),
    (date(2025, 2, 1), date(2025, 2, 20)),
    (date(2025, 1, 20), date(2025, 2, 1)),
    (date(2024, 12, 31), date(2026, 1, 2)),
    (date(2025, 3, 1), date(2025, 3, 1)),
]


@pytest.mark.parametrize(("start", "end"), SPANS)
def test_a_span_is_its_whole_months_and_the_days_outside_them(clickhouse, start, end):
    """Both forms of a span (literal, or SQL as a dashboard's) choose the same month rows and
    day rows, and between them cover each day of the span once."""
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    literal = DaySpan.literal(start, end, cutoff)
    as_sql = DaySpan(literal.start_day, literal.end_day, literal.cutoff)
    days = "SELECT toDate('2024-11-01') + number AS day FROM numbers(500)"
    firsts = f"SELECT day FROM ({days}) WHERE toDayOfMonth(day) = 1"  # as a month row's day

    def chosen(rows: str, conditions: list[str] | str | None) -> list[date]:
        if conditions is None:
            return []
        where = conditions if isinstance(conditions, str) else " AND ".join(conditions)
        return [r[0] for r in clickhouse.query(f"{rows} WHERE {where}").result_rows]

    span_days = [start + timedelta(days=i) for i in range((end - start).days)]
    picked = []
    for span in (literal, as_sql):
        months = chosen(f"SELECT * FROM ({firsts})", span.whole_months())
        partial = chosen(days, span.partial_days())
        in_months = [d for d in span_days if d.replace(day=1) in months]
        assert sorted(in_months + partial) == span_days  # each day once
        assert all(_add_months(m, 1) <= end for m in months)  # and only whole months
        picked.append((months, partial))
    assert picked[0] == picked[1]


def _add_months(first: date, n: int) -> date:
    index = first.year * 12 + first.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@pytest.mark.parametrize(
    ("cutoff", "ended"),
    [
        (
            datetime(2025, 6, 30, 16, 59, 59, tzinfo=UTC),
            {"month": date(2025, 6, 1), "quarter": date(2025, 4, 1)},
        ),
        (datetime(2025, 5, 31, 16, 59, 59, tzinfo=UTC), {"month": date(2025, 5, 1)}),
        (
            datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC),
            {"month": date(2025, 12, 1), "quarter": date(2025, 10, 1), "year": date(2025, 1, 1)},
        ),
        (datetime(2025, 12, 31, 17, 0, 0, tzinfo=UTC), {}),  # the next year's first second
        (datetime(2025, 6, 30, 17, 59, 59, tzinfo=UTC), {}),  # an hour late: a UTC month end
    ],
)
def test_a_literal_cutoff_names_the_periods_that_end_at_it(cutoff, ended):
    assert ended_periods(cutoff) == ended
