"""The aggregator's Prometheus metrics (names prefixed ``tthc_aggregator_``)."""

from __future__ import annotations

from services.observability import Metrics

BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 50_000)
LAG_BUCKETS = (1, 10, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400)


class AggregatorMetrics:
    def __init__(self) -> None:
        self.facade = m = Metrics("aggregator")
        self.events = m.counter(
            "events_total", "Valid events counted (written, windows included), by type", ["type"]
        )
        self.resends = m.counter("resent_events_total", "Events already in their entity's history")
        self.event_lag = m.histogram(
            "event_time_lag_seconds",
            "Wall-clock time at processing minus the event's own time",
            buckets=LAG_BUCKETS,
        )
        self.consumer_lag = m.gauge(
            "consumer_lag", "Records behind the end of the partition", ["topic", "partition"]
        )
        self.read_again = m.counter(
            "partitions_read_again_total",
            "Held partitions silent though records waited past their commit position: read "
            "again from it",
            ["topic", "partition"],
        )
        self.write_seconds = m.histogram(
            "clickhouse_write_seconds", "Duration of one insert into a facts table", ["table"]
        )
        self.write_rows = m.histogram(
            "clickhouse_write_rows", "Rows per insert into a facts table", ["table"], BATCH_BUCKETS
        )
        self.write_failures = m.counter(
            "clickhouse_write_failures_total", "Failed batch writes (retried until they succeed)"
        )
        self.batch_size = m.histogram(
            "batch_size", "Records per consumed batch", buckets=BATCH_BUCKETS
        )
        self.dead_letters = m.counter(
            "dead_letters_total", "Records sent to the dead-letter topic, by reason", ["reason"]
        )
        self.rejected = m.counter(
            "rejected_events_total",
            "Events refused by the aggregator (another unit's dossier, a differing resend), "
            "by reason; each is a row of the rejections table",
            ["reason"],
        )
        self.rederived = m.counter(
            "rederived_dossiers_total", "Dossier rows derived again after their procedure changed"
        )
        self.lost_records = m.counter(
            "log_lost_records_total",
            "Records between a committed offset and the log start, deleted before being read",
            ["topic", "partition"],
        )
        # The watermarks, also written to ClickHouse (pipeline_watermarks) for the API.
        self.committed_offset = m.gauge(
            "committed_offset", "Next offset to read, as committed", ["topic", "partition"]
        )
        self.log_end_offset = m.gauge(
            "log_end_offset", "End of the partition's log, as last fetched", ["topic", "partition"]
        )
        self.counted_to = m.gauge(
            "counted_to_timestamp_seconds",
            "Newest event time committed: the partition is counted up to it",
            ["topic", "partition"],
        )
        self.watermark_lag = m.gauge(
            "watermark_lag_seconds",
            "How long the facts have been behind the end of the log (0: every event counted)",
        )
        self.last_commit = m.gauge(
            "last_commit_timestamp_seconds", "When offsets were last committed (Unix time)"
        )
        self.catalog_procedures = m.gauge("catalog_procedures", "Procedures in the catalog")

    def render(self) -> tuple[bytes, str]:
        return self.facade.render()
