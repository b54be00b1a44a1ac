"""Settings of the query API, from the environment (prefix ``TTHC_API_``) or arguments.

Viewer tokens use the key documents of :mod:`services.auth` (a file, or JSON inline), e.g.
``TTHC_API_VIEWER_TOKENS='[{"name": "so-tu-phap", "sha256": "…", "scope": "75.STP"}]'``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.auth import ApiKey, load_keys
from services.storage.settings import ClickHouseSettings
from tthc.early_warning import DEFAULT_WARNING_HORIZON


class ApiSettings(ClickHouseSettings):  # clickhouse_url, clickhouse_cluster
    model_config = SettingsConfigDict(env_prefix="TTHC_API_", extra="ignore", frozen=True)

    # ClickHouse and methodology
    clickhouse_clients: int = Field(4, ge=1, le=64, description="queries run at once")
    profile: Path | None = Field(None, description="methodology profile (TOML); default built in")
    units: str = Field("dong-nai", description="packaged unit set name or a unit document path")

    # Who may read what
    viewer_tokens_file: Path | None = Field(None, description="TOML or JSON key document")
    viewer_tokens: list[ApiKey] = Field(default_factory=list, description="tokens inline (JSON)")
    integration_keys_file: Path | None = Field(
        None, description="the ingest's key document: integrators list their refused events"
    )
    integration_keys: list[ApiKey] = Field(default_factory=list, description="inline (JSON)")
    open_scores: bool = Field(
        True, description="scores, rankings and trends without a token (dossier lists need one)"
    )

    # The business gauges, computed from the windows when Prometheus scrapes
    gauges_cache_seconds: float = Field(
        5.0, ge=0, description="a scrape within this long of the last one reuses its gauges"
    )
    warning_horizon: timedelta = Field(
        DEFAULT_WARNING_HORIZON, description="horizon of the dossiers-turning-late gauge"
    )

    # Limits
    pipeline_stall_seconds: float = Field(
        60.0,
        gt=0,
        description="no watermark from the aggregator for this long: the pipeline is stale "
        "(idle) or stalled (with a backlog)",
    )
    max_page_size: int = Field(1000, ge=1, le=100_000)
    max_trend_points: int = Field(400, ge=1, le=10_000)

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    log_level: str = "INFO"
    log_json: bool = True

    def all_viewer_tokens(self) -> list[ApiKey]:
        """Tokens of the token file, then the inline ones."""
        from_file = load_keys(self.viewer_tokens_file) if self.viewer_tokens_file else []
        return [*from_file, *self.viewer_tokens]

    def all_integration_keys(self) -> list[ApiKey]:
        """The ingest's keys (its key file, then inline ones): what `/v1/rejections` takes."""
        from_file = load_keys(self.integration_keys_file) if self.integration_keys_file else []
        return [*from_file, *self.integration_keys]
