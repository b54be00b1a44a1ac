"""The batch step judges whose dossier a key may touch: refused events change no row, survive
a restart (histories re-read from the table), and come out as rejections with their reason."""

from __future__ import annotations

import asyncio

import orjson

from services.aggregator.processing import (
    BatchOutcome,
    BatchProcessor,
    Catalog,
    Deriver,
    HistoryStore,
    Record,
)
from services.aggregator.rejections import Gate
from tests.domain.builders import COMMUNE, OTHER_COMMUNE, t
from tthc.calendar import WorkingCalendar
from tthc.events import Channel, DossierProcessed, DossierReceived, Event, Payload, make_event
from tthc.measures import Subject
from tthc.profile import load_profile
from tthc.units import load_units

A, B = COMMUNE, OTHER_COMMUNE
GATE = Gate(load_units("dong-nai"))


def stamped(payload: Payload, id: str, key: str, scope: str, offset: int) -> Record:
    event: Event = make_event(payload, subject="D1", id=id, source="mot-cua")
    value = {**event.to_cloudevent(), "tthckey": key, "tthcscope": scope}
    return Record(orjson.dumps(value), b"D1", "t", 0, offset)


def processor(table: dict[str, bytes]) -> BatchProcessor:
    deriver = Deriver(Catalog(), WorkingCalendar(), load_profile().settings)
    return BatchProcessor(HistoryStore(table, cache_size=0), deriver, gate=GATE)


def run(step: BatchProcessor, records: list[Record]) -> BatchOutcome:
    return asyncio.run(step.process(records))


RECEIVED = DossierReceived(
    unit=B, procedure="P", channel=Channel.online, received_at=t("2024-05-06 08:00"),
    due_at=t("2024-05-08 08:00"),
)  # fmt: skip
ON_TIME = DossierProcessed(at=t("2024-05-07 08:00"))


def processed_at(outcome) -> object:  # type: ignore[no-untyped-def]
    (row,) = outcome.rows[Subject.dossier]
    return row.facts.ended_at


def test_a_follow_up_from_a_key_outside_the_owner_is_refused_on_arrival() -> None:
    table: dict[str, bytes] = {}
    outcome = run(
        processor(table), [stamped(RECEIVED, "r", "b", B, 1), stamped(ON_TIME, "p", "a", A, 2)]
    )
    assert processed_at(outcome) is None
    assert [(r.integration, r.event.id, r.reason) for r in outcome.rejections] == [
        ("a", "p", "not_owner")
    ]
    assert b'"id":"p"' not in table["dossier:D1"]  # never kept: the owner's own "p" may come
    again = run(processor(table), [stamped(ON_TIME, "p", "b", B, 3)])
    assert processed_at(again) is not None and again.rejections == []


def test_an_event_before_the_receipt_waits_and_is_refused_once_the_owner_is_known() -> None:
    table: dict[str, bytes] = {}
    early = run(processor(table), [stamped(ON_TIME, "p", "a", A, 1)])
    assert early.rejections == []
    # a restart in between: the next batch reads the history (and its stamps) from the table
    later = run(processor(table), [stamped(RECEIVED, "r", "b", B, 2)])
    assert processed_at(later) is None
    assert [(r.event.id, r.reason) for r in later.rejections] == [("p", "not_owner")]


def test_events_no_ingest_stamped_count_as_before() -> None:
    event = make_event(ON_TIME, subject="D1", id="p", source="mot-cua")
    plain = Record(orjson.dumps(event.to_cloudevent()), b"D1", "t", 0, 2)
    outcome = run(processor({}), [stamped(RECEIVED, "r", "b", B, 1), plain])
    assert processed_at(outcome) is not None and outcome.rejections == []
