"""CloudEvents binary content mode on `POST /v1/events`: attributes as ce- headers, body = data.

A binary event is rebuilt into its structured envelope and takes the same path: same checks,
same scope and the same duplicates (each tested in both modes: test_auth.py, test_publish.py),
and the same Kafka record as the structured event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import (
    PROVINCE_KEY,
    Record,
    binary_form,
    post_binary,
    post_event,
    processed,
    received,
)
from tthc.events import parse_event

REQUIRED_HEADERS = ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-subject", "ce-time"]


def refused(
    response: Any, status: int, fields: list[str], topic_records: Callable[..., list[Record]]
) -> Any:
    """The request refused with `status`, naming `fields`, and nothing published: its body."""
    assert response.status_code == status, response.text
    assert [p["field"] for p in response.json()["problems"]] == fields
    assert topic_records() == []
    return response.json()


def test_a_binary_event_gives_the_same_record_as_its_structured_form(
    client: TestClient,
    make_settings: Callable[..., IngestSettings],
    commune: str,
    topic_records: Callable[..., list[Record]],
) -> None:
    # An extension attribute and a dataschema: both modes drop them alike from the record.
    event = received("H75-B001", commune) | {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "dataschema": "https://tthc.example/schemas/dossier.received.v1.json",
    }

    binary = post_binary(client, event)
    # A second ingest has an empty duplicate window: the structured twin is published too.
    with TestClient(
        create_app(make_settings()), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
    ) as other:
        structured = post_event(other, event)

    assert binary.status_code == 202, binary.text
    assert binary.json()["outcome"] == "accepted"
    assert binary.json() == structured.json()
    from_binary, from_structured = topic_records(expect=2)
    assert from_binary.key == from_structured.key == b"H75-B001"
    assert from_binary.value == from_structured.value
    assert from_binary.headers == from_structured.headers
    stamp = {"tthckey": "province", "tthcscope": "75"}  # the key it came through
    assert from_binary.value == {**parse_event(event).to_cloudevent(), **stamp}


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title], ids=["lower", "upper", "title"])
def test_header_names_are_case_insensitive(
    client: TestClient,
    commune: str,
    case: Callable[[str], str],
    topic_records: Callable[..., list[Record]],
) -> None:
    headers, body = binary_form(received("H75-B002", commune))
    sent = {case(name): value for name, value in headers.items()}

    response = client.post("/v1/events", content=body, headers=sent)

    assert response.status_code == 202, response.text
    [record] = topic_records(expect=1)
    assert record.value["id"] == "H75-B002/received"
    assert record.value["data"]["unit"] == commune


def test_header_values_are_percent_decoded(
    client: TestClient, topic_records: Callable[..., list[Record]]
) -> None:
    at = "2025-08-05T10:00:00+07:00"
    headers, body = binary_form(processed("H75-B003", at=at))
    headers["ce-source"] = "m%E1%BB%99t%20c%E1%BB%ADa/%C4%90%E1%BB%93ng%20Nai"
    headers["ce-time"] = "2025-08-05T10:00:00%2B07:00"  # "+" may be encoded, or not

    response = client.post("/v1/events", content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["source"] == "một cửa/Đồng Nai"
    [record] = topic_records(expect=1)
    assert record.value["source"] == "một cửa/Đồng Nai"
    assert record.value["time"] == at


def test_a_plus_sign_is_not_a_space(client: TestClient) -> None:
    # binary_form leaves "+" as it is, as the binding allows: it must stay a "+".
    headers, body = binary_form(processed("H75-B004", at="2025-08-05T10:00:00+07:00"))
    assert headers["ce-time"] == "2025-08-05T10:00:00+07:00"
    response = client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 202, response.text


def test_a_value_not_utf8_once_decoded_is_400(
    client: TestClient, topic_records: Callable[..., list[Record]]
) -> None:
    headers, body = binary_form(processed("H75-B005"))
    headers["ce-source"] = "mot-cua-%FF"
    response = client.post("/v1/events", content=body, headers=headers)
    assert refused(response, 400, ["ce-source"], topic_records)["error"] == "invalid_headers"


@pytest.mark.parametrize("missing", REQUIRED_HEADERS)
def test_a_missing_required_header_is_named(
    client: TestClient,
    commune: str,
    missing: str,
    topic_records: Callable[..., list[Record]],
) -> None:
    headers, body = binary_form(received("H75-B006", commune))
    del headers[missing]

    response = client.post("/v1/events", content=body, headers=headers)

    answer = refused(response, 422, [missing], topic_records)
    assert (answer["outcome"], answer["reason"]) == ("rejected", "invalid")


def test_a_bad_attribute_names_its_header_and_a_bad_field_its_data_path(
    client: TestClient, commune: str
) -> None:
    event = received("H75-B007", commune)

    bad_time = post_binary(client, event | {"time": "yesterday"})
    bad_channel = post_binary(client, event | {"data": {**event["data"], "channel": "fax"}})

    assert (bad_time.status_code, bad_channel.status_code) == (422, 422)
    assert [p["field"] for p in bad_time.json()["problems"]] == ["ce-time"]
    assert [p["field"] for p in bad_channel.json()["problems"]] == ["data.channel"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"unit": ', 400, "(body)"),  # not JSON
        (b"", 400, "(body)"),
        (b"[1, 2]", 422, "(body)"),  # JSON, but data must be an object
    ],
    ids=["truncated", "empty", "array"],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    client: TestClient,
    commune: str,
    body: bytes,
    status: int,
    field: str,
    topic_records: Callable[..., list[Record]],
) -> None:
    headers, _ = binary_form(received("H75-B008", commune))
    response = client.post("/v1/events", content=body, headers=headers)
    refused(response, status, [field], topic_records)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_data_that_is_not_json_is_415(
    client: TestClient,
    commune: str,
    content_type: str | None,
    topic_records: Callable[..., list[Record]],
) -> None:
    headers, body = binary_form(received("H75-B009", commune))
    del headers["Content-Type"]
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = client.post("/v1/events", content=body, headers=headers)

    answer = refused(response, 415, ["Content-Type"], topic_records)
    assert answer["error"] == "unsupported_media_type"


def test_no_key_is_401(client: TestClient, commune: str) -> None:
    response = post_binary(client, received("H75-B012", commune), Authorization="")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "extra",
    [
        [("ce-data", "{}")],
        [("ce-datacontenttype", "application/json")],
        [("ce-id", "H75-B014/other")],  # a second ce-id
    ],
    ids=["data", "datacontenttype", "twice"],
)
def test_headers_that_cannot_be_attributes_are_400(
    client: TestClient,
    commune: str,
    extra: list[tuple[str, str]],
    topic_records: Callable[..., list[Record]],
) -> None:
    headers, body = binary_form(received("H75-B014", commune))
    response = client.post("/v1/events", content=body, headers=[*headers.items(), *extra])
    refused(response, 400, [extra[0][0]], topic_records)


def test_structured_mode_ignores_stray_ce_headers(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    # application/cloudevents+json is structured mode whatever headers come along.
    event = received("H75-B015", commune)
    response = post_event(client, event, **{"ce-id": "something-else"})
    assert response.status_code == 202, response.text
    [record] = topic_records(expect=1)
    assert record.value["id"] == "H75-B015/received"


def test_binary_mode_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/events"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert set(REQUIRED_HEADERS) <= headers
    assert "Binary" in operation["description"]
