"""The API's Prometheus metrics (names prefixed ``tthc_api_``), business gauges included.

The business gauges carry scores: they live in a registry of their own, which `/metrics`
serves under the scores' access rule (always while scores are open; otherwise only to a viewer
token covering the province). The pipeline's metrics are always served.
"""

from __future__ import annotations

from services.observability import Metrics, WebMetrics


class ApiMetrics(WebMetrics):
    def __init__(self) -> None:
        super().__init__("api")
        m = self.facade
        self.query_seconds = m.histogram(
            "clickhouse_query_seconds", "Duration of one ClickHouse query, by purpose", ["purpose"]
        )
        self.unknown_procedure_dossiers = m.gauge(
            "unknown_procedure_dossiers",
            "Dossiers whose procedure is not configured (see GET /v1/unknown-procedures)",
        )
        # Business gauges, computed at scrape time from the windows, for alert rules.
        self.scores = b = Metrics("api")
        self.unit_total = b.gauge(
            "unit_total_score", "A unit's total on 100", ["unit", "level", "period_kind"]
        )
        self.indicator_rate = b.gauge(
            "unit_indicator_rate",
            "A unit's rate of an indicator (0-1; an average in days for 2.2)",
            ["unit", "level", "indicator", "period_kind"],
        )
        self.indicator_counted = b.gauge(
            "unit_indicator_counted",
            "What a unit's indicator rate is out of: its parts' denominators added up",
            ["unit", "level", "indicator", "period_kind"],
        )
        self.turning_late = b.gauge(
            "dossiers_turning_late",
            "Open dossiers of a unit's subtree that turn late within the warning horizon",
            ["unit", "level"],
        )

    def render(self, *, scores: bool = True) -> tuple[bytes, str]:
        """The exposition; the business gauges only with ``scores``."""
        body, content_type = self.facade.render()
        if scores:
            body += self.scores.render()[0]
        return body, content_type
