"""Fixtures of the ingest tests: an app on the real broker, keys, and reading a topic back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import PROVINCE_KEY, PrivateBroker, Record, api_keys, read_topic
from tthc.units import UnitLevel, UnitTree, load_units


@pytest.fixture(scope="session")
def tree() -> UnitTree:
    return load_units("dong-nai")


@pytest.fixture(scope="session")
def commune(tree: UnitTree) -> str:
    """The commune the commune key covers."""
    return tree.units_at_level(UnitLevel.commune)[0].code


@pytest.fixture(scope="session")
def other_commune(tree: UnitTree, commune: str) -> str:
    """A commune outside the commune key's scope."""
    return next(u.code for u in tree.units_at_level(UnitLevel.commune) if u.code != commune)


@pytest.fixture
def make_settings(kafka_bootstrap: str, topic: str, commune: str) -> Callable[..., IngestSettings]:
    def make(**overrides: Any) -> IngestSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "topic": topic,
            "kafka_timeout": 5.0,
            "retry_after": 2,
            "api_keys": api_keys(commune),
            "log_json": True,
            **overrides,
        }
        return IngestSettings(**values)

    return make


@pytest.fixture
def client(make_settings: Callable[..., IngestSettings]) -> Iterator[TestClient]:
    """The ingest on the test broker, authenticated with the province key."""
    app = create_app(make_settings())
    with TestClient(app, headers={"Authorization": f"Bearer {PROVINCE_KEY}"}) as test_client:
        yield test_client


@pytest.fixture
def topic_records(kafka_bootstrap: str, topic: str) -> Callable[..., list[Record]]:
    def read(expect: int | None = None, timeout: float = 10.0) -> list[Record]:
        return read_topic(kafka_bootstrap, topic, expect=expect, timeout=timeout)

    return read


@pytest.fixture
def private_broker(tmp_path: Path, kafka_bootstrap: str) -> Iterator[PrivateBroker]:
    # Depends on kafka_bootstrap so that the jars are fetched and Java is known to work.
    broker = PrivateBroker(tmp_path / "kafka")
    broker.up()
    try:
        yield broker
    finally:
        broker.down()
