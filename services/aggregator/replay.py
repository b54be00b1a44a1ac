"""`tthc replay`: rebuild the ClickHouse facts from the whole Kafka log.

After a methodology profile change (deadlines, thresholds) or a lost database: empty the facts
tables, read the events topic from its start to its end as it is when the replay starts (a plain
consumer: no group, nothing committed, running workers are not disturbed), fold every event into
its entity's history, then write every entity's fact row in batches. Rows carry the worker's
versions, so a worker running meanwhile writes rows that collapse with these.

An event the worker would have dead-lettered for a reason of its own (its history cannot take
it, no row can be derived with it, ClickHouse refuses the row) is left out here too and counted
by reason: the entity's row is derived again event by event, keeping those that fit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from services.aggregator.heap import Heap, release
from services.aggregator.processing import (
    Catalog,
    Decoded,
    Deriver,
    Reason,
    Record,
    decode,
    entity_of,
    history_key,
)
from services.aggregator.rejections import Gate, RejectedEvent, Stamp, insert_rejections
from services.aggregator.writer import blames_the_data
from services.storage.clickhouse import (
    Client,
    VersionedFacts,
    clickhouse_client,
    insert_facts,
    migrate,
    truncate_facts,
)
from services.storage.schema import SINGLE_NODE, Layout
from services.storage.windows import rebuild_windows
from tthc.calendar import WorkingCalendar
from tthc.events import Entity
from tthc.facts import KINDS
from tthc.measures import Subject
from tthc.profile import load_profile
from tthc.state import History
from tthc.units import load_units

_EMPTY = History()


@dataclass
class ReplayResult:
    records: int = 0
    events: int = 0  # distinct events; resends of an event are counted once
    dead_letters: Counter[Reason] = field(default_factory=Counter)
    rows: Counter[Subject] = field(default_factory=Counter)

    def summary(self) -> str:
        rows = ", ".join(f"{n} {subject.value}" for subject, n in sorted(self.rows.items()))
        bad = sum(self.dead_letters.values())
        return (
            f"{self.records} records read, {self.events} distinct events, {bad} invalid; "
            f"rows written: {rows or 'none'}"
        )


class Replay:
    """Fold the whole log into histories, then write every fact row."""

    def __init__(
        self,
        client: Client,
        profile: Path | None = None,
        batch_rows: int = 5000,
        units: str = "dong-nai",
    ):
        self.client = client
        self.batch_rows = batch_rows
        self.catalog = Catalog()
        # Every history stays decoded, and only decoded: nothing is stored to recover from (a
        # failed replay starts again), so the worker's HistoryStore, which keeps each history
        # encoded for its changelog too, would only triple the memory. Memory still grows with
        # the log; a replay per partition would bound it.
        self.histories: dict[str, History] = {}
        self.stamps: dict[str, list[Stamp | None]] = {}  # beside each history, as the worker
        self.gate = Gate(load_units(units))
        self.rejected: list[RejectedEvent] = []
        self.deriver = Deriver(self.catalog, WorkingCalendar(), load_profile(profile).settings)
        self.result = ReplayResult()
        self.heap = Heap()

    def add(self, records: list[Record]) -> None:
        for record in records:
            self.result.records += 1
            decoded = decode(record)
            if not isinstance(decoded, Decoded):
                self.result.dead_letters[decoded.reason] += 1
                continue
            event = decoded.event
            key = history_key(event.entity, event.subject)
            before, stamps = self.histories.get(key, _EMPTY), self.stamps.get(key, [])
            rejected = self.gate.admit(before, stamps, event, decoded.stamp)
            if rejected is not None:
                self.rejected.append(rejected)
                continue
            try:
                after, at = before.placed(event)
            except Exception:  # the event's own fault, as in the worker's fold
                self.result.dead_letters[Reason.fold_failed] += 1
                continue
            if at is not None:  # None: a resend, already in the history
                self.histories[key] = after
                self.stamps[key] = stamps[:at] + [decoded.stamp] + stamps[at:]
                self.result.events += 1
            if event.entity is Entity.procedure:
                self.catalog.add(event)
        self.heap.settle()

    def write(self, advance: Callable[[int], None] = lambda n: None) -> None:
        """Every entity's row, once every procedure is known; one insert per table per batch."""
        rows: dict[Subject, list[tuple[str, VersionedFacts]]] = {}
        pending = 0
        for key, history in self.histories.items():
            entity, code = entity_of(key)
            advance(1)
            try:
                counted, refused = self.gate.counted(entity, history, self.stamps[key])
                row = self.deriver.facts(entity, code, counted, len(history.events))
            except Exception:  # the events' own fault, as in the worker's derivation
                self._salvage(key, Reason.derivation_failed)
                continue
            self.rejected += refused
            if row is None:
                continue
            rows.setdefault(KINDS[entity].subject, []).append((key, row))
            pending += 1
            if pending >= self.batch_rows:
                self._insert(rows)
                rows, pending = {}, 0
        self._insert(rows)
        insert_rejections(self.client, self.rejected)

    def _insert(self, rows: dict[Subject, list[tuple[str, VersionedFacts]]]) -> None:
        """Insert the rows; when ClickHouse refuses some as data, halve until they are found."""
        try:
            insert_facts(self.client, {s: [row for _, row in keyed] for s, keyed in rows.items()})
        except Exception as error:
            if not blames_the_data(error):
                raise
            keyed = [(subject, pair) for subject, pairs in rows.items() for pair in pairs]
            if len(keyed) == 1:
                self._salvage(keyed[0][1][0], Reason.insert_rejected)
                return
            for half in (keyed[: len(keyed) // 2], keyed[len(keyed) // 2 :]):
                part: dict[Subject, list[tuple[str, VersionedFacts]]] = {}
                for subject, pair in half:
                    part.setdefault(subject, []).append(pair)
                self._insert(part)
            return
        for subject, written in rows.items():
            self.result.rows[subject] += len(written)

    def _leave_out(self, reason: Reason) -> None:
        self.result.dead_letters[reason] += 1
        self.result.events -= 1

    def _salvage(self, key: str, reason: Reason) -> None:
        """The entity's row without the event at fault (`reason`: no row can be derived, or
        ClickHouse refuses it), found by leaving each event out in turn. When no single event
        is at fault, none of the entity's is counted."""
        entity, code = entity_of(key)
        events = self.histories[key].events
        for i in range(len(events)):
            rest = History.of(events[:i] + events[i + 1 :])
            if self._try_row(entity, code, rest) is None:
                self._leave_out(reason)
                self.histories[key] = rest
                self.result.rows[KINDS[entity].subject] += 1
                return
        for _ in events:
            self._leave_out(reason)
        self.histories[key] = _EMPTY

    def _try_row(self, entity: Entity, code: str, history: History) -> Reason | None:
        """Derive and insert the entity's row; None when it went in (or there is none)."""
        try:
            row = self.deriver.facts(entity, code, history)
        except Exception:  # the events' own fault, as in the worker's derivation
            return Reason.derivation_failed
        if row is not None:
            try:
                insert_facts(self.client, {KINDS[entity].subject: [row]})
            except Exception as error:
                if not blames_the_data(error):
                    raise  # ClickHouse itself: the replay fails, and is run again
                return Reason.insert_rejected
        return None


async def _read_log(
    bootstrap: str, topic: str, on_batch: Callable[[list[Record]], None], progress: Progress
) -> None:
    """Every record from the start of each partition to its end when the replay started."""
    consumer = AIOKafkaConsumer(
        topic,  # no group: every partition is assigned to this consumer
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*tps)
        start = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        task = progress.add_task("reading the log", total=sum(end[t] - start[t] for t in tps))
        remaining = {tp for tp in tps if end[tp] > start[tp]}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            batch = []
            for tp, messages in fetched.items():
                batch += [
                    Record(m.value, m.key, m.topic, m.partition, m.offset)
                    for m in messages
                    if m.offset < end[tp]
                ]
                if messages and messages[-1].offset >= end[tp] - 1:
                    remaining.discard(tp)
            on_batch(batch)
            progress.advance(task, len(batch))
    finally:
        await consumer.stop()


def replay(
    *,
    kafka_bootstrap: str,
    topic: str,
    clickhouse_url: str,
    layout: Layout = SINGLE_NODE,
    profile: Path | None = None,
    units: str = "dong-nai",
    console: Console | None = None,
) -> ReplayResult:
    """Empty the facts tables and rebuild them from the log, then the windows; print progress
    and a count."""
    console = console or Console(stderr=True)
    client = clickhouse_client(clickhouse_url)
    try:
        migrate(client, layout)
        truncate_facts(client, layout)
        job = Replay(client, profile, units=units)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        with progress:
            asyncio.run(_read_log(kafka_bootstrap, topic, job.add, progress))
            task = progress.add_task("writing facts", total=len(job.histories))
            job.write(lambda n: progress.advance(task, n))
        rebuild_windows(client, layout)  # the facts by day and the windows, from the new facts
        console.print(job.result.summary())
        return job.result
    finally:
        release()
        client.close()
