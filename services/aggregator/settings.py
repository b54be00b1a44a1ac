"""Settings of the aggregator, from the environment (prefix ``TTHC_AGGREGATOR_``) or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.storage.settings import ClickHouseSettings


class AggregatorSettings(ClickHouseSettings):  # clickhouse_url, clickhouse_cluster
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
    # Faust opens one RocksDB per partition held, by default with 3 write buffers of 64 MiB and
    # a 2 GiB block cache each: a worker's memory would grow with its partitions and writes.
    # A history is read once per batch that touches it, and the history cache keeps the hot
    # ones decoded: 4 MiB buffers and cache cost no measured speed against 8 and 16.
    rocksdb_write_buffer_bytes: int = Field(
        4 * 2**20, ge=2**20, description="rocksdb:// store: each of 2 write buffers, per partition"
    )
    rocksdb_block_cache_bytes: int = Field(
        4 * 2**20, ge=0, description="rocksdb:// store: block cache per partition"
    )

    # Batching: a batch is written to ClickHouse, and only then its offsets are committed.
    batch_size: int = Field(2000, ge=1, le=100_000)
    batch_seconds: float = Field(1.0, gt=0, le=60)
    reconcile_seconds: float = Field(
        1.0, gt=0, description="how often dossiers of changed procedures are derived again"
    )
    # Most of the worker's Python heap: 5,000 rather than 20,000 held the worker ~125 MiB lower
    # at 300,000 open dossiers, for ~7% of its speed on the simulated lifecycle (2026-12-04).
    history_cache_size: int = Field(5_000, ge=0, description="decoded histories kept")
    places_cache_size: int = Field(
        30_000,
        ge=0,
        description="where each recently written dossier's row is, by day (~300 bytes each); "
        "a dossier not among them costs a lookup in its batch",
    )
    write_retry_max_seconds: float = Field(30.0, gt=0, description="backoff cap on write errors")
    windows_margin_seconds: int = Field(
        60,
        ge=0,
        description="windows are judged this long before the ClickHouse server's clock: the "
        "most an API host's clock may lag it (an API judging before that reads the facts)",
    )

    windows_every_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="while a backlog drains, one window step (and commit) at least this often; "
        "caught up, one after every batch",
    )
    windows_every_records: int = Field(
        20_000, ge=1, description="... or once this many records wait for it"
    )

    watermark_seconds: float = Field(
        5.0, gt=0, description="how often the watermarks are written while no batch comes"
    )
    silent_partition_seconds: float = Field(
        30.0,
        gt=0,
        description="a held partition with records to read that no batch brought for this "
        "long is read again from its commit position",
    )

    # Dead letters: when they mean that something is wrong with every record, the worker stops.
    dead_letter_max_ratio: float | None = Field(
        0.5, gt=0, le=1, description="stop past this share of dead letters (None: never)"
    )
    dead_letter_ratio_after: int = Field(
        1000, ge=1, description="records seen since the start before the share is judged"
    )
    dead_letter_max_in_a_row: int | None = Field(
        1000, ge=1, description="stop past this many dead letters in a row (None: never)"
    )

    # ClickHouse and methodology
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
    def dlq_topic(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dlq"

    @property
    def catalog(self) -> str:
        return self.catalog_topic or f"{self.topic}.catalog"
