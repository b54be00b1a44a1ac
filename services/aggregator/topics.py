"""The aggregator's topics: created keeping everything, and checked that they still do.

The events topic is the source of truth (`tthc replay` rebuilds ClickHouse from it), the
dead-letter topic is what an operator replays after a fix, and the catalog topic is what every
worker rebuilds its procedure catalog from: none may lose a record to age or size. A topic that
exists already (made by hand, or by a broker with its default of 7 days) is not altered, since
its retention is the operator's call, but it is reported at every start.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from services.aggregator.settings import AggregatorSettings
from services.observability import get_logger

log = get_logger("aggregator.topics")

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True)
class FiniteRetention:
    """A topic that deletes records by age or size."""

    topic: str
    retention_ms: str | None
    retention_bytes: str | None


def wanted_topics(settings: AggregatorSettings) -> list[NewTopic]:
    """The events, dead-letter and catalog topics, each keeping every record."""
    r = settings.replication_factor
    return [
        NewTopic(settings.topic, settings.partitions, r, topic_configs=dict(KEEP_FOREVER)),
        NewTopic(settings.dlq_topic, 1, r, topic_configs=dict(KEEP_FOREVER)),
        NewTopic(settings.catalog, 1, r, topic_configs=dict(KEEP_FOREVER)),
    ]


def finite_retention(admin: KafkaAdminClient, topics: list[str]) -> list[FiniteRetention]:
    """The topics among `topics` that do not keep everything."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    found = []
    for by_name in admin.describe_configs(resources, config_filter="all").values():
        for name, configs in by_name.items():
            value = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in configs.items()}
            ms, size = value.get("retention.ms"), value.get("retention.bytes")
            if str(ms) != "-1" or str(size) != "-1":
                found.append(FiniteRetention(name, ms, size))
    return found


def ensure_topics(settings: AggregatorSettings) -> int:
    """Create the missing topics, report any that expires records; return the events topic's
    partition count."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        wanted = wanted_topics(settings)
        existing = set(admin.list_topics())
        for topic in (t for t in wanted if t.name not in existing):
            # one at a time: another worker starting at once may create any of them first
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([topic], wait_for_metadata=True)
        for topic in finite_retention(admin, [t.name for t in wanted]):
            log.warning(
                "topic deletes records by age or size: a replay would rebuild from a shortened "
                "log; set retention.ms and retention.bytes to -1",
                topic=topic.topic,
                retention_ms=topic.retention_ms,
                retention_bytes=topic.retention_bytes,
            )
        (described,) = admin.describe_topics([settings.topic])
        return len(described["partitions"])
    finally:
        admin.close()
