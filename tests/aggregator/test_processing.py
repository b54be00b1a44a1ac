"""The batch step without Kafka: decode, histories, versions, dead letters, the catalog."""

from __future__ import annotations

import asyncio
import time

import clickhouse_connect
import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.processing import (
    BatchOutcome,
    BatchProcessor,
    Catalog,
    CommitTracker,
    DeadLetter,
    DeadLetterPolicy,
    Deriver,
    HistoryStore,
    Reason,
    Record,
    SilenceWatch,
    TooManyDeadLetters,
    dead_letter_headers,
    decode,
    dossier_version,
    procedure_events_of,
)
from services.aggregator.writer import FactsWriter, blames_the_data
from services.storage.clickhouse import migrate
from tests.domain.builders import Scenario, t
from tthc.calendar import WorkingCalendar
from tthc.events import DossierProcessed, Event, OnlineService
from tthc.facts import DossierFacts
from tthc.measures import Subject
from tthc.profile import load_profile


class CountingDict(dict):
    """A table stand-in that counts writes."""

    writes = 0

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def record(event: Event, offset: int = 0) -> Record:
    return Record(orjson.dumps(event.to_cloudevent()), event.subject.encode(), "t", 0, offset)


def run(step: BatchProcessor, records: list[Record]) -> BatchOutcome:
    return asyncio.run(step.process(records))


def processor(table: dict | None = None) -> BatchProcessor:
    deriver = Deriver(Catalog(), WorkingCalendar(), load_profile().settings)
    return BatchProcessor(HistoryStore(CountingDict() if table is None else table), deriver)


def scenario() -> Scenario:
    s = Scenario()
    s.dossier("D1", procedure="P", due=None)
    s.add("D1", DossierProcessed(at=t("2024-05-07 10:00")))
    s.dossier("D2", procedure="P")
    return s


def dossier_rows(outcome) -> dict[str, tuple[DossierFacts, int]]:
    return {r.facts.code: (r.facts, r.version) for r in outcome.rows.get(Subject.dossier, [])}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe not utf-8", Reason.undecodable),
        (None, Reason.undecodable),
        (b'{"specversion": "1.0", ', Reason.invalid_json),
        (b'{"specversion": "1.0"}', Reason.invalid_event),
        (
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "id": "x",
                    "source": "s",
                    "type": "vn.tthc.dossier.teleported.v1",
                    "subject": "D9",
                    "time": "2024-05-06T08:00:00+07:00",
                    "data": {},
                }
            ),
            Reason.unknown_type,
        ),
    ],
)
def test_poison_records_become_dead_letters_with_a_reason(
    value: bytes | None, reason: Reason
) -> None:
    letter = decode(Record(value, b"k", "events", 2, 41))
    assert isinstance(letter, DeadLetter)
    assert letter.reason is reason
    headers = dict(dead_letter_headers(letter))
    assert headers["tthc.dlq.reason"] == reason.value.encode()
    assert headers["tthc.dlq.source"] == b"events/2/41"


def test_validation_problems_name_the_fields() -> None:
    bad = scenario().events[0].to_cloudevent()
    bad["data"]["channel"] = 9
    letter = decode(Record(orjson.dumps(bad)))
    assert isinstance(letter, DeadLetter)
    assert any(path == "data.channel" for path, _ in letter.problems)


def test_a_batch_goes_on_past_poison() -> None:
    events = scenario().events
    records = [Record(b"garbage"), *(record(e) for e in events)]
    outcome = run(processor(), records)
    assert len(outcome.dead_letters) == 1
    assert set(dossier_rows(outcome)) == {"D1", "D2"}


def test_each_history_is_stored_once_per_batch() -> None:
    table = CountingDict()
    run(processor(table), [record(e) for e in scenario().events])
    assert table.writes == 2  # D1 (two events) and D2


def test_a_resend_changes_nothing_but_is_written_again() -> None:
    """After a crash ClickHouse may be behind the histories: a resend rewrites its row."""
    step = processor()
    events = scenario().events
    first = dossier_rows(run(step, [record(e) for e in events]))
    again = run(step, [record(events[1], offset=9)])
    assert again.resends == 1
    assert dossier_rows(again) == {"D1": first["D1"]}


def test_arrival_order_does_not_matter() -> None:
    events = scenario().events
    in_order = dossier_rows(run(processor(), [record(e) for e in events]))
    one_by_one = processor()
    rows = {}
    for e in reversed(events):
        rows.update(dossier_rows(run(one_by_one, [record(e)])))
    assert rows == in_order


def test_versions_grow_with_the_dossier_first_then_its_procedure() -> None:
    assert dossier_version(3, 10) < dossier_version(4, 0)
    assert dossier_version(3, 1) < dossier_version(3, 2)
    assert procedure_events_of(dossier_version(3, 7)) == 7


def test_a_procedure_that_arrives_late_is_applied_to_its_dossiers() -> None:
    """Dossier D1 has no due date: it comes from the procedure's time limit."""
    s = scenario()
    step = processor()
    before = dossier_rows(run(step, [record(e) for e in s.events]))["D1"]
    assert before[0].due_at is None and before[0].online_service == "none"

    s.procedure("P", online=OnlineService.full, processing_working_days=3)
    outcome = run(step, [record(s.events[-1])])
    assert step.deriver.catalog.pending == {"P"}
    assert outcome.catalog_events and outcome.rows[Subject.procedure]

    (after,) = step.rederive_dossiers(["D1", "unknown-here"])
    assert after.facts.due_at is not None and after.facts.online_service == "full"
    assert after.version > before[1]


def test_a_small_cache_still_gives_whole_histories() -> None:
    table = CountingDict()
    deriver = Deriver(Catalog(), WorkingCalendar(), load_profile().settings)
    step = BatchProcessor(HistoryStore(table, cache_size=0), deriver)
    events = scenario().events
    for e in events:
        run(step, [record(e)])
    assert len(step.store.get("dossier:D1").events) == 2


def commit(tracker: CommitTracker) -> dict[tuple[str, int], int]:
    """What the broker takes when it takes everything offered."""
    moves = tracker.committable()
    tracker.committed(moves)
    return moves


def test_commits_follow_only_a_gap_free_run_of_records() -> None:
    tracker = CommitTracker()
    tp = ("events", 0)
    tracker.start(tp, 100)
    tracker.processed(tp, [98, 99, 100, 101])  # records before the start were committed already
    assert commit(tracker) == {tp: 102}
    tracker.processed(tp, [105, 106])  # 102..104 skipped by the consumer
    assert commit(tracker) == {}
    assert tracker.holes() == {tp: 102}
    tracker.processed(tp, [102, 103, 104, 105])  # read again from the hole
    assert commit(tracker) == {tp: 107}
    assert tracker.holes() == {} and tracker.uncommitted() == set()
    tracker.forget([tp])
    assert not tracker.knows(tp)
    # a batch that ends after its partition was revoked (a rebalance during a long batch)
    tracker.processed(tp, [107, 108])
    assert commit(tracker) == {} and tracker.positions() == {}


def test_a_commit_the_broker_refuses_moves_nothing_and_is_offered_again() -> None:
    """Around a rebalance the broker refuses a commit. Taken for done, the tracker would stand
    past what the group reads again from (the refused commit's start), ignore those records as
    committed, and never commit the partition again: a worker stuck short of the log end."""
    tracker = CommitTracker()
    tp = ("events", 2)
    tracker.start(tp, 200)
    tracker.processed(tp, range(200, 210))
    assert tracker.committable() == {tp: 210}
    tracker.committed({})  # refused
    assert tracker.positions() == {tp: 200}
    assert tracker.uncommitted() == {tp} and tracker.holes() == {}  # not a hole: nothing to read
    tracker.processed(tp, range(200, 215))  # the group reads again from the broker's 200
    assert commit(tracker) == {tp: 215}
    assert tracker.uncommitted() == set()
    tracker.committed({tp: 212})  # a late answer behind the position moves nothing back
    assert tracker.positions() == {tp: 215}


# --- One event never halts the batch ------------------------------------------------------------


def poisoned(event: Event, when: str) -> Record:
    """A schema-valid event whose times are `when` (as an older ingest let through)."""
    raw = event.to_cloudevent()
    raw.update(id="poison", time=when, data={**raw["data"], "at": when})
    return Record(orjson.dumps(raw), event.subject.encode(), "t", 0, 99)


def test_a_held_partition_is_silent_once_no_batch_brought_it_for_the_watched_time() -> None:
    watch = SilenceWatch(seconds=30)
    p0, p1 = ("t", 0), ("t", 1)
    assert watch.silent({p0, p1}, now=100) == []  # held from now on
    watch.heard([p1], now=120)
    assert watch.silent({p0, p1}, now=125) == []
    assert watch.silent({p0, p1}, now=131) == [p0]  # 31 s without a record; p1 heard at 120
    assert watch.silent({p0, p1}, now=151) == [p0, p1]
    watch.forget([p1])
    assert watch.silent({p0, p1}, now=155) == [p0]  # held again: its silence starts again


def test_a_long_gap_between_ticks_is_no_silence() -> None:
    """While one batch waits on ClickHouse nothing is fetched: no partition was left unread."""
    watch = SilenceWatch(seconds=30)
    assert watch.silent({("t", 0)}, now=0) == []
    assert watch.silent({("t", 0)}, now=20) == []
    assert watch.silent({("t", 0)}, now=200) == []  # the last tick was 180 s ago
    assert watch.silent({("t", 0)}, now=225) == []
    assert watch.silent({("t", 0)}, now=231) == [("t", 0)]


def test_an_event_no_fact_can_be_derived_from_is_a_dead_letter_and_the_rest_goes_on() -> None:
    s = scenario()
    bad = poisoned(s.events[1], "0001-01-01T00:00:00+01:00")  # OverflowError in the derivation
    records = [record(e, offset=i) for i, e in enumerate(s.events)]
    outcome = run(processor(), [records[0], bad, *records[1:]])
    (letter,) = outcome.dead_letters
    assert letter.record is bad
    assert letter.reason in (Reason.fold_failed, Reason.derivation_failed)
    assert "OverflowError" in letter.detail
    assert dossier_rows(outcome) == dossier_rows(run(processor(), records))


def test_a_row_clickhouse_refuses_is_a_dead_letter_and_the_rest_is_written(clickhouse) -> None:
    """1969 fits a Python datetime but not ClickHouse's DateTime: the real insert refuses it."""
    migrate(clickhouse)
    writer = FactsWriter(clickhouse, AggregatorMetrics())
    s = scenario()
    bad = poisoned(s.events[1], "1969-12-31T23:59:59Z")
    records = [record(e, offset=i) for i, e in enumerate(s.events)]
    step = processor()
    try:
        outcome = asyncio.run(step.process([records[0], bad, *records[1:]], writer.write))
    finally:
        writer.close()
    (letter,) = outcome.dead_letters
    assert (letter.record, letter.reason) == (bad, Reason.insert_rejected)
    assert "DataError" in letter.detail
    assert step.store.get("dossier:D1").events == tuple(s.events[:2])  # not the poison
    written = clickhouse.query("SELECT code, ended_at FROM dossier_facts FINAL ORDER BY code")
    assert [row[0] for row in written.result_rows] == ["D1", "D2"]
    assert written.result_rows[0][1] is not None  # D1 ended by its good event


def test_an_outage_is_not_the_records_fault() -> None:
    """ClickHouse down or broken: retried, never dead-lettered; a bad value is the data's."""
    assert not blames_the_data(OperationalError("connection refused"))
    assert not blames_the_data(DatabaseError("Code: 1001. DB::Exception: filesystem error"))
    assert not blames_the_data(DatabaseError("Code: 243. NOT_ENOUGH_SPACE"))
    assert blames_the_data(DatabaseError("Code: 321. VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"))
    assert blames_the_data(DataError("Unable to create native array for column `ended_at`"))


def test_a_write_waiting_on_a_broken_clickhouse_is_cancelled_at_once(tmp_path) -> None:
    """What SIGTERM does to a batch stuck on ClickHouse: the retrying write stops at once.
    (ClickHouse breaks for a reason of its own: its store is no longer a directory.)"""
    directory = tmp_path / "ch"
    client = clickhouse_connect.get_client(dsn=f"chdb://{directory}")
    migrate(client)
    writer = FactsWriter(client, AggregatorMetrics(), retry_max_seconds=0.2)
    (directory / "store").rename(tmp_path / "store-aside")
    (directory / "store").write_bytes(b"")
    rows = asyncio.run(processor().process([record(e) for e in scenario().events])).rows

    async def stuck_then_cancelled() -> float:
        task = asyncio.create_task(writer.write(rows))
        while writer.failures_in_a_row < 3:  # retried, not dead-lettered
            await asyncio.sleep(0.05)
            assert not task.done()
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    try:
        assert asyncio.run(stuck_then_cancelled()) < 1.0
    finally:
        writer.close()
        client.close()


def letters_at(records: list[Record], *offsets: int) -> list[DeadLetter]:
    return [DeadLetter(records[o], Reason.invalid_json, "") for o in offsets]


def test_the_dead_letter_policy_stops_on_a_run_of_bad_records() -> None:
    policy = DeadLetterPolicy(max_ratio=None, max_in_a_row=3)
    records = [Record(b"x", offset=i) for i in range(10)]
    policy.judge(records[:5], letters_at(records, 0, 1, 2))  # three in a row: at the limit
    with pytest.raises(TooManyDeadLetters, match="4 dead letters in a row"):
        policy.judge(records[5:], letters_at(records, 6, 7, 8, 9))


def test_the_dead_letter_policy_judges_the_share_only_after_enough_records() -> None:
    policy = DeadLetterPolicy(max_ratio=0.5, max_in_a_row=None, ratio_after=10)
    records = [Record(b"x", offset=i) for i in range(12)]
    policy.judge(records[:4], letters_at(records, 0, 1, 3))  # 3 of 4, too few to judge
    policy.judge(records[4:8], letters_at(records, 4))  # 4 of 8
    with pytest.raises(TooManyDeadLetters, match="7 of 12 records"):
        policy.judge(records[8:], letters_at(records, 8, 9, 10))
