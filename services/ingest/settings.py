"""Settings of the ingest service, from the environment (prefix ``TTHC_INGEST_``) or arguments.

Durations accept seconds (``"900"``) or ISO 8601 (``"PT15M"``). Lists and keys given in the
environment are JSON, e.g. ``TTHC_INGEST_API_KEYS='[{"name": "kiosk", "sha256": "…",
"scope": "26068"}]'``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.auth import ApiKey, load_keys
from services.ingest.checks import EARLIEST_TIME, EventPolicy
from tthc.units import UnitTree


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TTHC_INGEST_", extra="ignore", frozen=True)

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port…]")
    topic: str = "tthc.events"
    kafka_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds a publish may take before the answer is 503"
    )
    kafka_linger_ms: int = Field(5, ge=0, le=1000)
    retry_after: int = Field(5, ge=1, description="Retry-After seconds sent with a 503")

    # Who may send
    api_keys_file: Path | None = Field(None, description="TOML or JSON key document")
    api_keys: list[ApiKey] = Field(default_factory=list, description="keys given inline (JSON)")
    allow_anonymous: bool = Field(
        False, description="development only: a request without a key covers the whole tree"
    )

    # What may be sent
    units: str = Field("dong-nai", description="packaged unit set name or a unit document path")
    procedures_file: Path | None = Field(
        None,
        description="known procedure codes (JSON list, or one per line); unset: not checked",
    )
    earliest_time: AwareDatetime = Field(
        EARLIEST_TIME, description="events, receipts and due dates before it are refused"
    )
    max_future_skew: timedelta = Field(timedelta(minutes=15), ge=timedelta(0))
    max_batch_events: int = Field(1000, ge=1, le=100_000)
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_event_bytes: int = Field(
        256 * 1024,
        ge=1024,
        le=900 * 1024,
        description="one event, as published (Kafka's own limit is 1 MiB)",
    )

    # Resends
    duplicate_window_size: int = Field(200_000, ge=0, description="(source, id) pairs remembered")
    duplicate_retention: timedelta = Field(timedelta(hours=24), ge=timedelta(0))

    # Logs
    log_level: str = "INFO"
    log_json: bool = True

    def all_keys(self) -> list[ApiKey]:
        """Keys of the key file, then the inline ones."""
        from_file = load_keys(self.api_keys_file) if self.api_keys_file is not None else []
        return [*from_file, *self.api_keys]

    def event_policy(self, tree: UnitTree) -> EventPolicy:
        """The checks of every event this ingest (or a file check of its rules) applies."""
        return EventPolicy(
            tree,
            procedures=self.known_procedures(),
            max_future_skew=self.max_future_skew,
            earliest_time=self.earliest_time,
            max_event_bytes=self.max_event_bytes,
        )

    def known_procedures(self) -> frozenset[str] | None:
        """The procedure catalogue, or None when procedures are not checked."""
        if self.procedures_file is None:
            return None
        text = self.procedures_file.read_text(encoding="utf-8")
        if self.procedures_file.suffix == ".json":
            document = json.loads(text)
            codes = document.get("procedures", []) if isinstance(document, dict) else document
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError(f"{self.procedures_file}: expected a list of procedure codes")
            return frozenset(codes)
        return frozenset(
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        )
