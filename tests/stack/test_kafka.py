"""The two Kafka clients the services use, against the real broker.

kafka-python produces (as the ingest will: idempotent, acks=all, keyed by dossier code);
aiokafka consumes in a group with manual commits (as a consumer that must not lose or
double-count records across a restart does).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

pytestmark = pytest.mark.kafka

KEYS = [f"H01.{n:03d}-250101-{n:04d}" for n in range(5)]  # dossier-code-like keys


def produce(bootstrap: str, topic: str, start: int, count: int):
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
    )
    try:
        futures = [
            producer.send(topic, key=KEYS[i % len(KEYS)].encode(), value=str(i).encode())
            for i in range(start, start + count)
        ]
        metadata = [f.get(timeout=30) for f in futures]
        # The broker handed out a producer id: idempotence was really negotiated, not
        # silently dropped (kafka-python keeps this on its transaction manager).
        assert producer._transaction_manager is not None
        assert producer._transaction_manager.has_producer_id()
        return metadata
    finally:
        producer.close(timeout=10)


async def consume(bootstrap: str, topic: str, group: str, expected: int, timeout: float = 30):
    """Read `expected` records in group `group`, commit, and check nothing more comes."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        key_deserializer=bytes.decode,
        value_deserializer=bytes.decode,
    )
    await consumer.start()
    try:
        records = []
        deadline = time.monotonic() + timeout
        while len(records) < expected:
            assert time.monotonic() < deadline, f"got {len(records)} of {expected} records"
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records.extend(batch)
        # Nothing beyond what was expected (no redelivery of committed records).
        extra = await consumer.getmany(timeout_ms=1500)
        records.extend(r for batch in extra.values() for r in batch)
        await consumer.commit()
        committed = {tp.partition: await consumer.committed(tp) for tp in consumer.assignment()}
        return records, committed
    finally:
        await consumer.stop()


def test_idempotent_producer_keys_land_on_one_partition_in_order(kafka_bootstrap, topic):
    metadata = produce(kafka_bootstrap, topic, 0, 40)

    partitions_by_key = defaultdict(set)
    offsets_by_partition = defaultdict(list)
    for i, md in enumerate(metadata):
        assert md.topic == topic
        partitions_by_key[KEYS[i % len(KEYS)]].add(md.partition)
        offsets_by_partition[md.partition].append(md.offset)
    assert all(len(p) == 1 for p in partitions_by_key.values()), partitions_by_key
    # Every partition got a gap-free run of offsets from 0: nothing lost, nothing doubled.
    for offsets in offsets_by_partition.values():
        assert offsets == list(range(len(offsets)))
    assert sum(len(o) for o in offsets_by_partition.values()) == 40


def test_consumer_group_resumes_after_committed_offsets(kafka_bootstrap, topic):
    group = f"{topic}.group"
    first = produce(kafka_bootstrap, topic, 0, 20)

    records, committed = asyncio.run(consume(kafka_bootstrap, topic, group, 20))
    assert sorted(int(r.value) for r in records) == list(range(20))
    for r in records:  # per key, the order it was sent in
        assert r.key == KEYS[int(r.value) % len(KEYS)]
    end = defaultdict(int)
    for md in first:
        end[md.partition] = max(end[md.partition], md.offset + 1)
    assert {p: o for p, o in committed.items() if o} == dict(end)

    produce(kafka_bootstrap, topic, 20, 10)
    records, _ = asyncio.run(consume(kafka_bootstrap, topic, group, 10))
    assert sorted(int(r.value) for r in records) == list(range(20, 30))

    # A new group starts from the beginning and sees all 30.
    records, _ = asyncio.run(consume(kafka_bootstrap, topic, f"{group}.other", 30))
    assert len(records) == 30


def test_order_within_a_key_survives_consumption(kafka_bootstrap, topic):
    produce(kafka_bootstrap, topic, 0, 25)
    records, _ = asyncio.run(consume(kafka_bootstrap, topic, f"{topic}.order", 25))
    seen = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        seen[r.key].append(int(r.value))
    for key, values in seen.items():
        assert values == sorted(values), key
