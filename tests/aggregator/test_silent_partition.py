"""A partition the worker holds but Faust never fetches again is read again from its commit
position.

Faust drops the records of a fetch that a rebalance cuts short while the fetch position has
moved past them; with no record after them, no hole shows, and the partition is held and
never read: its events are never counted while the others are (seen twice in CI, after a
worker of two was killed). A rebalance cannot be timed to do it on purpose, so the worker
runs in this process and the test puts partition 0 in that state by hand: paused, records
sent to it, its fetch position moved to their end, the pause lifted.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from faust.types import TP
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from services.aggregator.app import Aggregator
from services.aggregator.settings import AggregatorSettings
from services.storage.clickhouse import clickhouse_client
from tests.aggregator.conftest import (
    caught_up,
    commit_positions,
    event_records,
    free_port,
    gauges,
    mismatches,
    produce,
)
from tthc.events import Entity


def partition_of(key: bytes, partitions: int = 4) -> int:
    """The partition Kafka's default partitioner sends `key` to."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def wait_until(predicate, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)


def test_a_partition_held_but_left_unread_is_read_again(
    kafka_bootstrap, topic, tmp_path, tree, small_events
) -> None:
    procedures = [e for e in small_events if e.entity is Entity.procedure]
    dossiers = [e for e in small_events if e.entity is not Entity.procedure]
    later = [e for e in dossiers if partition_of(e.subject.encode()) == 0][-100:]
    first = [e for e in dossiers if e not in later]
    settings = AggregatorSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        app_id=f"test-silent-{free_port()}",
        store="memory://",
        data_dir=tmp_path / "faust",
        clickhouse_url=f"chdb://{tmp_path / 'clickhouse'}",
        http_port=free_port(),
        batch_size=200,
        batch_seconds=0.2,
        watermark_seconds=0.5,
        silent_partition_seconds=2.0,
        session_timeout=6.0,
    )
    produce(kafka_bootstrap, topic, event_records(procedures + first))
    client = clickhouse_client(settings.clickhouse_url)
    aggregator = Aggregator.prepare(settings, client)
    app = aggregator.app
    tp0 = TP(topic, 0)

    def times_read_again() -> float:
        text = aggregator.metrics.render()[0].decode()
        return gauges(text, "tthc_aggregator_partitions_read_again_total").get("0", 0.0)

    read_again: list[float] = []  # after the first events, after partition 0's

    def counted() -> bool:
        return caught_up(kafka_bootstrap, settings.app_id, topic)

    async def scenario() -> None:
        assert aggregator.health_report()["partitions"] == []  # answers before Kafka does
        await app.start()
        try:
            await wait_until(counted, "the first events counted")
            # under load a start-up fetch may come late: a read-again then is harmless
            read_again.append(times_read_again())
            app.consumer.pause_partitions({tp0})
            await asyncio.to_thread(send_to_partition_0)
            end = commit_positions(kafka_bootstrap, settings.app_id, topic)[0][1]
            await app.consumer.seek(tp0, end)  # past the records, as a dropped fetch leaves it
            app.consumer.resume_partitions({tp0})
            await wait_until(counted, "partition 0 read again")
            read_again.append(times_read_again())
        finally:
            await app.stop()

    def send_to_partition_0() -> None:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            for key, value in event_records(later):
                producer.send(topic, key=key, value=value, partition=0).get(timeout=30)
        finally:
            producer.close(timeout=10)

    try:
        asyncio.run(scenario())
    finally:
        aggregator.writer.close()
        client.close()
    before, after = read_again
    assert after > before
    assert mismatches(settings.clickhouse_url, small_events, tree) == []
