"""The aggregator's steps, free of Faust: decode → fold into histories → derive versioned facts.

A batch of Kafka records goes through `BatchProcessor.process`: each record is decoded and
validated (or becomes a dead letter), added to its entity's history (idempotent: a resend
changes nothing), and every entity the batch touched gets its fact row derived again, even
for a resend, because after a crash the histories (changelog) may be ahead of ClickHouse.
The Faust agent, the replay and the unit tests drive the same steps.

Versions make every write idempotent and order-free: a fact row's version grows with the
history it was derived from, so whichever write lands last, ClickHouse keeps the row derived
from the most events. A dossier's row also depends on its procedure (time limit, online level),
so its version is (dossier history length, procedure history length) packed into 64 bits.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any

import orjson

from services.aggregator.rejections import (
    Gate,
    RejectedEvent,
    Stamp,
    first_receipt,
    stamp_of,
)
from services.storage.clickhouse import VersionedFacts
from tthc.calendar import WorkingCalendar
from tthc.events import Entity, Event, EventError, parse_event
from tthc.facts import KINDS, derive
from tthc.measures import Subject
from tthc.ownership import SEQ_EXTENSION
from tthc.profile import Settings
from tthc.state import DossierState, History, ProcedureState, fold

PROCEDURE_VERSION_BITS = 32


# --- Decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What the steps need of a Kafka record."""

    value: bytes | None
    key: bytes | None = None
    topic: str = ""
    partition: int = 0
    offset: int = 0
    headers: Sequence[tuple[str, bytes]] = ()
    origin: Any = field(default=None, compare=False, repr=False)  # the Faust event, if any


class Reason(StrEnum):
    """Why a record went to the dead-letter topic."""

    undecodable = "undecodable"  # no value, or not UTF-8
    invalid_json = "invalid_json"
    unknown_type = "unknown_type"
    invalid_event = "invalid_event"  # a CloudEvent that fails validation


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    reason: Reason
    detail: str
    problems: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Decoded:
    record: Record
    event: Event
    raw: bytes  # the event's JSON object as sent (plus its arrival stamp): what histories keep
    stamp: Stamp | None = None  # the key it came through, if an ingest stamped it


def decode(record: Record) -> Decoded | DeadLetter:
    """A validated event, or the reason it cannot be one."""
    if record.value is None:
        return DeadLetter(record, Reason.undecodable, "the record has no value")
    try:
        record.value.decode("utf-8")
    except UnicodeDecodeError as error:
        return DeadLetter(record, Reason.undecodable, f"not UTF-8: {error}")
    try:
        raw = orjson.loads(record.value)
    except orjson.JSONDecodeError as error:
        return DeadLetter(record, Reason.invalid_json, f"not JSON: {error}")
    try:
        event = parse_event(raw)
    except EventError as error:
        reason = Reason.unknown_type if error.unknown_type else Reason.invalid_event
        return DeadLetter(record, reason, str(error), tuple(error.problems))
    stamp = stamp_of(raw, record.offset)
    if stamp is None:
        return Decoded(record, event, record.value)
    return Decoded(record, event, orjson.dumps({**raw, SEQ_EXTENSION: stamp.seq}), stamp)


def dead_letter_headers(letter: DeadLetter, now: datetime | None = None) -> list[tuple[str, bytes]]:
    """The DLQ record keeps the original key and bytes as its key and value; why and where
    from go in headers, after the original headers."""
    r = letter.record
    ours = {
        "tthc.dlq.reason": letter.reason.value,
        "tthc.dlq.detail": letter.detail,
        "tthc.dlq.problems": orjson.dumps([list(p) for p in letter.problems]).decode(),
        "tthc.dlq.source": f"{r.topic}/{r.partition}/{r.offset}",
        "tthc.dlq.at": (now or datetime.now(UTC)).isoformat(),
    }
    return [*r.headers, *((k, v.encode()) for k, v in ours.items())]


# --- Histories ---------------------------------------------------------------------------------


def history_key(entity: Entity, code: str) -> str:
    return f"{entity.value}:{code}"


def entity_of(key: str) -> tuple[Entity, str]:
    entity, code = key.split(":", 1)
    return Entity(entity), code


def encode_history(raws: Sequence[bytes]) -> bytes:
    """A history as stored in the changelog: a JSON array of the events as they were sent."""
    return b"[" + b",".join(raws) + b"]"


def decode_history(value: bytes) -> tuple[History, list[bytes], list[Stamp | None]]:
    """The history, and each event's stored bytes and stamp, in history order."""
    items = orjson.loads(value)
    history = History.of(parse_event(item) for item in items)
    by_key = {
        (item["source"], item["id"]): (orjson.dumps(item), stamp_of(item, None)) for item in items
    }  # re-dumped once on a cache miss; in history order below
    kept = [by_key[e.key] for e in history.events]
    return history, [raw for raw, _ in kept], [stamp for _, stamp in kept]


@dataclass
class _Cached:
    stored_size: int
    history: History
    raws: list[bytes]
    stamps: list[Stamp | None]


class HistoryStore:
    """Histories by key over a mapping of encoded histories (a Faust table, or a dict).

    Decoding a stored history validates every event again, so decoded histories are kept in a
    bounded LRU cache, trusted while the stored value has the same size (histories only grow).
    Changed histories are held until `flush`, so a batch writes each key once.
    """

    def __init__(self, table: MutableMapping[str, bytes], cache_size: int = 10_000) -> None:
        self.table = table
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._unflushed: dict[str, bytes] = {}

    def get(self, key: str) -> History:
        return self._load(key).history

    def stamped(self, key: str) -> tuple[History, list[Stamp | None]]:
        """The history and its events' stamps, in history order."""
        cached = self._load(key)
        return cached.history, cached.stamps

    def holds(self, key: str) -> bool:
        return key in self._unflushed or bool(self.table.get(key))

    def _load(self, key: str) -> _Cached:
        stored = self._unflushed.get(key) or self.table.get(key)
        size = len(stored) if stored else 0
        cached = self._cache.get(key)
        if cached is not None and cached.stored_size == size:
            self._cache.move_to_end(key)
            return cached
        if stored:
            history, raws, stamps = decode_history(stored)
        else:
            history, raws, stamps = History(), [], []
        cached = _Cached(size, history, raws, stamps)
        self._remember(key, cached)
        return cached

    def _remember(self, key: str, cached: _Cached) -> None:
        self._cache[key] = cached
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def add(
        self, key: str, event: Event, raw: bytes, stamp: Stamp | None = None
    ) -> tuple[History, bool]:
        """The history with the event, and whether the event is new to it."""
        cached = self._load(key)
        after, at = cached.history.placed(event)
        if at is None:
            return after, False
        raws = cached.raws[:at] + [raw] + cached.raws[at:]
        stamps = cached.stamps[:at] + [stamp] + cached.stamps[at:]
        value = encode_history(raws)
        self._unflushed[key] = value
        self._remember(key, _Cached(len(value), after, raws, stamps))
        return after, True

    def flush(self, write: Callable[[str, Callable[[], None]], None]) -> None:
        """Store every changed history; `write(key, put)` runs each put where it belongs."""
        for key, value in self._unflushed.items():
            write(key, partial(self.table.__setitem__, key, value))
        self._unflushed.clear()


# --- The procedure catalogue every worker sees -------------------------------------------------


class Catalog:
    """Every procedure's history, on every worker: a dossier's facts need its procedure.

    Procedure events are keyed by procedure code, so they land on other partitions (other
    workers) than the dossiers of the procedure; the aggregator copies them to a catalog topic
    that every worker reads whole. When a procedure changes, dossier rows already written with
    the older procedure are stale: its code is marked pending until they are derived again.
    """

    def __init__(self) -> None:
        self._histories: dict[str, History] = {}
        self._states: dict[str, ProcedureState] = {}
        self.pending: set[str] = set()

    def add(self, event: Event) -> bool:
        code = event.subject
        before = self._histories.get(code, History())
        after = before.add(event)
        if after is before:
            return False
        self._histories[code] = after
        self._states.pop(code, None)
        self.pending.add(code)
        return True

    def get(self, code: str | None) -> tuple[ProcedureState | None, int]:
        """The procedure's state (None if unknown) and its history length (its version)."""
        if code is None or code not in self._histories:
            return None, 0
        state = self._states.get(code)
        if state is None:
            folded = fold(Entity.procedure, code, self._histories[code])
            assert isinstance(folded, ProcedureState)
            state = self._states[code] = folded
        return state, len(self._histories[code].events)

    def lengths(self, codes: Iterable[str]) -> dict[str, int]:
        return {code: self.get(code)[1] for code in codes}

    def __len__(self) -> int:
        return len(self._histories)


# --- Deriving facts ----------------------------------------------------------------------------


def dossier_version(dossier_events: int, procedure_events: int) -> int:
    """Ordered by the dossier's history first: while it is unchanged, its procedure is too, and
    a longer procedure history is newer."""
    return (dossier_events << PROCEDURE_VERSION_BITS) | procedure_events


PROCEDURE_EVENTS_MASK = (1 << PROCEDURE_VERSION_BITS) - 1


def procedure_events_of(version: int) -> int:
    """The procedure's history length a dossier row was derived with (see `dossier_version`)."""
    return version & PROCEDURE_EVENTS_MASK


@dataclass(frozen=True)
class Deriver:
    """Fact rows from histories, as the reference computation derives them."""

    catalog: Catalog
    calendar: WorkingCalendar
    settings: Settings

    def facts(
        self, entity: Entity, code: str, history: History, length: int | None = None
    ) -> VersionedFacts | None:
        """``length``: of the whole history kept, when ``history`` is only the part counted
        (versions grow with what is kept)."""
        state = fold(entity, code, history)
        procedure, version = None, len(history.events) if length is None else length
        if isinstance(state, DossierState):
            procedure, procedure_length = self.catalog.get(state.procedure)
            version = dossier_version(version, procedure_length)
        facts = derive(state, procedure, self.calendar, self.settings)
        return None if facts is None else VersionedFacts(facts, version)


# --- The batch step ----------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    rows: dict[Subject, list[VersionedFacts]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    catalog_events: list[Decoded] = field(default_factory=list)  # to copy to the catalog topic
    decoded: list[Decoded] = field(default_factory=list)
    resends: int = 0
    rejections: list[RejectedEvent] = field(default_factory=list)  # refused, never counted


# Runs `write` with the record's partition as the current one: a Faust table sends its
# changelog to, and a RocksDB store writes into, the partition of the current event.
InPartition = Callable[[Record, Callable[[], Any]], Any]


def _directly(record: Record, write: Callable[[], Any]) -> Any:
    return write()


class BatchProcessor:
    """decode → add to histories → store changed histories → derive facts, for one batch."""

    def __init__(
        self,
        store: HistoryStore,
        deriver: Deriver,
        in_partition: InPartition = _directly,
        gate: Gate | None = None,
    ) -> None:
        self.store = store
        self.deriver = deriver
        self.in_partition = in_partition
        self.gate = gate  # None: every event counts, whoever sent it

    def process(self, records: Iterable[Record]) -> BatchOutcome:
        outcome = BatchOutcome()
        last: dict[str, Record] = {}  # key → the batch's last record for it
        histories: dict[str, History] = {}
        owned_now: set[str] = set()  # keys whose first receipt came in this batch
        for record in records:
            decoded = decode(record)
            if isinstance(decoded, DeadLetter):
                outcome.dead_letters.append(decoded)
                continue
            event = decoded.event
            outcome.decoded.append(decoded)
            key = history_key(event.entity, event.subject)
            if self.gate is not None:
                before, stamps = self.in_partition(record, partial(self.store.stamped, key))
                rejected = self.gate.admit(before, stamps, event, decoded.stamp)
                if rejected is not None:
                    outcome.rejections.append(rejected)
                    continue
                if first_receipt(before, event):
                    owned_now.add(key)
            history, new = self.in_partition(
                record, partial(self.store.add, key, decoded.event, decoded.raw, decoded.stamp)
            )
            outcome.resends += not new
            histories[key] = history
            last[key] = record
            if event.entity is Entity.procedure:
                self.deriver.catalog.add(event)
                outcome.catalog_events.append(decoded)
        self.store.flush(lambda key, put: self.in_partition(last[key], put))
        # Every touched entity, resends included: ClickHouse may be behind the histories.
        for key, history in histories.items():
            entity, code = entity_of(key)
            row, refused = self._derive(key, entity, code, history)
            if key in owned_now:  # events that waited for the owner are judged now
                outcome.rejections += refused
            if row is not None:
                outcome.rows.setdefault(KINDS[entity].subject, []).append(row)
        return outcome

    def _derive(
        self, key: str, entity: Entity, code: str, history: History
    ) -> tuple[VersionedFacts | None, list[RejectedEvent]]:
        if self.gate is None:
            return self.deriver.facts(entity, code, history), []
        counted, refused = self.gate.counted(entity, history, self.store.stamped(key)[1])
        return self.deriver.facts(entity, code, counted, len(history.events)), refused

    def rederive_dossiers(self, codes: Iterable[str]) -> list[VersionedFacts]:
        """Rows of the given dossiers whose histories this worker holds (others: skipped)."""
        rows = []
        for code in codes:
            key = history_key(Entity.dossier, code)
            if not self.store.holds(key):
                continue
            row, _ = self._derive(key, Entity.dossier, code, self.store.get(key))
            if row is not None:
                rows.append(row)
        return rows


def event_lag_seconds(event: Event, now: float | None = None) -> float:
    """How far behind the fact's own time the aggregator is when it counts it."""
    return (now if now is not None else time.time()) - event.time.timestamp()


# --- Offsets -----------------------------------------------------------------------------------

Partition = tuple[str, int]  # (topic, partition)


class CommitTracker:
    """Which offsets of each partition may be committed: only a gap-free run of processed
    records from where the partition was (re)assigned.

    Faust can skip records around a (re)assignment and then commit past them (its gap
    tracking takes the skipped range for acknowledged): the aggregator commits itself, from
    this tracker, and reads a partition again from its first hole.
    """

    def __init__(self) -> None:
        self._next: dict[Partition, int] = {}  # first offset not yet known processed
        self._done: dict[Partition, set[int]] = {}

    def knows(self, tp: Partition) -> bool:
        return tp in self._next

    def start(self, tp: Partition, offset: int) -> None:
        """The partition is read from `offset` (its committed offset) on."""
        self._next[tp] = offset
        self._done[tp] = set()

    def forget(self, tps: Iterable[Partition]) -> None:
        for tp in tps:
            self._next.pop(tp, None)
            self._done.pop(tp, None)

    def processed(self, tp: Partition, offsets: Iterable[int]) -> None:
        start = self._next[tp]
        self._done[tp].update(o for o in offsets if o >= start)

    def advance(self) -> dict[Partition, int]:
        """The new commit position (next offset to read) of each partition that moved."""
        moved = {}
        for tp, done in self._done.items():
            position = self._next[tp]
            while position in done:
                done.discard(position)
                position += 1
            if position != self._next[tp]:
                self._next[tp] = position
                moved[tp] = position
        return moved

    def holes(self) -> dict[Partition, int]:
        """Partitions with records processed past one that never came: where to read again."""
        return {tp: self._next[tp] for tp, done in self._done.items() if done}
