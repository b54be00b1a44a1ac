"""The API's Prometheus metrics (names prefixed ``tthc_api_``), business gauges included."""

from __future__ import annotations

from services.observability import WebMetrics


class ApiMetrics(WebMetrics):
    def __init__(self) -> None:
        super().__init__("api")
        m = self.facade
        self.query_seconds = m.histogram(
            "clickhouse_query_seconds", "Duration of one ClickHouse query, by purpose", ["purpose"]
        )
        self.refresh_seconds = m.histogram(
            "snapshot_refresh_seconds", "Duration of one refresh of unit_scores"
        )
        self.refresh_failures = m.counter(
            "snapshot_refresh_failures_total", "Refreshes of unit_scores that failed"
        )
        self.refreshed_at = m.gauge(
            "snapshot_refreshed_timestamp_seconds",
            "When unit_scores was last refreshed",
        )
        # Business gauges from the last refresh, for alert rules and dashboards.
        self.unit_total = m.gauge(
            "unit_total_score", "A unit's total on 100", ["unit", "level", "period_kind"]
        )
        self.indicator_rate = m.gauge(
            "unit_indicator_rate",
            "A unit's rate of an indicator (0-1; an average in days for 2.2)",
            ["unit", "level", "indicator", "period_kind"],
        )
        self.indicator_counted = m.gauge(
            "unit_indicator_counted",
            "What a unit's indicator rate is out of: its parts' denominators added up",
            ["unit", "level", "indicator", "period_kind"],
        )
        self.turning_late = m.gauge(
            "dossiers_turning_late",
            "Open dossiers of a unit's subtree that turn late within the warning horizon",
            ["unit", "level"],
        )
