"""The Faust worker: events topic → histories (changelog tables) → facts in ClickHouse.

Commit protocol, per batch (`noack_take`: size or time, whichever comes first):

1. decode and validate every record; poison goes to the dead-letter topic (delivery awaited);
2. add each event to its entity's history (a Faust table, changelog-backed, written in the
   record's own partition, once per key per batch);
3. copy procedure events to the catalog topic (delivery awaited), which every worker reads;
4. derive the fact row of every entity the batch touched, resends included, and write them,
   one insert per facts table, retried until ClickHouse has them;
5. only then acknowledge the batch's records; Faust commits acknowledged offsets after it has
   flushed the changelog, never an offset whose record is not in ClickHouse.

A crash anywhere redelivers the records after the last commit; histories ignore them (same
(source, id)), and their rows are written again with the same versions: the same result.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faust
import faust.streams
from aiokafka import AIOKafkaConsumer
from faust.types import TP
from kafka.admin import KafkaAdminClient

from services.aggregator.heap import Heap
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.processing import (
    BatchOutcome,
    BatchProcessor,
    Catalog,
    CommitTracker,
    Decoded,
    Deriver,
    HistoryStore,
    Record,
    dead_letter_headers,
    decode,
    event_lag_seconds,
)
from services.aggregator.rejections import Gate
from services.aggregator.settings import AggregatorSettings
from services.aggregator.topics import ensure_topics
from services.aggregator.writer import FactsWriter
from services.observability import get_logger
from services.storage.clickhouse import Client, clickhouse_client, migrate
from tthc.calendar import WorkingCalendar
from tthc.measures import Subject
from tthc.profile import load_profile
from tthc.units import load_units

log = get_logger("aggregator")

HISTORIES_TABLE = "histories"
REREAD_AFTER_SECONDS = 5.0  # before seeking again to the same hole


def _in_partition(record: Record, write: Callable[[], Any]) -> Any:
    """Run a table read or write as if `record`'s event were the current one: Faust's tables
    and stores pick the changelog partition and the RocksDB partition from the current event,
    and in a batch the current event is some other record's."""
    token = faust.streams._current_event.set(weakref.ref(record.origin))
    try:
        return write()
    finally:
        faust.streams._current_event.reset(token)


async def _no_commit(*args: Any, **kwargs: Any) -> bool:
    return False


def _forget_acks(consumer: Any, committed: dict[TP, int]) -> None:
    """Faust keeps every acknowledged offset until its own commit, which is switched off."""
    for tp, offset in committed.items():
        acked = consumer._acked.get(tp)
        if acked:
            acked[:] = [o for o in acked if o >= offset]
        index = consumer._acked_index.get(tp)
        if index:
            index.difference_update([o for o in index if o < offset])


def _offsets_by_partition(records: Sequence[Record]) -> dict[tuple[str, int], list[int]]:
    found: dict[tuple[str, int], list[int]] = {}
    for r in records:
        found.setdefault((r.topic, r.partition), []).append(r.offset)
    return found


def _record(event: faust.EventT[bytes]) -> Record:
    message = event.message
    headers = message.headers
    if isinstance(headers, Mapping):
        headers = list(headers.items())
    return Record(
        value=message.value,
        key=message.key,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        headers=tuple(headers or ()),
        origin=event,
    )


@dataclass
class Progress:
    batches: int = 0
    last_batch_at: float | None = None


class Aggregator:
    """The worker's parts, wired to one Faust app."""

    def __init__(self, settings: AggregatorSettings, client: Client | None = None) -> None:
        self.settings = settings
        self.metrics = AggregatorMetrics()
        self.client = client or clickhouse_client(settings.clickhouse_url)
        applied = migrate(self.client, settings.layout)
        if applied:
            log.info("clickhouse migrated", versions=applied)
        profile = load_profile(settings.profile)
        self.catalog = Catalog()
        self.deriver = Deriver(self.catalog, WorkingCalendar(), profile.settings)
        self.writer = FactsWriter(self.client, self.metrics, settings.write_retry_max_seconds)
        self.partitions = ensure_topics(settings)
        self.progress = Progress()
        self.catalog_ready = asyncio.Event()
        self.lock = asyncio.Lock()  # batches and re-derivations write one at a time
        self.offsets = CommitTracker()
        self.heap = Heap()
        self._reread: dict[tuple[str, int], tuple[int, float]] = {}
        self.app = self._app()

    def _app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.app_id,
            broker=f"kafka://{s.kafka_bootstrap}",
            store=s.store,
            datadir=str(s.data_dir),
            topic_partitions=self.partitions,
            topic_replication_factor=s.replication_factor,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=s.session_timeout,
            broker_heartbeat_interval=min(3.0, s.session_timeout / 3),
            web_enabled=True,
            # Only /healthz and /metrics: Faust's own views would serve any dossier's raw
            # history (/table/histories/…), the partition router and the worker's statistics.
            web_router_enabled=False,
            web_tables_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_metrics_enabled=False,
            web_bind=s.http_host,
            web_port=s.http_port,
            web_in_thread=False,
            autodiscover=False,
            producer_acks=-1,
            stream_buffer_maxsize=max(4096, s.batch_size * 2),
            table_cleanup_interval=3600.0,
        )

        def raw_topic(name: str) -> faust.TopicT:
            return app.topic(name, key_serializer="raw", value_serializer="raw")

        events = raw_topic(s.topic)
        self.dead_letters = raw_topic(s.dlq_topic)
        self.catalog_topic = raw_topic(s.catalog)
        histories = app.Table(
            HISTORIES_TABLE, partitions=self.partitions, key_type=str, value_type=bytes
        )
        # Faust derives serializers from the types (json for both): the changelog must carry the
        # encoded histories as they are, or recovery hands back decoded JSON instead of bytes.
        histories.value_serializer = "raw"  # type: ignore[attr-defined]  # Table's, not TableT's
        self.store = HistoryStore(histories, s.history_cache_size)
        self.processor = BatchProcessor(
            self.store, self.deriver, _in_partition, Gate(load_units(s.units))
        )

        @app.agent(events)
        async def aggregate(stream: faust.StreamT[bytes]) -> None:
            # Faust's own commits can pass records it skipped around a rebalance: the aggregator
            # commits itself (see `commit`), so Faust's committer does nothing. (Set here, in the
            # running loop: touching app.consumer earlier binds the app to the wrong loop.)
            app.consumer.commit = _no_commit  # type: ignore[method-assign]
            await self.catalog_ready.wait()
            takes = stream.noack_take  # type: ignore[attr-defined]  # Stream's, not StreamT's
            async for batch in takes(s.batch_size, within=s.batch_seconds):
                try:
                    async with self.lock:
                        await self.handle(batch)
                except Exception as error:
                    # A restarted agent would go on past this unacknowledged batch, and the
                    # commit would stall behind it: stop the worker, the records come again.
                    log.critical("batch failed; stopping the worker", error=repr(error))
                    await app.crash(error)
                    raise
                for event in batch:
                    await stream.ack(event)
                await self.commit()
                self.heap.settle()

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types sync handlers
        async def revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
            self.offsets.forget(revoked)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types sync handlers
        async def assigned(sender: Any, assigned: set[TP], **kwargs: Any) -> None:
            self.offsets.forget(assigned)  # read their committed offsets again

        @app.task  # type: ignore[untyped-decorator]  # Faust's decorators are untyped
        async def follow_catalog() -> None:
            try:
                await self.follow_catalog()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # without the catalog the worker cannot go on
                log.critical("catalog reader failed", error=repr(error))
                await app.crash(error)

        @app.timer(s.reconcile_seconds)  # type: ignore[untyped-decorator]
        async def reconcile() -> None:
            if self.catalog.pending and self.catalog_ready.is_set():
                async with self.lock:
                    await self.reconcile()

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            body = self.health_report()
            return web.json(body, status=200 if body["status"] == "ok" else 503)

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            payload, content_type = self.metrics.render()
            return web.bytes(payload, content_type=content_type.split(";")[0])

        return app

    # --- The batch step ----------------------------------------------------------------------

    async def handle(self, batch: Sequence[faust.EventT[bytes]]) -> BatchOutcome:
        records = [_record(event) for event in batch]
        await self._start_partitions({(r.topic, r.partition) for r in records})
        outcome = self.processor.process(records)
        sends = [
            await self.dead_letters.send(
                key=letter.record.key,
                value=letter.record.value or b"",
                headers=dead_letter_headers(letter),
            )
            for letter in outcome.dead_letters
        ]
        sends += [
            await self.catalog_topic.send(key=d.event.subject.encode(), value=d.raw)
            for d in outcome.catalog_events
        ]
        await asyncio.gather(*sends)  # delivered before the batch is acknowledged
        await self.writer.write(outcome.rows)
        await self.writer.write_rejections(outcome.rejections)
        for tp, offsets in _offsets_by_partition(records).items():
            self.offsets.processed(tp, offsets)
        self._observe(records, outcome)
        return outcome

    # --- Offsets -----------------------------------------------------------------------------

    async def _start_partitions(self, tps: set[tuple[str, int]]) -> None:
        """Where each newly seen partition was committed: its records count from there.

        A committed offset behind the start of the log (records deleted by retention, or a
        topic made again) cannot be read from: the consumer itself goes on from the log start,
        and so does the count, said loudly, since what those records held is missing from
        the facts until a replay of a complete log.
        """
        new = [tp for tp in tps if not self.offsets.knows(tp)]
        if not new:
            return
        committed = await asyncio.to_thread(self._committed_offsets)
        earliest = await self.app.consumer.earliest_offsets(*(TP(*tp) for tp in new))
        for tp in new:
            log_start = earliest.get(TP(*tp), 0)
            start = committed.get(tp, log_start)
            if start < log_start:
                log.critical(
                    "committed offset behind the start of the log: the records between were "
                    "deleted and are not counted; going on from the log start",
                    partition=tp,
                    committed=start,
                    log_start=log_start,
                )
                self.metrics.lost_records.labels(tp[0], str(tp[1])).inc(log_start - start)
                start = log_start
            self.offsets.start(tp, start)

    def _committed_offsets(self) -> dict[tuple[str, int], int]:
        admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        try:
            offsets = admin.list_group_offsets(self.settings.app_id).get(self.settings.app_id, {})
        finally:
            admin.close()
        return {(tp.topic, tp.partition): o.offset for tp, o in offsets.items() if o.offset >= 0}

    async def commit(self) -> None:
        """Commit each partition up to its gap-free processed run, after the changelog is
        flushed; read again from any hole Faust left."""
        moved = self.offsets.advance()
        if moved:
            await self.app.producer.flush()
            positions = {TP(*tp): offset for tp, offset in moved.items()}
            await self.app.consumer._commit(positions)  # type: ignore[attr-defined]  # Consumer's
            _forget_acks(self.app.consumer, positions)
        now = time.monotonic()
        for tp, offset in self.offsets.holes().items():
            last = self._reread.get(tp)
            if last is None or last[0] != offset or now - last[1] > REREAD_AFTER_SECONDS:
                log.warning(
                    "records skipped by the consumer; reading again", partition=tp, offset=offset
                )
                self._reread[tp] = (offset, now)
                await self.app.consumer.seek(TP(*tp), offset)

    def _observe(self, records: Sequence[Record], outcome: BatchOutcome) -> None:
        m = self.metrics
        m.batch_size.observe(len(records))
        now = time.time()
        for decoded in outcome.decoded:
            m.event_lag.observe(max(0.0, event_lag_seconds(decoded.event, now)))
        # one labelled child per type and batch, not per event: `labels` is a locked lookup
        for event_type, count in Counter(d.event.type for d in outcome.decoded).items():
            m.events.labels(event_type).inc(count)
        m.resends.inc(outcome.resends)
        for reason, count in Counter(r.reason for r in outcome.rejections).items():
            m.rejected.labels(reason).inc(count)
        for letter in outcome.dead_letters:
            m.dead_letters.labels(letter.reason.value).inc()
            log.warning(
                "dead letter",
                reason=letter.reason.value,
                detail=letter.detail[:500],
                source=f"{letter.record.topic}/{letter.record.partition}/{letter.record.offset}",
            )
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(r.offset, last.get((r.topic, r.partition), -1))
        consumer = self.app.consumer
        for (topic, partition), offset in last.items():
            highwater = consumer.highwater(TP(topic, partition))
            if highwater is not None:
                m.consumer_lag.labels(topic, str(partition)).set(max(0, highwater - offset - 1))
        self.progress.batches += 1
        self.progress.last_batch_at = now

    # --- The catalog -------------------------------------------------------------------------

    async def follow_catalog(self) -> None:
        """Read the catalog topic from its start, then follow it; ready once caught up."""
        s = self.settings
        # No group: every worker reads every partition, from the start, committing nothing.
        consumer = AIOKafkaConsumer(
            s.catalog,
            bootstrap_servers=s.kafka_bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while not consumer.assignment():  # until the topic's metadata is in
                await asyncio.sleep(0.1)
            tps = sorted(consumer.assignment())
            end = await consumer.end_offsets(tps)
            while True:
                if not self.catalog_ready.is_set():
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(p >= end[tp] for p, tp in zip(positions, tps, strict=True)):
                        self.catalog_ready.set()
                        log.info("catalog loaded", procedures=len(self.catalog))
                fetched = await consumer.getmany(timeout_ms=500)
                for messages in fetched.values():
                    for message in messages:
                        decoded = decode(Record(message.value))
                        if isinstance(decoded, Decoded):
                            self.catalog.add(decoded.event)
                self.metrics.catalog_procedures.set(len(self.catalog))
        finally:
            await consumer.stop()

    async def reconcile(self) -> int:
        """Derive again the local dossiers written with an older state of their procedure."""
        codes = sorted(self.catalog.pending)
        self.catalog.pending.clear()  # a change that arrives meanwhile marks its code again
        stale = await self.writer.stale_dossiers(self.catalog.lengths(codes))
        rows = self.processor.rederive_dossiers(stale)
        await self.writer.write({Subject.dossier: rows})
        self.metrics.rederived.inc(len(rows))
        if rows:
            log.info("dossiers derived again", procedures=len(codes), dossiers=len(rows))
        return len(rows)

    # --- Health ------------------------------------------------------------------------------

    def health_report(self) -> dict[str, Any]:
        failing = self.writer.failures_in_a_row
        ok = self.catalog_ready.is_set() and failing == 0
        return {
            "status": "ok" if ok else "unavailable",
            "catalog_ready": self.catalog_ready.is_set(),
            "catalog_procedures": len(self.catalog),
            "pending_procedures": len(self.catalog.pending),
            "clickhouse_failures_in_a_row": failing,
            "batches": self.progress.batches,
            "last_batch_at": self.progress.last_batch_at,
        }
