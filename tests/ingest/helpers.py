"""Helpers of the ingest tests: events as integrations post them, keys, reading a topic."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi.testclient import TestClient

from services.auth import hash_key
from tests.conftest import KAFKA_SH

PROVINCE_KEY = "tthc_test_province_key_0123456789abcdef"
COMMUNE_KEY = "tthc_test_commune_key_0123456789abcdef"
SOURCE_BOUND_KEY = "tthc_test_kiosk_key_0123456789abcdef"
CE = {"Content-Type": "application/cloudevents+json"}


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: dict[str, Any]
    headers: dict[str, bytes]
    partition: int


def api_keys(commune: str) -> list[dict[str, Any]]:
    return [
        {"name": "province", "sha256": hash_key(PROVINCE_KEY), "scope": "75"},
        {"name": "commune", "sha256": hash_key(COMMUNE_KEY), "scope": commune},
        {
            "name": "kiosk",
            "sha256": hash_key(SOURCE_BOUND_KEY),
            "scope": "75",
            "sources": ["kiosk/*"],
        },
    ]


def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 10.0
) -> list[Record]:
    """Every record of the topic; waits for ``expect`` records, else until quiet for a moment."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1500 if expect is None else int(timeout * 1000),
    )
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        for message in consumer:
            records.append(
                Record(
                    key=message.key,
                    value=orjson.loads(message.value),
                    headers=dict(message.headers or []),
                    partition=message.partition,
                )
            )
            if expect is not None and len(records) >= expect:
                # A moment more: a record too many would show here.
                extra = consumer.poll(timeout_ms=500)
                for batch in extra.values():
                    for m in batch:
                        records.append(
                            Record(m.key, orjson.loads(m.value), dict(m.headers or []), m.partition)
                        )
                break
            if time.monotonic() > deadline:
                break
    finally:
        consumer.close()
    return records


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateBroker:
    """A broker of this test alone, so stopping it does not disturb the shared one."""

    def __init__(self, directory: Path) -> None:
        port = free_port()
        controller = free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_DIR": str(directory),
            "KAFKA_HEAP_OPTS": "-Xms64m -Xmx256m",
        }

    def _run(self, command: str) -> None:
        done = subprocess.run(
            [str(KAFKA_SH), command], env=self.env, capture_output=True, text=True, timeout=180
        )
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {command} failed:\n{done.stdout}{done.stderr}")

    def up(self) -> None:
        self._run("up")

    def down(self) -> None:
        self._run("down")


def cloudevent(
    kind: str,
    subject: str,
    time: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    source: str = "mot-cua",
) -> dict[str, Any]:
    """A structured CloudEvent of type `vn.tthc.<kind>.v1`, its id `<subject>/<last word>`."""
    return {
        "specversion": "1.0",
        "id": event_id or f"{subject}/{kind.rsplit('.', 1)[-1]}",
        "source": source,
        "type": f"vn.tthc.{kind}.v1",
        "subject": subject,
        "time": time,
        "data": data,
    }


def received(
    code: str,
    unit: str,
    *,
    source: str = "mot-cua",
    event_id: str | None = None,
    received_at: str = "2025-08-04T08:30:00+07:00",
    procedure: str = "1.001234.000.00.00.H75",
) -> dict[str, Any]:
    """A `dossier.received` CloudEvent as an integration posts it."""
    data = {"unit": unit, "procedure": procedure, "channel": 2, "received_at": received_at}
    event = cloudevent(
        "dossier.received", code, received_at, data, event_id=event_id, source=source
    )
    return event | {"datacontenttype": "application/json"}


def processed(code: str, *, at: str = "2025-08-05T10:00:00+07:00") -> dict[str, Any]:
    return cloudevent("dossier.processed", code, at, {"at": at})


def post_event(client: TestClient, event: Any, **headers: str) -> Any:
    return client.post("/v1/events", content=orjson.dumps(event), headers={**CE, **headers})


def post_batch(client: TestClient, events: list[Any], **headers: str) -> Any:
    return client.post(
        "/v1/events/batch",
        content=orjson.dumps(events),
        headers={"Content-Type": "application/cloudevents-batch+json", **headers},
    )


# The HTTP binding's percent-encoding leaves printable ASCII as it is, except space, '"' and '%'.
HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def binary_form(event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """The headers and body of ``event`` in binary content mode (CloudEvents HTTP binding)."""
    headers = {"Content-Type": event.get("datacontenttype", "application/json")}
    for name, value in event.items():
        if name not in ("data", "datacontenttype"):
            headers[f"ce-{name}"] = quote(str(value), safe=HEADER_SAFE)
    return headers, orjson.dumps(event["data"])


def post_binary(client: TestClient, event: dict[str, Any], **headers: str) -> Any:
    ce_headers, body = binary_form(event)
    return client.post("/v1/events", content=body, headers={**ce_headers, **headers})
