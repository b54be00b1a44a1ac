"""The integrator's manual (OpenAPI, event catalogue) and the operator's endpoints."""

from __future__ import annotations

from collections.abc import Callable

import jsonschema
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import post_batch, post_event, received
from tests.offline_docs import assert_docs_served_offline
from tthc.events import EVENT_TYPES


def test_event_types_catalogue(client: TestClient) -> None:
    response = client.get("/v1/event-types", headers={"Authorization": ""})  # public
    assert response.status_code == 200
    catalogue = {t["type"]: t for t in response.json()}
    assert set(catalogue) == set(EVENT_TYPES)
    received_type = catalogue["vn.tthc.dossier.received.v1"]
    assert received_type["entity"] == "dossier"
    assert received_type["status"] == 2
    assert "unit" in received_type["data_schema"]["required"]
    for info in catalogue.values():
        # Every example satisfies the schema shown next to it.
        jsonschema.validate(info["example"]["data"], info["data_schema"])
        assert info["example"]["type"] == info["type"]


def test_openapi_has_a_worked_example_for_every_type(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    for kind in ("application/cloudevents+json", "application/json"):
        examples = body[kind]["examples"]
        assert set(examples) == set(EVENT_TYPES)
        validator = jsonschema.Draft202012Validator(body[kind]["schema"])
        for example in examples.values():
            validator.validate(example["value"])
    batch = spec["paths"]["/v1/events/batch"]["post"]["requestBody"]["content"]
    assert {"application/cloudevents-batch+json", "application/x-ndjson"} <= set(batch)
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    responses = spec["paths"]["/v1/events"]["post"]["responses"]
    assert {"202", "200", "400", "401", "403", "413", "415", "422", "503"} <= set(responses)


def test_the_docs_pages_work_offline(client: TestClient) -> None:
    assert_docs_served_offline(client)


def test_health_readiness_and_metrics(client: TestClient, commune: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "kafka": None}
    assert client.get("/readyz").json() == {"status": "ready", "kafka": True}
    post_event(client, received("H75-0900", commune))
    post_event(client, received("H75-0900", commune))
    post_batch(client, [received("H75-0901", "99999"), received("H75-0902", commune)])

    text = client.get("/metrics").text

    type_ = "vn.tthc.dossier.received.v1"
    assert f'tthc_ingest_events_total{{outcome="accepted",reason="",type="{type_}"}} 2.0' in text
    assert f'tthc_ingest_events_total{{outcome="duplicate",reason="",type="{type_}"}} 1.0' in text
    rejected = f'outcome="rejected",reason="unknown_unit",type="{type_}"'
    assert f"tthc_ingest_events_total{{{rejected}}} 1.0" in text
    assert 'tthc_ingest_request_seconds_count{route="/v1/events"} 2.0' in text
    assert "tthc_ingest_kafka_produce_seconds_count 2.0" in text  # not for the duplicate
    assert "tthc_ingest_batch_size_count 1.0" in text
    assert 'tthc_ingest_requests_total{route="/v1/events/batch",status="200"} 1.0' in text
    assert "tthc_ingest_kafka_up 1.0" in text
    # per integration (key name), those that sent nothing at 0: a silent source shows
    assert 'tthc_ingest_integration_events_total{integration="province"} 2.0' in text
    assert 'tthc_ingest_integration_events_total{integration="commune"} 0.0' in text


def test_two_apps_in_one_process_have_their_own_metrics(
    make_settings: Callable[..., IngestSettings],
) -> None:
    first, second = create_app(make_settings()), create_app(make_settings())
    assert first.state.ingest.metrics is not second.state.ingest.metrics
