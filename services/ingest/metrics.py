"""The ingest's Prometheus metrics (names prefixed ``tthc_ingest_``)."""

from __future__ import annotations

from services.observability import WebMetrics

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class IngestMetrics(WebMetrics):
    def __init__(self) -> None:
        super().__init__("ingest")
        m = self.facade
        self.events = m.counter(
            "events_total",
            "Events by type and outcome (accepted, duplicate, rejected, unavailable) and reason",
            ["type", "outcome", "reason"],
        )
        self.integration_events = m.counter(
            "integration_events_total",
            "Events accepted, by integration (the API key's name): a silent one is an alert",
            ["integration"],
        )
        self.produce_seconds = m.histogram(
            "kafka_produce_seconds", "Time from handing events to Kafka until all are acknowledged"
        )
        self.produce_failures = m.counter(
            "kafka_produce_failures_total", "Publishes that Kafka did not acknowledge in time"
        )
        self.batch_size = m.histogram(
            "batch_size", "Events per batch request", buckets=BATCH_BUCKETS
        )
        self.kafka_up = m.gauge("kafka_up", "1 when the last Kafka check or publish succeeded")
        self.duplicate_window = m.gauge(
            "duplicate_window_entries", "(source, id) pairs remembered for duplicate detection"
        )
