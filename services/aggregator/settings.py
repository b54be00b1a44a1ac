"""Settings of the aggregator, from the environment (prefix ``TTHC_AGGREGATOR_``) or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.storage.schema import CLUSTER_SETTING_PATTERN, Layout


class AggregatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TTHC_AGGREGATOR_", extra="ignore", frozen=True)

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port…]")
    topic: str = "tthc.events"
    dead_letter_topic: str | None = Field(None, description="default: <topic>.dlq")
    catalog_topic: str | None = Field(
        None, description="procedure events copied for every worker; default: <topic>.catalog"
    )
    app_id: str = Field("tthc-aggregator", description="consumer group and changelog prefix")
    partitions: int = Field(
        12, ge=1, description="partitions of the events topic when the aggregator creates it"
    )
    replication_factor: int = Field(1, ge=1)
    session_timeout: float = Field(
        30.0, ge=6, description="seconds before a silent (crashed) worker's partitions move"
    )
    store: str = Field(
        "rocksdb://", description="Faust table store: rocksdb:// (rocksdict) or memory://"
    )
    data_dir: Path = Field(Path("var/aggregator"), description="Faust's tables on disk")

    # Batching: a batch is written to ClickHouse, and only then its offsets are committed.
    batch_size: int = Field(2000, ge=1, le=100_000)
    batch_seconds: float = Field(1.0, gt=0, le=60)
    reconcile_seconds: float = Field(
        1.0, gt=0, description="how often dossiers of changed procedures are derived again"
    )
    history_cache_size: int = Field(20_000, ge=0)
    write_retry_max_seconds: float = Field(30.0, gt=0, description="backoff cap on write errors")

    # ClickHouse and methodology
    clickhouse_url: str = Field(
        "http://127.0.0.1:8123", description="http://host:8123 or chdb:///absolute/dir"
    )
    clickhouse_cluster: str = Field(
        "",
        pattern=CLUSTER_SETTING_PATTERN,
        description="ClickHouse cluster of remote_servers; empty: one node (docs/scaling.md)",
    )
    profile: Path | None = Field(None, description="methodology profile (TOML); default built in")
    units: str = Field(
        "dong-nai",
        description="the ingest's unit set: whose dossier a key may touch is judged on it",
    )

    # Operations
    http_host: str = "127.0.0.1"
    http_port: int = Field(8002, ge=0, le=65535, description="/metrics and /healthz")
    log_level: str = "INFO"

    @property
    def layout(self) -> Layout:
        return Layout(self.clickhouse_cluster)

    @property
    def dlq_topic(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dlq"

    @property
    def catalog(self) -> str:
        return self.catalog_topic or f"{self.topic}.catalog"
