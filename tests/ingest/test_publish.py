"""Accepted events are in Kafka: right key, right body, one record per event; resends are not
(in structured or binary mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.ingest.helpers import (
    CE,
    Record,
    post_batch,
    post_binary,
    post_event,
    processed,
    received,
)
from tthc.events import parse_event


def test_one_event_is_acknowledged_after_kafka_has_it(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    event = received("H75-0001", commune)

    response = post_event(client, event)

    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "accepted"
    assert response.json()["id"] == "H75-0001/received"
    [record] = topic_records(expect=1)
    assert record.key == b"H75-0001"
    assert record.headers["content-type"] == b"application/cloudevents+json"
    # stamped with the key it came through: the aggregator judges ownership from it
    stamp = {"tthckey": "province", "tthcscope": "75"}
    assert record.value == {**parse_event(event).to_cloudevent(), **stamp}
    assert record.value["data"]["unit"] == commune


def test_a_stamp_sent_by_the_caller_is_replaced_by_the_keys_own(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    forged = {**received("H75-0009", commune), "tthckey": "someone", "tthcscope": "75 26068"}
    assert post_event(client, forged).status_code == 202
    [record] = topic_records(expect=1)
    assert (record.value["tthckey"], record.value["tthcscope"]) == ("province", "75")


def test_a_resend_that_differs_is_a_409_and_the_first_copy_stays(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    first = processed("H75-0010")
    other = {**first, "data": {"at": "2025-08-06T10:00:00+07:00"}}
    assert post_event(client, first).status_code == 202
    conflict = post_event(client, other)
    assert conflict.status_code == 409
    assert conflict.json()["reason"] == "conflict"
    assert conflict.json()["problems"][0]["field"] == "id"
    in_batch = post_batch(client, [other, first])
    assert [r["outcome"] for r in in_batch.json()["results"]] == ["rejected", "duplicate"]
    [record] = topic_records(expect=1)
    assert record.value["data"] == first["data"]


def test_plain_json_content_type_is_accepted_too(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    response = client.post(
        "/v1/events",
        content=orjson.dumps(received("H75-0002", commune)),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 202, response.text
    assert len(topic_records(expect=1)) == 1


def test_a_dossier_keeps_its_order_on_one_partition(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    codes = [f"H75-{n:04}" for n in range(8)]
    events = [received(code, commune) for code in codes] + [processed(code) for code in codes]

    response = post_batch(client, events)

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 16
    records = topic_records(expect=16)
    assert len(records) == 16
    for code in codes:
        mine = [r for r in records if r.key == code.encode()]
        assert [r.value["type"].split(".")[-2] for r in mine] == ["received", "processed"]
        assert len({r.partition for r in mine}) == 1


@pytest.mark.parametrize(
    ("post", "code"),
    [(post_event, "H75-0003"), (post_binary, "H75-B013")],
    ids=["structured", "binary"],
)
def test_a_resend_is_a_duplicate_in_either_mode_and_not_published_again(
    client: TestClient,
    commune: str,
    topic_records: Callable[..., list[Record]],
    post: Callable[..., Any],
    code: str,
) -> None:
    event = received(code, commune)

    first = post(client, event)
    again = post(client, event)
    structured = post_event(client, event)
    in_batch = post_batch(client, [event, processed(code), processed(code)])

    assert first.status_code == 202, first.text
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert (structured.status_code, structured.json()["outcome"]) == (200, "duplicate")
    assert [r["outcome"] for r in in_batch.json()["results"]] == [
        "duplicate",
        "accepted",
        "duplicate",  # the same (source, id) twice in one batch
    ]
    records = topic_records(expect=2)
    assert sorted(r.value["type"] for r in records) == [
        "vn.tthc.dossier.processed.v1",
        "vn.tthc.dossier.received.v1",
    ]


def test_same_id_from_another_source_is_another_event(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    one = received("H75-0004", commune, source="mot-cua")
    other = received("H75-0004", commune, source="mot-cua-huyen")
    assert post_event(client, one).status_code == 202
    assert post_event(client, other).status_code == 202
    assert len(topic_records(expect=2)) == 2


def test_ndjson_batch_reports_lines(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    lines = [
        orjson.dumps(received("H75-0005", commune)),
        b"",
        b"{not json",
        orjson.dumps(processed("H75-0005")),
    ]
    response = client.post(
        "/v1/events/batch",
        content=b"\n".join(lines) + b"\n",
        headers={"Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 1)
    assert [(r["index"], r["line"], r["outcome"]) for r in body["results"]] == [
        (0, 1, "accepted"),
        (1, 3, "rejected"),
        (2, 4, "accepted"),
    ]
    assert body["results"][1]["reason"] == "malformed_json"
    assert len(topic_records(expect=2)) == 2


def test_every_documented_example_is_accepted(
    client: TestClient, topic_records: Callable[..., list[Record]]
) -> None:
    examples = client.app.state.ingest.examples  # type: ignore[attr-defined]

    response = post_batch(client, list(examples.values()))

    assert response.status_code == 200, response.text
    rejected = [r for r in response.json()["results"] if r["outcome"] != "accepted"]
    assert rejected == []
    assert len(topic_records(expect=len(examples))) == len(examples)


def test_empty_batch_is_answered(client: TestClient) -> None:
    response = post_batch(client, [])
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicate": 0, "rejected": 0, "results": []}


def test_single_endpoint_refuses_a_batch_content_type(client: TestClient, commune: str) -> None:
    response = client.post(
        "/v1/events",
        content=orjson.dumps(received("H75-0006", commune)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert CE["Content-Type"] in response.json()["message"]


def test_concurrent_resends_publish_once(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    events = [received(f"H75-1{n:03}", commune) for n in range(50)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post_batch(client, events).json(), range(4)))

    assert sum(a["accepted"] for a in answers) == 50
    assert sum(a["duplicate"] for a in answers) == 150
    records = topic_records(expect=50)
    assert sorted(r.value["id"] for r in records) == sorted(e["id"] for e in events)
