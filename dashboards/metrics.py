"""The Prometheus series the operations dashboard and the alert rules read, by service.

Names are the services' own (services/*/metrics.py, through services.observability.Metrics, which
prefixes `tthc_<service>_`); a test checks each one against the services' registries, with its
labels, so a renamed metric fails the build instead of blanking a panel or silencing an alert.
"""

from __future__ import annotations

JOBS = ("ingest", "aggregator", "api")  # scrape jobs of deploy/prometheus/prometheus*.yml
JOB_MATCHER = 'job=~"' + "|".join(JOBS) + '"'

# ingest
INGEST_EVENTS = "tthc_ingest_events_total"  # {type, outcome, reason}
INGEST_INTEGRATION_EVENTS = "tthc_ingest_integration_events_total"  # {integration}
INGEST_REQUESTS = "tthc_ingest_requests_total"  # {route, status}
INGEST_REQUEST_SECONDS = "tthc_ingest_request_seconds"  # histogram {route}
INGEST_PRODUCE_SECONDS = "tthc_ingest_kafka_produce_seconds"  # histogram
INGEST_PRODUCE_FAILURES = "tthc_ingest_kafka_produce_failures_total"
INGEST_KAFKA_UP = "tthc_ingest_kafka_up"

# aggregator
AGGREGATOR_EVENTS = "tthc_aggregator_events_total"  # {type}
AGGREGATOR_EVENT_LAG = "tthc_aggregator_event_time_lag_seconds"  # histogram
AGGREGATOR_CONSUMER_LAG = "tthc_aggregator_consumer_lag"  # {topic, partition}
AGGREGATOR_WRITE_SECONDS = "tthc_aggregator_clickhouse_write_seconds"  # histogram {table}
AGGREGATOR_WRITE_ROWS = "tthc_aggregator_clickhouse_write_rows"  # histogram {table}
AGGREGATOR_WRITE_FAILURES = "tthc_aggregator_clickhouse_write_failures_total"
AGGREGATOR_DEAD_LETTERS = "tthc_aggregator_dead_letters_total"  # {reason}
AGGREGATOR_COMMITTED = "tthc_aggregator_committed_offset"  # {topic, partition}
AGGREGATOR_LOG_END = "tthc_aggregator_log_end_offset"  # {topic, partition}
AGGREGATOR_COUNTED_TO = "tthc_aggregator_counted_to_timestamp_seconds"  # {topic, partition}
AGGREGATOR_READ_AGAIN = "tthc_aggregator_partitions_read_again_total"  # {topic, partition}
AGGREGATOR_LAST_COMMIT = "tthc_aggregator_last_commit_timestamp_seconds"

# api
API_REQUESTS = "tthc_api_requests_total"  # {route, status}
API_REQUEST_SECONDS = "tthc_api_request_seconds"  # histogram {route}
API_INDICATOR_RATE = "tthc_api_unit_indicator_rate"  # {unit, level, indicator, period_kind}
API_INDICATOR_COUNTED = "tthc_api_unit_indicator_counted"  # {unit, level, indicator, period_kind}
API_TURNING_LATE = "tthc_api_dossiers_turning_late"  # {unit, level}

# The pipeline watermark: how far behind the end of the event log the facts are, in seconds of
# wall-clock time (0 when every event in the log is counted).
AGGREGATOR_WATERMARK_LAG = "tthc_aggregator_watermark_lag_seconds"
# Series a rule may read before any service exports them (checked once one does): none now.
NOT_YET_EXPORTED: dict[str, frozenset[str]] = {}

# ClickHouse's own exporter (deploy/clickhouse/prometheus.xml), scrape job "clickhouse": every
# ProfileEvent as a counter, every asynchronous metric as a gauge (per disk: `_<disk name>`).
CLICKHOUSE_JOB = "clickhouse"
CLICKHOUSE_FAILED_QUERIES = "ClickHouseProfileEvents_FailedQuery"
CLICKHOUSE_DISK_AVAILABLE = "ClickHouseAsyncMetrics_DiskAvailable_default"
CLICKHOUSE_DISK_TOTAL = "ClickHouseAsyncMetrics_DiskTotal_default"
CLICKHOUSE_SERIES = (CLICKHOUSE_FAILED_QUERIES, CLICKHOUSE_DISK_AVAILABLE, CLICKHOUSE_DISK_TOTAL)
