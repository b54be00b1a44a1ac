"""The Faust worker against a real broker and chDB: what ClickHouse holds equals the reference.

Each test runs the worker as a subprocess (`python -m services.aggregator`), waits until its
committed offsets reach the end of the topic, stops it, and reads ClickHouse itself.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from services.storage.clickhouse import clickhouse_client, migrate
from services.storage.schema import FACTS_OF, TABLES
from services.storage.watermarks import LATEST_SQL, Pipeline, PipelineStatus
from tests.aggregator.conftest import (
    Worker,
    caught_up,
    event_records,
    gauges,
    mismatches,
    produce,
    window_mismatches,
)
from tthc.events import DossierProcessed, Entity, Event
from tthc.period_scores import scores_of

pytestmark = pytest.mark.kafka


def test_clickhouse_equals_the_reference(worker: Worker, tree, small_events) -> None:
    """Every numerator and denominator, for a province, a department and a commune, over a
    month, a quarter and a year, judged mid-workload (open dossiers) and after it."""
    produce(worker.bootstrap, worker.topic, event_records(small_events))
    worker.start()
    worker.wait_caught_up()
    worker.stop()
    assert mismatches(worker.clickhouse_url, small_events, tree) == []
    assert window_mismatches(worker.clickhouse_url, tree) == []
    # how far the data goes, as the worker published it: all of it
    client = clickhouse_client(worker.clickhouse_url)
    try:
        pipeline = Pipeline.of(
            client.query(LATEST_SQL).named_results(), datetime.now(UTC), timedelta(hours=1)
        )
        # its start-up wrote the unit tree and the scores view the dashboards read
        totals = client.query(
            f"SELECT unit, total FROM {scores_of(repr('2024-05'))} WHERE indicator = ''"
        ).result_rows
    finally:
        client.close()
    assert {unit for unit, _ in totals} == {u.code for u in tree.current_units()}
    assert any(total is not None for _, total in totals)
    assert pipeline.status is PipelineStatus.caught_up
    assert pipeline.events_not_counted == 0
    newest = {}  # per partition, as the log holds them
    for message in read_all(worker.bootstrap, worker.topic):
        when = datetime.fromisoformat(orjson.loads(message.value)["time"])
        newest[message.partition] = max(when, newest.get(message.partition, when))
    assert pipeline.counted_to is not None  # to the millisecond ClickHouse keeps
    assert abs(pipeline.counted_to - min(newest.values())) < timedelta(milliseconds=1)


def test_every_event_delivered_twice_counts_once(worker: Worker, tree, small_events) -> None:
    records = event_records(small_events)
    produce(worker.bootstrap, worker.topic, records[: len(records) // 2])
    worker.start()
    # the whole log again, interleaved with what is new: each event reaches the worker twice
    produce(worker.bootstrap, worker.topic, records)
    produce(worker.bootstrap, worker.topic, records[len(records) // 2 :])
    worker.wait_caught_up()
    worker.stop()
    assert mismatches(worker.clickhouse_url, small_events, tree) == []
    assert window_mismatches(worker.clickhouse_url, tree) == []


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_killed_mid_stream_loses_and_double_counts_nothing(
    worker: Worker, tree, small_events, store: str
) -> None:
    """SIGKILL three times while records keep coming; the restarted worker recovers its
    histories (from the changelog, or from the tables on disk it left behind) and takes the
    log up at the last committed offsets."""
    records = event_records(small_events)
    chunks = [records[i::4] for i in range(4)]  # each chunk spans the whole period
    worker.batch_size = 200
    worker.store = store
    worker.start()
    for chunk in chunks[:3]:
        produce(worker.bootstrap, worker.topic, chunk)
        worker.wait_until(lambda: (worker.health() or {}).get("batches", 0) > 0, "a batch")
        time.sleep(1.0)  # mid-stream: some batches written, some not yet committed
        worker.kill()
        worker.start()
    produce(worker.bootstrap, worker.topic, chunks[3])
    worker.wait_caught_up()
    worker.stop()
    assert worker.starts == 4
    assert mismatches(worker.clickhouse_url, small_events, tree) == []
    assert window_mismatches(worker.clickhouse_url, tree) == []


def test_poison_reaches_the_dead_letter_topic_and_the_worker_goes_on(
    worker: Worker, tree, small_events
) -> None:
    poison = [
        (b"k1", b"\xff\xfe\x00 not UTF-8"),
        (b"k2", b'{"specversion": "1.0", "id": '),
        (b"k3", b'{"specversion": "1.0", "id": "x"}'),
        (b"k4", orjson.dumps({**small_events[0].to_cloudevent(), "type": "vn.tthc.x.y.v1"})),
    ]
    good = event_records(small_events[:300])
    produce(worker.bootstrap, worker.topic, [*good[:150], *poison, *good[150:]])
    worker.start()
    worker.wait_caught_up()
    metrics = worker.metrics()
    worker.stop()
    for reason in ("undecodable", "invalid_json", "invalid_event", "unknown_type"):
        assert f'tthc_aggregator_dead_letters_total{{reason="{reason}"}} 1.0' in metrics
    assert 'tthc_aggregator_events_total{type="vn.tthc.dossier.received.v1"}' in metrics
    assert "tthc_aggregator_clickhouse_write_seconds_count" in metrics

    consumer = KafkaConsumer(
        f"{worker.topic}.dlq",
        bootstrap_servers=worker.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        letters = {m.key: (m.value, dict(m.headers)) for m in consumer}
    finally:
        consumer.close()
    assert set(letters) == {key for key, _ in poison}
    reasons = {key: headers["tthc.dlq.reason"].decode() for key, (_, headers) in letters.items()}
    assert reasons == {
        b"k1": "undecodable",
        b"k2": "invalid_json",
        b"k3": "invalid_event",
        b"k4": "unknown_type",
    }
    for key, value in poison:
        assert letters[key][0] == value  # the original bytes, untouched
        assert letters[key][1]["tthc.dlq.detail"]
    assert mismatches(worker.clickhouse_url, small_events[:300], tree) == []


def poisoned_copy(event: Event, when: str) -> bytes:
    """A schema-valid copy of `event` at `when`, as an ingest that did not check times sent."""
    raw = event.to_cloudevent()
    raw.update(id=f"poison-{when}", time=when, data={**raw["data"], "at": when})
    return orjson.dumps(raw)


def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def dead_letters(worker: Worker) -> dict[str, tuple[bytes, dict[str, bytes]]]:
    return {
        orjson.loads(m.value)["id"]: (m.value, dict(m.headers))
        for m in read_all(worker.bootstrap, f"{worker.topic}.dlq")
        if m.value.startswith(b"{")
    }


def test_events_clickhouse_or_the_fold_cannot_take_are_dead_letters_and_the_rest_is_counted(
    worker: Worker, tree, small_events
) -> None:
    """The two poison events of issue 14, produced straight to the topic: a dossier processed
    at 1969-12-31T23:59:59Z (ClickHouse's DateTime cannot hold it: the insert is refused) and
    at 0001-01-01T00:00:00+01:00 (before year 1 in UTC: the fold or derivation overflows).
    Once they stopped every partition; now each is found by splitting its batch."""
    processed = [e for e in small_events if isinstance(e.data, DossierProcessed)]
    poison = {
        f"poison-{when}": poisoned_copy(event, when)
        for event, when in zip(
            processed[:2], ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"], strict=True
        )
    }
    good = event_records(small_events)
    half = len(good) // 2
    keys = [e.subject.encode() for e in processed[:2]]
    produce(
        worker.bootstrap,
        worker.topic,
        [*good[:half], *zip(keys, poison.values(), strict=True), *good[half:]],
    )
    worker.start()
    worker.wait_caught_up()
    metrics = worker.metrics()
    worker.stop()
    letters = dead_letters(worker)
    assert set(letters) == set(poison)
    for key, value in poison.items():
        assert letters[key][0] == value
    reasons = {k: headers["tthc.dlq.reason"].decode() for k, (_, headers) in letters.items()}
    assert reasons["poison-1969-12-31T23:59:59Z"] == "insert_rejected"
    assert reasons["poison-0001-01-01T00:00:00+01:00"] in {"fold_failed", "derivation_failed"}
    assert all(headers["tthc.dlq.detail"] for _, headers in letters.values())
    assert 'tthc_aggregator_dead_letters_total{reason="insert_rejected"} 1.0' in metrics
    assert mismatches(worker.clickhouse_url, small_events, tree) == []


def test_sigterm_stops_a_worker_stuck_on_a_broken_clickhouse_in_seconds(
    worker: Worker, tree, small_events
) -> None:
    """ClickHouse fails for a reason of its own (its store is no longer a directory): the
    batch is retried, not dead-lettered; SIGTERM stops the worker within seconds and commits
    nothing it did not write; with ClickHouse mended, a new worker counts everything."""
    records = event_records(small_events)
    produce(worker.bootstrap, worker.topic, records[: len(records) // 2])
    worker.start()
    worker.wait_caught_up()
    store = worker.workdir / "clickhouse" / "store"
    store.rename(worker.workdir / "store-aside")
    store.write_bytes(b"")
    produce(worker.bootstrap, worker.topic, records[len(records) // 2 :])
    worker.wait_until(
        lambda: (worker.health() or {}).get("clickhouse_failures_in_a_row", 0) >= 2,
        "failing writes",
    )
    assert not caught_up(worker.bootstrap, worker.app_id, worker.topic)
    assert worker.process is not None
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=30)
    assert time.monotonic() - started < 10, worker.log_tail()
    assert not caught_up(worker.bootstrap, worker.app_id, worker.topic)

    store.unlink()
    (worker.workdir / "store-aside").rename(store)
    worker.start()
    worker.wait_caught_up()
    worker.stop()
    assert mismatches(worker.clickhouse_url, small_events, tree) == []
    assert dead_letters(worker) == {}


def merged_facts(sources: list[str], into: str) -> None:
    """Every facts row of the given chDB directories, in one: each worker wrote its own."""
    tables = [getattr(TABLES, subject.value) for subject in FACTS_OF]
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in tables}
    columns: dict[str, list[str]] = {}
    for url in sources:  # one chDB directory open at a time in this process
        client = clickhouse_client(url)
        try:
            for table in tables:
                result = client.query(f"SELECT * FROM {table}")
                if result.result_rows:  # chDB names no columns of an empty result
                    columns[table] = list(result.column_names)
                    rows[table] += result.result_rows
        finally:
            client.close()
    client = clickhouse_client(into)
    try:
        migrate(client)
        for table in tables:
            if rows[table]:
                client.insert(table, rows[table], column_names=columns[table])
    finally:
        client.close()


def test_two_workers_share_the_partitions_and_one_takes_over_from_a_killed_one(
    worker: Worker, tree, small_events
) -> None:
    """Two workers in one consumer group, in two processes: the embedded ClickHouse opens a
    directory in one process only, so each writes its own directory, and the test reads the
    union (rows of one code collapse on their version as they would in one shared server).
    One is killed -9 mid-run; the other takes its partitions over (histories from the
    changelog), and the facts equal the reference.

    The union's one limit: after a procedure changes, a worker derives again the dossier rows
    it finds stale in its own directory only, not those the other wrote. So the procedures come
    first here, and every worker holds them all before any dossier arrives."""
    procedures = [e for e in small_events if e.entity is Entity.procedure]
    records = event_records([e for e in small_events if e.entity is not Entity.procedure])
    other = Worker(worker.bootstrap, worker.topic, worker.workdir / "other", app_id=worker.app_id)
    other.workdir.mkdir()
    worker.batch_size = other.batch_size = 200
    try:
        worker.start()
        other.start()

        def split() -> bool:
            held = [(w.health() or {}).get("partitions") or [] for w in (worker, other)]
            return all(held) and sorted(held[0] + held[1]) == [0, 1, 2, 3]

        worker.wait_until(split, "the partitions split between the two")
        produce(worker.bootstrap, worker.topic, event_records(procedures))
        count = len({e.subject for e in procedures})
        for w in (worker, other):
            w.wait_until(  # a rebalance may still be settling: on 2 loaded cores, slowly
                lambda w=w: (w.health() or {}).get("catalog_procedures") == count,
                "every procedure in both catalogs",
                timeout=300,
            )
        produce(worker.bootstrap, worker.topic, records[: len(records) // 2])
        for w in (worker, other):
            w.wait_until(lambda w=w: (w.health() or {}).get("batches", 0) > 0, "a batch each")
        other.kill()  # mid-run: the second half still to come
        produce(worker.bootstrap, worker.topic, records[len(records) // 2 :])
        worker.wait_caught_up()
        worker.stop()
    finally:
        other.stop()
    merged = f"chdb://{worker.workdir / 'merged'}"
    merged_facts([worker.clickhouse_url, other.clickhouse_url], merged)
    assert mismatches(merged, small_events, tree) == []


def test_a_restarted_worker_with_nothing_new_reports_every_partition_caught_up(
    worker: Worker, small_events
) -> None:
    """No batch comes, yet the watermarks say every record is counted (not stale)."""
    produce(worker.bootstrap, worker.topic, event_records(small_events[:400]))
    worker.start()
    worker.wait_caught_up()
    worker.stop()
    worker.start()

    def reported() -> dict[str, float]:
        try:
            return gauges(worker.metrics(), "tthc_aggregator_committed_offset")
        except OSError:  # not serving yet
            return {}

    worker.wait_until(lambda: len(reported()) == 4, "watermarks of the four partitions")
    text = worker.metrics()
    worker.stop()
    assert sum(gauges(text, "tthc_aggregator_committed_offset").values()) == 400
    assert gauges(text, "tthc_aggregator_log_end_offset") == gauges(
        text, "tthc_aggregator_committed_offset"
    )
    assert "tthc_aggregator_watermark_lag_seconds 0.0" in text


def test_a_committed_offset_behind_the_log_start_is_reported_and_reading_goes_on(
    worker: Worker, small_events
) -> None:
    """Records deleted before the worker read them (retention, or by hand as here): the rule is
    to go on from the log start, saying so and counting what was lost, never to wait on them."""
    produce(worker.bootstrap, worker.topic, event_records(small_events[:200]))
    worker.start()
    worker.wait_caught_up()
    worker.stop()
    produce(worker.bootstrap, worker.topic, event_records(small_events[200:400]))
    consumer = KafkaConsumer(bootstrap_servers=worker.bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=worker.bootstrap)
    try:
        tps = [TopicPartition(worker.topic, p) for p in range(4)]
        ends = consumer.end_offsets(tps)
        admin.delete_records({tp: ends[tp] for tp in tps})  # 200..399 gone unread
    finally:
        consumer.close()
        admin.close()
    produce(worker.bootstrap, worker.topic, event_records(small_events[400:500]))
    worker.start()
    worker.wait_caught_up()
    text = worker.metrics()
    worker.stop()
    lost = re.findall(r"^tthc_aggregator_log_lost_records_total\{[^}]*\} (\S+)$", text, re.M)
    assert sum(float(n) for n in lost) == 200
    assert "committed offset behind the start of the log" in worker.log_tail(400)
