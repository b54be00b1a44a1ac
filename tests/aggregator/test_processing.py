"""The batch step without Kafka: decode, histories, versions, dead letters, the catalog."""

from __future__ import annotations

import orjson
import pytest

from services.aggregator.processing import (
    BatchProcessor,
    Catalog,
    CommitTracker,
    DeadLetter,
    Deriver,
    HistoryStore,
    Reason,
    Record,
    dead_letter_headers,
    decode,
    dossier_version,
    procedure_events_of,
)
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
    outcome = processor().process(records)
    assert len(outcome.dead_letters) == 1
    assert set(dossier_rows(outcome)) == {"D1", "D2"}


def test_each_history_is_stored_once_per_batch() -> None:
    table = CountingDict()
    processor(table).process([record(e) for e in scenario().events])
    assert table.writes == 2  # D1 (two events) and D2


def test_a_resend_changes_nothing_but_is_written_again() -> None:
    """After a crash ClickHouse may be behind the histories: a resend rewrites its row."""
    step = processor()
    events = scenario().events
    first = dossier_rows(step.process([record(e) for e in events]))
    again = step.process([record(events[1], offset=9)])
    assert again.resends == 1
    assert dossier_rows(again) == {"D1": first["D1"]}


def test_arrival_order_does_not_matter() -> None:
    events = scenario().events
    in_order = dossier_rows(processor().process([record(e) for e in events]))
    one_by_one = processor()
    rows = {}
    for e in reversed(events):
        rows.update(dossier_rows(one_by_one.process([record(e)])))
    assert rows == in_order


def test_versions_grow_with_the_dossier_first_then_its_procedure() -> None:
    assert dossier_version(3, 10) < dossier_version(4, 0)
    assert dossier_version(3, 1) < dossier_version(3, 2)
    assert procedure_events_of(dossier_version(3, 7)) == 7


def test_a_procedure_that_arrives_late_is_applied_to_its_dossiers() -> None:
    """Dossier D1 has no due date: it comes from the procedure's time limit."""
    s = scenario()
    step = processor()
    before = dossier_rows(step.process([record(e) for e in s.events]))["D1"]
    assert before[0].due_at is None and before[0].online_service == "none"

    s.procedure("P", online=OnlineService.full, processing_working_days=3)
    outcome = step.process([record(s.events[-1])])
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
        step.process([record(e)])
    assert len(step.store.get("dossier:D1").events) == 2


def test_commits_follow_only_a_gap_free_run_of_records() -> None:
    tracker = CommitTracker()
    tp = ("events", 0)
    tracker.start(tp, 100)
    tracker.processed(tp, [98, 99, 100, 101])  # records before the start were committed already
    assert tracker.advance() == {tp: 102}
    tracker.processed(tp, [105, 106])  # 102..104 skipped by the consumer
    assert tracker.advance() == {}
    assert tracker.holes() == {tp: 102}
    tracker.processed(tp, [102, 103, 104, 105])  # read again from the hole
    assert tracker.advance() == {tp: 107}
    assert tracker.holes() == {}
    tracker.forget([tp])
    assert not tracker.knows(tp)
