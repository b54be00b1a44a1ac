"""The aggregator's steps, free of Faust: decode → fold into histories → derive versioned facts
→ write, and what decides that a run of dead letters must stop the worker.

A batch of Kafka records goes through `BatchProcessor.process`: each record is decoded and
validated (or becomes a dead letter), added to its entity's history (idempotent: a resend
changes nothing), every entity the batch touched gets its fact row derived again, even for a
resend, because after a crash the histories (changelog) may be ahead of ClickHouse, and the
rows are written. A record whose fold, derivation or insert fails for a reason of its own is
found by taking the batch's changes back and splitting it, and becomes a dead letter too.
The Faust agent and the unit tests drive these steps; the replay, its decoding and derivation.

Versions make every write idempotent and order-free: a fact row's version grows with the
history it was derived from, so whichever write lands last, ClickHouse keeps the row derived
from the most events. A dossier's row also depends on its procedure (time limit, online level),
so its version is (dossier history length, procedure history length) packed into 64 bits.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
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
    # A valid event that its entity's history cannot take (fold), that no fact row can be
    # derived from (derivation), or whose row ClickHouse refuses (insert): found by splitting
    # its batch until it is alone.
    fold_failed = "fold_failed"
    derivation_failed = "derivation_failed"
    insert_rejected = "insert_rejected"


class Rejected(Exception):
    """The records at hand cannot be processed for a reason of their own (not an outage)."""

    def __init__(self, reason: Reason, cause: BaseException) -> None:
        super().__init__(f"{reason.value}: {cause!r}")
        self.reason = reason
        self.cause = cause


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

    def rollback(self) -> None:
        """Forget the changes not yet flushed: the records that made them are taken again."""
        for key in self._unflushed:
            self._cache.pop(key, None)
        self._unflushed.clear()

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
        self._tentative: list[Event] = []  # added by a batch step not yet settled

    def add(self, event: Event, *, tentative: bool = False) -> bool:
        """Take a procedure event; a `tentative` one is taken back by `rollback`."""
        code = event.subject
        before = self._histories.get(code, History())
        after = before.add(event)
        if after is before:
            return False
        self._histories[code] = after
        self._states.pop(code, None)
        self.pending.add(code)
        if tentative:
            self._tentative.append(event)
        return True

    def settle(self) -> None:
        self._tentative.clear()

    def rollback(self) -> None:
        """Take back the tentative events, and only them: the catalog topic's reader may have
        added others meanwhile."""
        for code in {e.subject for e in self._tentative}:
            taken = {e.key for e in self._tentative if e.subject == code}
            kept = [e for e in self._histories[code].events if e.key not in taken]
            if kept:
                self._histories[code] = History.of(kept)
            else:
                del self._histories[code]
            self._states.pop(code, None)
        self._tentative.clear()

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

    def merge(self, part: BatchOutcome) -> None:
        for subject, rows in part.rows.items():
            self.rows.setdefault(subject, []).extend(rows)
        self.catalog_events += part.catalog_events
        self.decoded += part.decoded
        self.resends += part.resends
        self.rejections += part.rejections


# Runs `write` with the record's partition as the current one: a Faust table sends its
# changelog to, and a RocksDB store writes into, the partition of the current event.
InPartition = Callable[[Record, Callable[[], Any]], Any]
# Writes a part's rows to ClickHouse; raises `Rejected` when ClickHouse refuses them as data.
WriteRows = Callable[[Mapping[Subject, Sequence[VersionedFacts]]], Awaitable[None]]


def _directly(record: Record, write: Callable[[], Any]) -> Any:
    return write()


async def _no_write(rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
    return None


@dataclass
class _Folded:
    """A part of a batch folded into the histories, not yet flushed."""

    outcome: BatchOutcome
    histories: dict[str, History]
    last: dict[str, Record]  # key → the part's last record for it
    owned_now: set[str] = field(default_factory=set)  # keys whose first receipt is in the part
    fresh: set[str] = field(default_factory=set)  # keys with no history before the part


class BatchProcessor:
    """decode → fold into histories → derive facts → write → keep, for one batch.

    A part of the batch is kept (its histories flushed, its procedure events settled in the
    catalog) only once its rows are written; a part in which some record fails for a reason of
    its own is taken back and split in two, down to the record, which becomes a dead letter.
    Anything else (ClickHouse down, a bug everywhere) is raised: the batch stays unacknowledged.
    """

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

    async def process(
        self, records: Iterable[Record], write: WriteRows = _no_write
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        good: list[Decoded] = []
        for record in records:
            decoded = decode(record)
            if isinstance(decoded, DeadLetter):
                outcome.dead_letters.append(decoded)
            else:
                good.append(decoded)
        await self._in_good_parts(good, write, outcome)
        outcome.dead_letters.sort(
            key=lambda d: (d.record.topic, d.record.partition, d.record.offset)
        )
        return outcome

    async def _in_good_parts(
        self, part: Sequence[Decoded], write: WriteRows, outcome: BatchOutcome
    ) -> None:
        if not part:
            return
        try:
            folded = self._fold(part)
            rows = self._derive(folded)
            await write(rows)
        except Rejected as rejected:
            self.store.rollback()
            self.deriver.catalog.rollback()
            if len(part) == 1:
                outcome.dead_letters.append(
                    DeadLetter(part[0].record, rejected.reason, repr(rejected.cause))
                )
                return
            middle = len(part) // 2
            await self._in_good_parts(part[:middle], write, outcome)
            await self._in_good_parts(part[middle:], write, outcome)
            return
        self.store.flush(lambda key, put: self.in_partition(folded.last[key], put))
        self.deriver.catalog.settle()
        folded.outcome.rows = rows
        outcome.merge(folded.outcome)

    def _fold(self, part: Sequence[Decoded]) -> _Folded:
        folded = _Folded(BatchOutcome(), {}, {})
        for decoded in part:
            event = decoded.event
            key = history_key(event.entity, event.subject)
            folded.outcome.decoded.append(decoded)
            try:
                if self.gate is not None:
                    before, stamps = self.in_partition(
                        decoded.record, partial(self.store.stamped, key)
                    )
                    rejected = self.gate.admit(before, stamps, event, decoded.stamp)
                    if rejected is not None:  # never counted: recorded with its reason
                        folded.outcome.rejections.append(rejected)
                        continue
                    if first_receipt(before, event):
                        folded.owned_now.add(key)
                if (
                    key not in folded.histories
                    and not self.in_partition(decoded.record, partial(self.store.get, key)).events
                ):
                    folded.fresh.add(key)
                history, new = self.in_partition(
                    decoded.record,
                    partial(self.store.add, key, decoded.event, decoded.raw, decoded.stamp),
                )
                if event.entity is Entity.procedure:
                    self.deriver.catalog.add(event, tentative=True)
            except Exception as error:  # this event's own fault: the part is split to find it
                raise Rejected(Reason.fold_failed, error) from error
            folded.outcome.resends += not new
            folded.histories[key] = history
            folded.last[key] = decoded.record
            if event.entity is Entity.procedure:
                folded.outcome.catalog_events.append(decoded)
        return folded

    def _derive(self, folded: _Folded) -> dict[Subject, list[VersionedFacts]]:
        """Every touched entity's row, resends included: ClickHouse may be behind the histories."""
        rows: dict[Subject, list[VersionedFacts]] = {}
        for key, history in folded.histories.items():
            entity, code = entity_of(key)
            try:
                row, refused = self._facts(key, entity, code, history)
            except Exception as error:  # as in `_fold`
                raise Rejected(Reason.derivation_failed, error) from error
            if key in folded.owned_now:  # events that waited for the owner are judged now
                folded.outcome.rejections += refused
            if row is not None:
                if key in folded.fresh:
                    row = dataclass_replace(row, fresh=True)
                rows.setdefault(KINDS[entity].subject, []).append(row)
        return rows

    def _facts(
        self, key: str, entity: Entity, code: str, history: History
    ) -> tuple[VersionedFacts | None, list[RejectedEvent]]:
        """The entity's row from the events its owner's keys may write; and the others."""
        if self.gate is None:
            return self.deriver.facts(entity, code, history), []
        counted, refused = self.gate.counted(entity, history, self.store.stamped(key)[1])
        return self.deriver.facts(entity, code, counted, len(history.events)), refused

    def rederive_dossiers(self, codes: Iterable[str]) -> list[VersionedFacts]:
        """Rows of the given dossiers whose histories this worker holds (others: skipped, and
        so is one whose row cannot be derived: its batch dead-lettered the event at fault)."""
        rows = []
        for code in codes:
            key = history_key(Entity.dossier, code)
            if not self.store.holds(key):
                continue
            try:
                row, _ = self._facts(key, Entity.dossier, code, self.store.get(key))
            except Exception:
                continue
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
        """Records of `tp` are written. A partition revoked while its batch ran is no longer
        tracked: nothing is committed for it, and its new owner reads from the committed offset."""
        if tp not in self._next:
            return
        start = self._next[tp]
        self._done[tp].update(o for o in offsets if o >= start)

    def committable(self) -> dict[Partition, int]:
        """The commit position (next offset to read) each partition may move to now; the
        tracker moves once the broker has taken it (`committed`)."""
        moves = {}
        for tp, done in self._done.items():
            position = self._next[tp]
            while position in done:
                position += 1
            if position != self._next[tp]:
                moves[tp] = position
        return moves

    def committed(self, positions: Mapping[Partition, int]) -> None:
        """The broker holds these commit positions. A commit it refused (a rebalance under way)
        moves nothing: the positions are offered again, and are never taken for committed
        while the group would read the partition again from further back."""
        for tp, position in positions.items():
            if tp in self._next and position > self._next[tp]:
                self._next[tp] = position
                self._done[tp] = {o for o in self._done[tp] if o >= position}

    def positions(self) -> dict[Partition, int]:
        """Each partition's first offset not yet known processed (its commit position)."""
        return dict(self._next)

    def uncommitted(self) -> set[Partition]:
        """Partitions with records written but not yet committed."""
        return {tp for tp, done in self._done.items() if done}

    def holes(self) -> dict[Partition, int]:
        """Partitions with records processed past one that never came: where to read again."""
        return {
            tp: self._next[tp]
            for tp, done in self._done.items()
            if done and self._next[tp] not in done  # in it: a commit still to be taken
        }


class SilenceWatch:
    """Which held partitions no batch has brought a record of for `seconds`.

    After a rebalance Faust can hold a partition and never read it again (a fetch it dropped
    had moved the position past the records, see `faust_adapter`): its records wait forever
    while the others are counted. A silent partition with records left to read is read again
    from its commit position. Silence is measured only
    across the worker's ticks: while a batch runs long (ClickHouse down) nothing is fetched,
    so a gap between ticks longer than `seconds` starts every partition's silence again.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._heard: dict[Partition, float] = {}  # when each was last heard from (monotonic)
        self._tick: float | None = None

    def heard(self, tps: Iterable[Partition], now: float) -> None:
        """Records of these partitions came (or they were read again, and are given time)."""
        for tp in tps:
            self._heard[tp] = now

    def forget(self, tps: Iterable[Partition]) -> None:
        for tp in tps:
            self._heard.pop(tp, None)

    def silent(self, held: Iterable[Partition], now: float) -> list[Partition]:
        """The held partitions silent for longer than `seconds`, at a tick; a partition held
        for the first time starts its silence now."""
        if self._tick is not None and now - self._tick > self.seconds:
            self._heard = dict.fromkeys(self._heard, now)
        self._tick = now
        found = []
        for tp in sorted(held):
            since = self._heard.setdefault(tp, now)
            if now - since > self.seconds:
                found.append(tp)
        return found


# --- When dead letters mean that something is wrong with everything ----------------------------


class TooManyDeadLetters(RuntimeError):
    """Records fail systematically (a wrong topic, a broken schema, a bug): stop the worker."""


@dataclass
class DeadLetterPolicy:
    """Whether the worker may go on after a batch's dead letters, as Arroyo's `DlqLimit`.

    It stops when more than `max_in_a_row` records in a row were dead letters, or when, after
    at least `ratio_after` records since the start, more than `max_ratio` of them were; None
    switches a limit off. A stopped worker has committed nothing of the batch that tripped it.
    """

    max_ratio: float | None = 0.5
    max_in_a_row: int | None = 1000
    ratio_after: int = 1000
    seen: int = 0
    bad: int = 0
    in_a_row: int = 0

    def judge(self, records: Sequence[Record], letters: Sequence[DeadLetter]) -> None:
        """Count the batch; raise `TooManyDeadLetters` when a limit is passed."""
        dead = {(d.record.topic, d.record.partition, d.record.offset) for d in letters}
        for r in records:
            self.seen += 1
            if (r.topic, r.partition, r.offset) in dead:
                self.bad += 1
                self.in_a_row += 1
                if self.max_in_a_row is not None and self.in_a_row > self.max_in_a_row:
                    raise TooManyDeadLetters(
                        f"{self.in_a_row} dead letters in a row (limit {self.max_in_a_row})"
                    )
            else:
                self.in_a_row = 0
        ratio = self.bad / self.seen if self.seen else 0.0
        if self.max_ratio is not None and self.seen >= self.ratio_after and ratio > self.max_ratio:
            raise TooManyDeadLetters(
                f"{self.bad} of {self.seen} records were dead letters "
                f"({ratio:.0%}, limit {self.max_ratio:.0%})"
            )
