"""The ClickHouse settings of every service that reads or writes it (the aggregator, the API)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from services.storage.schema import CLUSTER_SETTING_PATTERN, Layout


class ClickHouseSettings(BaseSettings):
    """Where ClickHouse is and how its tables lie; each service's settings add their prefix."""

    clickhouse_url: str = Field(
        "http://127.0.0.1:8123", description="http://host:8123 or chdb:///absolute/dir"
    )
    clickhouse_cluster: str = Field(
        "",
        pattern=CLUSTER_SETTING_PATTERN,
        description="ClickHouse cluster of remote_servers; empty: one node (docs/scaling.md)",
    )

    @property
    def layout(self) -> Layout:
        return Layout(self.clickhouse_cluster)
