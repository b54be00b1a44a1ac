"""A Faust (faust-streaming) worker in-process on the real broker: an agent folds a topic
into a Table, and the Table is backed by a changelog topic, as the aggregator's state is."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import faust
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

pytestmark = pytest.mark.kafka

KEYS = ["H01.001", "H01.002", "H01.003"]
VALUES = list(range(1, 31))


def expected_totals() -> dict[str, int]:
    totals = dict.fromkeys(KEYS, 0)
    for v in VALUES:
        totals[KEYS[v % len(KEYS)]] += v
    return totals


async def run_worker(bootstrap: str, topic_name: str, app_id: str) -> dict[str, int]:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=4,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
    )
    source = app.topic(topic_name, key_type=str, value_type=int, partitions=4)
    totals = app.Table("totals", default=int, partitions=4)

    @app.agent(source)
    async def add(stream):
        async for key, value in stream.items():
            totals[key] += value

    await asyncio.wait_for(app.start(), timeout=60)
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for v in VALUES:
            producer.send(topic_name, key=KEYS[v % len(KEYS)].encode(), value=str(v).encode())
        producer.flush(timeout=30)
        producer.close()

        want = expected_totals()
        deadline = time.monotonic() + 60
        while True:
            got = {k: totals[k] for k in KEYS}
            if got == want or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        # Let the table flush its changelog writes before stopping.
        await asyncio.sleep(1)
        return got
    finally:
        await asyncio.wait_for(app.stop(), timeout=60)


def read_changelog(bootstrap: str, name: str) -> dict[str, int]:
    """The last value per key in the changelog (Faust writes JSON keys and values)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(name)
        assert partitions, f"no partitions for {name}"
        tps = [TopicPartition(name, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        assert sum(end.values()) > 0, "the changelog topic has no records"
        latest: dict[str, int] = {}
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read the whole changelog"
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    latest[json.loads(r.key)] = json.loads(r.value)
        return latest
    finally:
        consumer.close()


def test_faust_agent_updates_table_with_changelog(kafka_bootstrap, topic):
    app_id = f"test-faust-{uuid.uuid4().hex[:8]}"

    got = asyncio.run(run_worker(kafka_bootstrap, topic, app_id))
    assert got == expected_totals()

    changelog = f"{app_id}-totals-changelog"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert changelog in admin.list_topics()
    finally:
        admin.close()
    assert read_changelog(kafka_bootstrap, changelog) == expected_totals()
