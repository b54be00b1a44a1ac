"""The Faust worker against a real broker and chDB: what ClickHouse holds equals the reference.

Each test runs the worker as a subprocess (`python -m services.aggregator`), waits until its
committed offsets reach the end of the topic, stops it, and reads ClickHouse itself.
"""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer

from tests.aggregator.conftest import (
    Worker,
    event_records,
    mismatches,
    produce,
)

pytestmark = pytest.mark.kafka


def test_clickhouse_equals_the_reference(worker: Worker, tree, small_events) -> None:
    """Every numerator and denominator, for a province, a department and a commune, over a
    month, a quarter and a year, judged mid-workload (open dossiers) and after it."""
    produce(worker.bootstrap, worker.topic, event_records(small_events))
    worker.start()
    worker.wait_caught_up()
    worker.stop()
    assert mismatches(worker.clickhouse_url, small_events, tree) == []


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
