"""No key, token or hash in any log line, on any error path: a real ingest process is driven
through a client disconnecting mid-body, unknown keys, bad bodies and Kafka being away, and
every line it wrote is searched."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog

from services.auth import generate_key, hash_key
from services.observability import configure_logging, get_logger

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    key = generate_key()
    port = free_port()
    env = {
        **os.environ,
        "TTHC_INGEST_API_KEYS": json.dumps(
            [{"name": "commune", "sha256": hash_key(key), "scope": "75"}]
        ),
        "TTHC_INGEST_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "TTHC_INGEST_KAFKA_TIMEOUT": "1",
        "TTHC_INGEST_LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "ingest", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, key, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def disconnect_mid_body(url: str, key: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(
            (
                "POST /v1/events/batch HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {key}\r\n"
                "Content-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n"
            ).encode()
            + b'{"specversion": "1.0", "id": "half'
        )
        time.sleep(0.3)


def test_no_secret_reaches_a_log_line_on_any_error_path(ingest: tuple[str, str, Path]) -> None:
    url, key, log = ingest
    disconnect_mid_body(url, key)
    wrong = generate_key()
    bearer = {"Authorization": f"Bearer {key}"}
    httpx.post(f"{url}/v1/events", headers={"Authorization": f"Bearer {wrong}"}, content=b"{}")
    httpx.post(f"{url}/v1/events", headers={"X-API-Key": wrong}, content=b"{}")
    httpx.post(
        f"{url}/v1/events",
        headers={**bearer, "Content-Type": "application/cloudevents+json"},
        content=b"{not json",
    )
    event = {
        "specversion": "1.0",
        "id": "x/processed",
        "source": "mot-cua",
        "type": "vn.tthc.dossier.processed.v1",
        "subject": "H75.25195-250804-0001",
        "time": "2025-08-05T10:00:00+07:00",
        "data": {"at": "2025-08-05T10:00:00+07:00"},
    }
    unavailable = httpx.post(f"{url}/v1/events", headers=bearer, json=event, timeout=30)
    assert unavailable.status_code == 503  # Kafka is away: the publisher's error path ran
    time.sleep(1.0)

    lines = log.read_text(encoding="utf-8").splitlines()
    requests = [json.loads(line) for line in lines if line.startswith("{")]
    assert {"route": "/v1/events/batch", "status": 400} in [
        {k: r.get(k) for k in ("route", "status")} for r in requests
    ], lines  # the disconnect: one request line, no traceback
    secrets = [key, wrong, hash_key(key), hash_key(wrong), key.removeprefix("tthc_")]
    leaking = [line for line in lines if any(s in line for s in secrets)]
    assert leaking == []
    assert not any(len(line) > 20_000 for line in lines)


def test_a_traceback_keeps_no_locals_and_redacts_what_looks_like_a_credential(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = generate_key()
    configure_logging("test", "INFO", json=True)
    try:
        headers = {"authorization": f"Bearer {key}"}  # a frame local of the failing code

        def fail() -> None:
            raise ValueError(f"refused {headers!r} and sha256 {hash_key(key)}")

        try:
            fail()
        except ValueError as error:
            get_logger("test").error("boom", error=repr(error), exc_info=error, api_key=key)
    finally:
        structlog.reset_defaults()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    document = json.loads(line)
    assert document["event"] == "boom" and document["exception"]
    assert key not in line and hash_key(key) not in line and "headers" not in line.split("{")[0]
    assert all("locals" not in frame for e in document["exception"] for frame in e["frames"])
