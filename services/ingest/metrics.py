"""The ingest's Prometheus metrics (names prefixed ``tthc_ingest_``)."""

from __future__ import annotations

from services.observability import Metrics

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class IngestMetrics:
    def __init__(self) -> None:
        self.facade = Metrics("ingest")
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
        self.requests = m.counter(
            "requests_total", "HTTP requests by route and status", ["route", "status"]
        )
        self.request_seconds = m.histogram(
            "request_seconds", "HTTP request latency by route", ["route"]
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

    def render(self) -> tuple[bytes, str]:
        return self.facade.render()
