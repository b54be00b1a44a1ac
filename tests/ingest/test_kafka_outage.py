"""Kafka down: 503 with Retry-After and nothing reported accepted; Kafka back: accepting again.

The broker stopped here is a private one (its own port and data directory), so the shared
session broker keeps serving the other tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import (
    PROVINCE_KEY,
    PrivateBroker,
    free_port,
    post_batch,
    post_event,
    read_topic,
    received,
)

TOPIC = "tthc.events.outage"


def _assert_unavailable(response, retry_after: int) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(retry_after)
    body = response.json()
    assert body["error"] == "kafka_unavailable"
    assert body["retry_after"] == retry_after
    # No outcome per event: nothing of the request is reported accepted.
    assert "outcome" not in body and "results" not in body


def test_broker_stopped_then_started_again(
    private_broker: PrivateBroker,
    make_settings: Callable[..., IngestSettings],
    commune: str,
) -> None:
    settings = make_settings(
        kafka_bootstrap=private_broker.bootstrap, topic=TOPIC, kafka_timeout=3.0, retry_after=2
    )
    a, b, c, d = (received(f"H75-07{n:02}", commune) for n in range(4))
    with TestClient(
        create_app(settings), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
    ) as client:
        assert post_event(client, a).status_code == 202
        assert client.get("/readyz").status_code == 200

        private_broker.down()
        _assert_unavailable(post_event(client, b), retry_after=2)
        _assert_unavailable(post_batch(client, [c, d]), retry_after=2)
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()["kafka"]) == (503, False)
        metrics = client.get("/metrics").text
        assert 'tthc_ingest_events_total{outcome="unavailable"' in metrics

        private_broker.up()
        deadline = time.monotonic() + 60
        while (response := post_event(client, b)).status_code == 503:
            assert time.monotonic() < deadline, "the ingest did not recover"
            time.sleep(int(response.headers["Retry-After"]))
        assert response.status_code == 202, response.text
        batch = post_batch(client, [c, d, a])
        assert [r["outcome"] for r in batch.json()["results"]] == [
            "accepted",
            "accepted",
            "duplicate",
        ]
        assert client.get("/readyz").status_code == 200

    records = read_topic(private_broker.bootstrap, TOPIC, expect=4)
    assert sorted(r.value["id"] for r in records) == sorted(e["id"] for e in (a, b, c, d))


def test_broker_unreachable_from_the_start(
    make_settings: Callable[..., IngestSettings], commune: str
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    settings = make_settings(kafka_bootstrap=closed, kafka_timeout=1.0, retry_after=3)
    with TestClient(
        create_app(settings), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
    ) as client:
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        assert client.get("/readyz").status_code == 503
        started = time.monotonic()
        _assert_unavailable(post_event(client, received("H75-0800", commune)), retry_after=3)
        # Within Retry-After of a failed connection, the answer does not wait for Kafka again.
        assert time.monotonic() - started < 0.9
        # Bad input is still told apart from an outage: it is a 4xx, not a 503.
        bad = post_event(client, {**received("H75-0801", commune), "subject": ""})
        assert bad.status_code == 422
