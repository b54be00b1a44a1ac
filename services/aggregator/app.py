"""The Faust worker: events topic → histories (changelog tables) → facts in ClickHouse.

Faust delivers the records, keeps the histories (a table with its changelog) and runs the
timers and the web page; the aggregator commits offsets itself (Faust's committer is switched
off: see `faust_adapter`, the one module that touches Faust's internals). Per batch
(`noack_take`: size or time, whichever comes first), in steps:

1. decode: every record is decoded and validated; one that is not a valid event becomes a
   dead letter;
2. fold: each event joins its entity's history (once per key per batch in the table);
3. derive: the fact row of every entity the batch touched, resends included;
4. stage: the rows by (unit, day), retried while ClickHouse itself fails (down, full).
   A record whose fold, derivation or insert fails for a reason of its own is found by splitting
   the batch (`BatchProcessor`) and becomes a dead letter; the rest of the batch goes on;
5. judge: the `DeadLetterPolicy` stops the worker when dead letters are systematic;
6. side topics: dead letters (with their reason) and copies of procedure events for the
   catalog topic, every delivery awaited;
7. flush, once caught up (or, while a backlog drains, every `windows_every_seconds` or
   `windows_every_records`): the window step of every (unit, day) the batches since the last
   flush touched, their rows by code, then the commit of each partition up to its gap-free run
   of processed records (`CommitTracker`), after the changelog is flushed: never an offset
   whose record is not in ClickHouse, windows included.

A crash anywhere redelivers the records after the last commit; histories ignore them (same
(source, id)), and their rows are written again with the same versions: the same result.
SIGTERM cancels the batch under way, wherever it waits (ClickHouse down included), and commits
nothing of it. A partition held but silent for `silent_partition_seconds` while records wait
past its commit position (Faust dropped a fetch cut by a rebalance) is read again from there.
A committed offset behind the start of the log (records deleted by a finite retention) is
logged critically and counted, and reading goes on from the log start.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer
from faust.types import TP
from kafka.admin import KafkaAdminClient

from services.aggregator import faust_adapter
from services.aggregator.heap import Heap, trim
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.processing import (
    BatchOutcome,
    BatchProcessor,
    Catalog,
    CommitTracker,
    DeadLetterPolicy,
    Decoded,
    Deriver,
    HistoryStore,
    Partition,
    Record,
    Rejected,
    SilenceWatch,
    dead_letter_headers,
    decode,
    event_lag_seconds,
)
from services.aggregator.rejections import Gate
from services.aggregator.settings import AggregatorSettings
from services.aggregator.topics import ensure_topics
from services.aggregator.writer import FactsWriter
from services.observability import get_logger
from services.storage.clickhouse import (
    Client,
    VersionedFacts,
    clickhouse_client,
    create_scores_view,
    migrate,
    write_unit_tree,
)
from services.storage.watermarks import PartitionMark
from tthc.calendar import WorkingCalendar
from tthc.measures import Subject
from tthc.profile import load_profile
from tthc.units import load_units

log = get_logger("aggregator")

HISTORIES_TABLE = "histories"
REREAD_AFTER_SECONDS = 5.0  # before seeking again to the same hole


def _offsets_by_partition(records: Sequence[Record]) -> dict[Partition, list[int]]:
    found: dict[Partition, list[int]] = {}
    for r in records:
        found.setdefault((r.topic, r.partition), []).append(r.offset)
    return found


def _keep_newest(newest: dict[Partition, datetime], tp: Partition, time: datetime) -> None:
    if tp not in newest or time > newest[tp]:
        newest[tp] = time


@dataclass(frozen=True)
class _Handled:
    """A batch handled but not yet flushed: what its flush commits and counts."""

    offsets: dict[Partition, list[int]]
    newest: dict[Partition, datetime]  # newest event time per partition
    types: Counter[str]  # events by type, counted once flushed
    at: float  # monotonic

    @property
    def records(self) -> int:
        return sum(len(o) for o in self.offsets.values())


@dataclass
class Progress:
    batches: int = 0
    last_batch_at: float | None = None


class Aggregator:
    """The worker's parts, wired to one Faust app."""

    def __init__(self, settings: AggregatorSettings, client: Client, partitions: int) -> None:
        """Wire the parts; no I/O (`prepare` does the start-up's)."""
        self.settings = settings
        self.metrics = AggregatorMetrics()
        self.client = client
        profile = load_profile(settings.profile)
        self.catalog = Catalog()
        self.deriver = Deriver(self.catalog, WorkingCalendar(), profile.settings)
        self.writer = FactsWriter(
            self.client,
            self.metrics,
            settings.write_retry_max_seconds,
            windows_margin_seconds=settings.windows_margin_seconds,
            places_size=settings.places_cache_size,
        )
        self.partitions = partitions
        self.policy = DeadLetterPolicy(
            max_ratio=settings.dead_letter_max_ratio,
            max_in_a_row=settings.dead_letter_max_in_a_row,
            ratio_after=settings.dead_letter_ratio_after,
        )
        self.progress = Progress()
        self.catalog_ready = asyncio.Event()
        self.lock = asyncio.Lock()  # batches and re-derivations write one at a time
        self.offsets = CommitTracker()
        self.heap = Heap()
        self._reread: dict[Partition, tuple[int, float]] = {}
        self.silence = SilenceWatch(settings.silent_partition_seconds)
        self._log_ends: dict[Partition, int] = {}  # asked of the broker, for silent partitions
        self._newest: dict[Partition, datetime] = {}  # newest event time processed
        self._counted_to: dict[Partition, datetime] = {}  # ... and committed
        self._at_end_since: dict[Partition, float] = {}  # last seen with nothing left to count
        self._unflushed: list[_Handled] = []  # batches awaiting `flush`
        self._behind = 0  # records left to read past the last batch, in its partitions
        self.app = self._app()

    @classmethod
    def prepare(cls, settings: AggregatorSettings, client: Client | None = None) -> Aggregator:
        """The start-up's I/O (migrate ClickHouse; write the unit tree and the scores view the
        dashboards read, with this worker's tree and profile; create the topics), then the
        worker."""
        client = client or clickhouse_client(settings.clickhouse_url)
        applied = migrate(client, settings.layout)
        if applied:
            log.info("clickhouse migrated", versions=applied)
        log.info("unit tree written", rows=write_unit_tree(client, load_units(settings.units)))
        create_scores_view(client, load_profile(settings.profile), settings.layout)
        return cls(settings, client, ensure_topics(settings))

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
            # Every changed history is one changelog send: batched into few produce requests
            # (sampled: the sender's share of the loop fell from ~2 s to ~0.4 s per 100,000
            # events). Nothing waits on the linger: a commit flushes the producer first.
            producer_linger=0.005,
            producer_max_batch_size=512 * 1024,  # under the broker's default 1 MiB message limit
            stream_buffer_maxsize=max(4096, s.batch_size * 2),
            # A stop must not wait for the batch under way (it may wait on ClickHouse forever):
            # it is cancelled and, uncommitted, read again by whoever takes the partition.
            stream_wait_empty=False,
            table_cleanup_interval=3600.0,
        )

        def raw_topic(name: str) -> faust.TopicT:
            return app.topic(name, key_serializer="raw", value_serializer="raw")

        events = raw_topic(s.topic)
        self.dead_letters = raw_topic(s.dlq_topic)
        self.catalog_topic = raw_topic(s.catalog)
        histories = app.Table(
            HISTORIES_TABLE,
            partitions=self.partitions,
            key_type=str,
            value_type=bytes,
            options={
                "write_buffer_size": s.rocksdb_write_buffer_bytes,
                "max_write_buffer_number": 2,
                "block_cache_size": s.rocksdb_block_cache_bytes,
                "block_cache_compressed_size": 0,
            },
        )
        # Faust derives serializers from the types (json for both): the changelog must carry the
        # encoded histories as they are, or recovery hands back decoded JSON instead of bytes.
        histories.value_serializer = "raw"  # type: ignore[attr-defined]  # Table's, not TableT's
        self.store = HistoryStore(histories, s.history_cache_size)
        self.processor = BatchProcessor(
            self.store, self.deriver, faust_adapter.in_partition, Gate(load_units(s.units))
        )

        @app.agent(events)
        async def aggregate(stream: faust.StreamT[bytes]) -> None:
            faust_adapter.take_over_commits(app)
            await self.catalog_ready.wait()
            takes = stream.noack_take  # type: ignore[attr-defined]  # Stream's, not StreamT's
            async for batch in takes(s.batch_size, within=s.batch_seconds):
                try:
                    async with self.lock:
                        await self.handle(batch)
                        if self._flush_due():
                            await self.flush()
                            await self.commit()
                except Exception as error:
                    # A restarted agent would go on past this unacknowledged batch, and the
                    # commit would stall behind it: stop the worker, the records come again.
                    log.critical("batch failed; stopping the worker", error=repr(error))
                    await app.crash(error)
                    raise
                for event in batch:
                    await stream.ack(event)
                self.heap.settle()

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types sync handlers
        async def revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
            self._forget({(tp.topic, tp.partition) for tp in revoked})

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types sync handlers
        async def assigned(sender: Any, assigned: set[TP], **kwargs: Any) -> None:
            held = {(tp.topic, tp.partition) for tp in assigned}
            # A partition started while the group rebalanced, from an assignment already
            # stale, is not ours: nothing of it is committed, no watermark of it published.
            self._forget(set(self.offsets.positions()) - held)
            # Faust reads every partition again from its committed offset: so does the count.
            self.offsets.forget(held)

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

        every = min(s.watermark_seconds, s.windows_every_seconds)

        @app.timer(every)  # type: ignore[untyped-decorator]
        async def watermarks() -> None:
            if self.lock.locked():  # a batch under way writes them when it is done
                return
            async with self.lock:
                # Partitions with nothing new since the start are held too: caught up, said so.
                held = {tp for tp in faust_adapter.assignment(self.app) if tp[0] == s.topic}
                await self._start_partitions(held)
                await self._read_silent_partitions(held)
                idle = (
                    self._unflushed and time.monotonic() - self._unflushed[-1].at > s.batch_seconds
                )
                if idle or self._flush_due():  # what the last batches left
                    await self.flush()
                await self.commit()  # always: a hole is read again, the watermarks published

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
        """decode → fold → derive → stage → side topics; its window step and commit wait for
        `flush`."""
        records = [faust_adapter.record_of(event) for event in batch]
        tps = {(r.topic, r.partition) for r in records}
        self.silence.heard(tps, time.monotonic())
        for tp in tps:  # fetched: its high-water mark is known, and newer
            self._log_ends.pop(tp, None)
        await self._start_partitions(tps)
        # decode → fold → derive → stage, bad records split off as dead letters
        outcome = await self.processor.process(records, self.writer.stage)
        await self.writer.write_rejections(outcome.rejections)  # refused: recorded, never counted
        self.policy.judge(records, outcome.dead_letters)
        await self._send_side_topics(outcome)
        newest: dict[Partition, datetime] = {}
        for d in outcome.decoded:
            _keep_newest(newest, (d.record.topic, d.record.partition), d.event.time)
        types = Counter(d.event.type for d in outcome.decoded)
        self._unflushed.append(
            _Handled(_offsets_by_partition(records), newest, types, time.monotonic())
        )
        self._observe(records, outcome)
        return outcome

    def _flush_due(self) -> bool:
        """Caught up (less than a batch left to read in the batch's partitions): now, for
        freshness; in a backlog, once enough time or records have passed, since each window
        step costs the same planning however many keys it recomputes."""
        waiting = sum(h.records for h in self._unflushed)
        oldest = self._unflushed[0].at if self._unflushed else time.monotonic()
        s = self.settings
        return (
            self._behind < s.batch_size
            or waiting >= s.windows_every_records
            or time.monotonic() - oldest >= s.windows_every_seconds
        )

    async def flush(self) -> None:
        """The window step of every batch handled since the last flush and their rows by code:
        only now are their records written everywhere, and theirs to commit (`commit`)."""
        await self.writer.flush()
        for handled in self._unflushed:
            for tp, offsets in handled.offsets.items():
                self.offsets.processed(tp, offsets)
            for tp, newest in handled.newest.items():
                _keep_newest(self._newest, tp, newest)
            # one labelled child per type and batch, not per event: `labels` is a locked lookup
            for event_type, count in handled.types.items():
                self.metrics.events.labels(event_type).inc(count)
        self._unflushed.clear()
        trim()  # the step's rows are gone: their pages too

    async def _send_side_topics(self, outcome: BatchOutcome) -> None:
        """Dead letters and the catalog's copies, delivered before the batch is committed."""
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
        await asyncio.gather(*sends)

    # --- Offsets -----------------------------------------------------------------------------

    def _forget(self, tps: set[Partition]) -> None:
        """Partitions no longer held: their commit positions and watermarks go."""
        self.offsets.forget(tps)
        self.silence.forget(tps)
        for tp in tps:
            self._log_ends.pop(tp, None)
            self._newest.pop(tp, None)
            self._counted_to.pop(tp, None)
            self._at_end_since.pop(tp, None)

    async def _start_partitions(self, tps: set[Partition]) -> None:
        """Where each newly seen partition was committed: its records count from there.

        A committed offset behind the start of the log (records deleted by retention, or a
        topic made again) cannot be read from: the consumer itself goes on from the log start,
        and so does the count, said loudly, since what those records held is missing from
        the facts until a replay of a complete log.
        """
        unknown = [tp for tp in tps if not self.offsets.knows(tp)]
        if not unknown:  # every batch but a partition's first: no look-up of the assignment
            return
        held = set(faust_adapter.assignment(self.app))  # a batch may outlive its partitions
        new = [tp for tp in unknown if tp in held]
        if not new:
            return
        committed = await asyncio.to_thread(self._committed_offsets)
        log_starts = await faust_adapter.log_starts(self.app, new)
        for tp in new:
            log_start = log_starts.get(tp, 0)
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

    async def _read_silent_partitions(self, held: set[Partition]) -> None:
        """Read again each held partition that no batch has brought a record of for a while
        though the broker holds records past its commit position (see `SilenceWatch`)."""
        silent = self.silence.silent(held, time.monotonic())
        if not silent:
            return
        self._log_ends.update(await faust_adapter.log_ends(self.app, silent))
        self.silence.heard(silent, time.monotonic())  # asked again after as long a silence
        positions = self.offsets.positions()
        for tp in silent:
            position, end = positions.get(tp), self._log_ends.get(tp)
            if position is None or end is None or end <= position:
                continue  # nothing to read, or not started yet
            if await faust_adapter.read_again(self.app, tp, position):
                log.warning(
                    "partition held but not read though records wait; reading it again",
                    partition=tp,
                    offset=position,
                    log_end=end,
                )
                self.metrics.read_again.labels(tp[0], str(tp[1])).inc()

    def _committed_offsets(self) -> dict[tuple[str, int], int]:
        admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        try:
            offsets = admin.list_group_offsets(self.settings.app_id).get(self.settings.app_id, {})
        finally:
            admin.close()
        return {(tp.topic, tp.partition): o.offset for tp, o in offsets.items() if o.offset >= 0}

    async def commit(self) -> None:
        """Commit each partition up to its gap-free run of written records; read again from any
        hole Faust left; publish the watermarks."""
        moved = await faust_adapter.commit(self.app, self.offsets.committable())
        self.offsets.committed(moved)
        if moved:
            self.metrics.last_commit.set(time.time())
        now = time.monotonic()
        for tp, offset in self.offsets.holes().items():
            last = self._reread.get(tp)
            if last is None or last[0] != offset or now - last[1] > REREAD_AFTER_SECONDS:
                log.warning(
                    "records skipped by the consumer; reading again", partition=tp, offset=offset
                )
                self._reread[tp] = (offset, now)
                await faust_adapter.seek(self.app, tp, offset)
        await self.publish_watermarks()

    async def publish_watermarks(self) -> None:
        """Per partition held: committed offset, end of the log, newest event time committed."""
        uncommitted = self.offsets.uncommitted()
        now = datetime.now(UTC)
        marks = []
        for tp, committed in self.offsets.positions().items():
            if tp not in uncommitted and tp in self._newest:  # everything written is committed
                self._counted_to[tp] = self._newest[tp]
            # a partition never fetched has no high-water mark: the broker's answer stands in
            ends = (faust_adapter.log_end(self.app, tp), self._log_ends.get(tp), committed)
            mark = PartitionMark(
                group=self.settings.app_id,
                topic=tp[0],
                partition=tp[1],
                committed=committed,
                log_end=max(end for end in ends if end is not None),
                event_time=self._counted_to.get(tp),
                updated_at=now,
            )
            marks.append(mark)
            labels = (tp[0], str(tp[1]))
            self.metrics.committed_offset.labels(*labels).set(mark.committed)
            self.metrics.log_end_offset.labels(*labels).set(mark.log_end)
            if mark.event_time is not None:
                self.metrics.counted_to.labels(*labels).set(mark.event_time.timestamp())
        self.metrics.watermark_lag.set(self._watermark_lag(marks))
        await self.writer.write_watermarks(marks)

    def _watermark_lag(self, marks: Sequence[PartitionMark]) -> float:
        """Seconds since the partition furthest behind last had nothing left to count."""
        now = time.time()
        lag = 0.0
        for mark in marks:
            tp = (mark.topic, mark.partition)
            if mark.committed >= mark.log_end:
                self._at_end_since[tp] = now
            lag = max(lag, now - self._at_end_since.setdefault(tp, now))
        return lag

    def _observe(self, records: Sequence[Record], outcome: BatchOutcome) -> None:
        m = self.metrics
        m.batch_size.observe(len(records))
        now = time.time()
        for decoded in outcome.decoded:
            m.event_lag.observe(max(0.0, event_lag_seconds(decoded.event, now)))
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
        self._behind = 0
        for (topic, partition), offset in last.items():
            highwater = faust_adapter.log_end(self.app, (topic, partition))
            if highwater is not None:
                behind = max(0, highwater - offset - 1)
                m.consumer_lag.labels(topic, str(partition)).set(behind)
                self._behind += behind
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
        await self.flush()  # the by-code rows the query below reads (committed at the next tick)
        codes = sorted(self.catalog.pending)
        self.catalog.pending.clear()  # a change that arrives meanwhile marks its code again
        stale = await self.writer.stale_dossiers(self.catalog.lengths(codes))
        rows = self.processor.rederive_dossiers(stale)
        try:
            await self.writer.write({Subject.dossier: rows})
        except Rejected:  # one row at a time, leaving out those ClickHouse refuses
            rows = [row for row in rows if await self._write_alone(row)]
        self.metrics.rederived.inc(len(rows))
        if rows:
            log.info("dossiers derived again", procedures=len(codes), dossiers=len(rows))
        return len(rows)

    async def _write_alone(self, row: VersionedFacts) -> bool:
        try:
            await self.writer.write({Subject.dossier: [row]})
            return True
        except Rejected as rejected:
            log.error(
                "dossier row refused by ClickHouse",
                dossier=row.facts.row()["code"],
                error=str(rejected),
            )
            return False

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
            "partitions": [
                p for topic, p in faust_adapter.assignment(self.app) if topic == self.settings.topic
            ],
            "batches": self.progress.batches,
            "last_batch_at": self.progress.last_batch_at,
        }
