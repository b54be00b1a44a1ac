"""The topics the aggregator creates keep every record; one that does not is reported."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from services.aggregator.settings import AggregatorSettings
from services.aggregator.topics import ensure_topics, finite_retention

pytestmark = pytest.mark.kafka


def settings(bootstrap: str) -> AggregatorSettings:
    return AggregatorSettings(
        kafka_bootstrap=bootstrap, topic=f"test.retention.{uuid.uuid4().hex[:8]}", partitions=3
    )


def test_created_topics_keep_everything(kafka_bootstrap: str) -> None:
    s = settings(kafka_bootstrap)
    assert ensure_topics(s) == 3
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        names = [s.topic, s.dlq_topic, s.catalog]
        assert set(names) <= set(admin.list_topics())
        assert finite_retention(admin, names) == []
    finally:
        admin.delete_topics([s.topic, s.dlq_topic, s.catalog], raise_errors=False)
        admin.close()


def test_workers_starting_at_once_all_find_their_topics(kafka_bootstrap: str) -> None:
    s = settings(kafka_bootstrap)
    try:
        with ThreadPoolExecutor(4) as pool:  # each may find a topic missing that another makes
            assert list(pool.map(lambda _: ensure_topics(s), range(4))) == [3] * 4
    finally:
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        admin.delete_topics([s.topic, s.dlq_topic, s.catalog], raise_errors=False)
        admin.close()


def test_an_existing_topic_with_finite_retention_is_reported(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s = settings(kafka_bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics(
            [NewTopic(s.topic, 2, 1, topic_configs={"retention.ms": "604800000"})],
            wait_for_metadata=True,
        )
        assert ensure_topics(s) == 2  # left as it is: its retention is the operator's call
        (found,) = finite_retention(admin, [s.topic, s.dlq_topic, s.catalog])
        assert (found.topic, found.retention_ms) == (s.topic, "604800000")
    finally:
        admin.delete_topics([s.topic, s.dlq_topic, s.catalog], raise_errors=False)
        admin.close()
    logged = capsys.readouterr()
    assert "topic deletes records by age or size" in logged.out + logged.err


def test_the_local_broker_keeps_every_topic_forever(kafka_bootstrap: str, topic: str) -> None:
    """deploy/kafka/kafka.sh (which the test broker runs) sets no age or size limit, so even a
    topic made without settings (the `topic` fixture's) keeps everything."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert finite_retention(admin, [topic]) == []
    finally:
        admin.close()
