"""Fixtures for tests that need the real components: a Kafka broker and embedded ClickHouse.

No mocks: `kafka_bootstrap` reuses a broker already answering on 127.0.0.1:$KAFKA_PORT
(default 19092, away from the demo's 9092) or starts one with deploy/kafka/kafka.sh in
var/kafka-test, and stops it at the end of the session only if it started it.
`clickhouse` is a clickhouse-connect client on the chDB backend, on disk under tmp_path.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
TEST_KAFKA_DIR = ROOT / "var" / "kafka-test"
DEFAULT_TEST_KAFKA_PORT = 19092


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kafka: needs a real Kafka broker (the kafka_bootstrap fixture starts one); "
        "deselect with -m 'not kafka'",
    )
    # kafka-python 3.0 loads its protocol schemas with importlib.resources calls that
    # Python 3.11 deprecates: noise from a dependency, hundreds of lines per run.
    for message in ("read_text is deprecated", "open_text is deprecated"):
        config.addinivalue_line("filterwarnings", f"ignore:{message}:DeprecationWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that uses the broker is a kafka test, marked or not.
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Wait until the broker answers a metadata request, not only a TCP connect."""
    from kafka.admin import KafkaAdminClient

    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except Exception as exc:  # any failure means "not ready yet"
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka at {bootstrap} does not answer: {exc!r}") from exc
            time.sleep(0.5)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`127.0.0.1:PORT` of a running single-node Kafka (KRaft)."""
    port = int(os.environ.get("KAFKA_PORT", DEFAULT_TEST_KAFKA_PORT))
    bootstrap = f"127.0.0.1:{port}"
    if _port_answers(port):
        _wait_for_broker(bootstrap)
        yield bootstrap
        return

    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_DIR": str(TEST_KAFKA_DIR)}
    env.pop("KAFKA_CONTROLLER_PORT", None)  # port + 1, never the demo broker's
    # A new cluster each session: tests make their own topics, and nothing stale is left.
    subprocess.run([str(KAFKA_SH), "down"], env=env, check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(TEST_KAFKA_DIR / "data")], check=True)
    up = subprocess.run([str(KAFKA_SH), "up"], env=env, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        pytest.fail(
            f"could not start Kafka for the tests ({KAFKA_SH.relative_to(ROOT)} up):\n"
            f"{up.stdout}{up.stderr}",
            pytrace=False,
        )
    try:
        _wait_for_broker(bootstrap)
        yield bootstrap
    finally:
        subprocess.run([str(KAFKA_SH), "down"], env=env, check=False, capture_output=True)


@pytest.fixture
def topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty topic with 4 partitions, unique to this test; deleted afterwards."""
    from kafka.admin import KafkaAdminClient

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60]
    name = f"test.{slug}.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics(
            {name: {"num_partitions": 4, "replication_factor": 1}}, wait_for_metadata=True
        )
        yield name
        admin.delete_topics([name], raise_errors=False)
    finally:
        admin.close()


@pytest.fixture
def clickhouse_dsn(tmp_path: Path) -> str:
    """A chDB DSN on a fresh directory: `chdb:///absolute/path` (three slashes).

    clickhouse-connect reads `chdb://memory/db` as netloc + database, so a path must be
    absolute to land after the third slash. One process can hold only one chDB path at a
    time: close every client on it before opening another path.
    """
    return f"chdb://{tmp_path / 'ch'}"


@pytest.fixture
def clickhouse(clickhouse_dsn: str):
    """A clickhouse-connect client on embedded ClickHouse (chDB), closed afterwards."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=clickhouse_dsn)
    try:
        yield client
    finally:
        client.close()
