"""Bad input gets a clear 4xx naming the field and the reason, and nothing of it is published."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import (
    CE,
    PROVINCE_KEY,
    Record,
    cloudevent,
    post_batch,
    post_event,
    processed,
    received,
)


def _with(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with the dotted ``path`` set (or removed when value is ...)."""
    copy = orjson.loads(orjson.dumps(event))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return copy


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=2)).isoformat()


# (case, mutate the good event, status, reason, fields named)
CASES: list[tuple[str, Callable[[dict[str, Any]], Any], int, str, set[str]]] = [
    ("wrong type", lambda e: _with(e, "data.channel", "online"), 422, "invalid", {"data.channel"}),
    ("wrong time", lambda e: _with(e, "time", "yesterday"), 422, "invalid", {"time"}),
    ("naive time", lambda e: _with(e, "time", "2025-08-04T08:30:00"), 422, "invalid", {"time"}),
    ("missing subject", lambda e: _with(e, "subject", ...), 422, "invalid", {"subject"}),
    ("missing unit", lambda e: _with(e, "data.unit", ...), 422, "invalid", {"data.unit"}),
    ("unknown field", lambda e: _with(e, "data.color", "red"), 422, "invalid", {"data.color"}),
    ("bad spec", lambda e: _with(e, "specversion", "0.3"), 422, "invalid", {"specversion"}),
    ("not an object", lambda e: [e], 422, "invalid", {"(event)"}),
    (
        "unknown type",
        lambda e: _with(e, "type", "vn.tthc.dossier.teleported.v1"),
        422,
        "unknown_type",
        {"type"},
    ),
    (
        "far future",
        lambda e: _with(_with(e, "time", _future()), "data.received_at", _future()),
        422,
        "future_time",
        {"time", "data.received_at"},
    ),
    ("unknown unit", lambda e: _with(e, "data.unit", "99999"), 422, "unknown_unit", {"data.unit"}),
]


@pytest.mark.parametrize(
    ("mutate", "status", "reason", "fields"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_event_is_refused_naming_the_field(
    client: TestClient,
    commune: str,
    topic_records: Callable[..., list[Record]],
    mutate: Callable[[dict[str, Any]], Any],
    status: int,
    reason: str,
    fields: set[str],
) -> None:
    bad = mutate(received("H75-0100", commune))

    single = post_event(client, bad)
    batch = post_batch(client, [bad])

    assert single.status_code == status, single.text
    body = single.json()
    assert (body["outcome"], body["reason"]) == ("rejected", reason)
    assert {p["field"] for p in body["problems"]} == fields
    assert all(p["reason"] for p in body["problems"])
    assert " / " in body["message"]  # Vietnamese / English
    [result] = batch.json()["results"]
    assert (result["outcome"], result["reason"]) == ("rejected", reason)
    assert {p["field"] for p in result["problems"]} == fields
    # Nothing of it was published: a good event afterwards is alone on the topic.
    assert post_event(client, received("H75-0101", commune)).status_code == 202
    assert [r.key for r in topic_records(expect=1)] == [b"H75-0101"]


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/v1/events", content=b'{"id": "x",', headers=CE)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "malformed_json"
    assert body["problems"][0]["field"] == "(body)"
    assert "not valid JSON" in body["problems"][0]["reason"]


def test_batch_must_be_an_array(client: TestClient, commune: str) -> None:
    response = post_batch(client, received("H75-0102", commune))  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.json()["error"] == "not_a_batch"


def test_unknown_unit_in_a_transfer_names_to_unit(client: TestClient, commune: str) -> None:
    event = {
        "specversion": "1.0",
        "id": "PAKN-1/transferred",
        "source": "pakn",
        "type": "vn.tthc.feedback.transferred.v1",
        "subject": "PAKN-1",
        "time": "2025-08-04T09:00:00+07:00",
        "data": {"at": "2025-08-04T09:00:00+07:00", "to_unit": "75.NOPE"},
    }
    response = post_event(client, event)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["problems"]] == ["data.to_unit"]


def test_a_merged_unit_is_known(client: TestClient) -> None:
    # Bình Phước (70) was merged into Đồng Nai (75): history sent with its code still counts.
    assert post_event(client, received("H70-0001", "70")).status_code == 202


@pytest.fixture
def limited(make_settings: Callable[..., IngestSettings]) -> Iterator[TestClient]:
    settings = make_settings(max_body_bytes=4096, max_batch_events=3, max_event_bytes=2048)
    with TestClient(
        create_app(settings), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
    ) as test_client:
        yield test_client


def test_oversized_body_is_413(
    limited: TestClient, topic_records: Callable[..., list[Record]]
) -> None:
    padding = {"reason": "x" * 5000}
    big = processed("H75-0200") | {"data": {"at": "2025-08-05T10:00:00+07:00", **padding}}

    single = post_event(limited, big)
    batch = post_batch(limited, [big])

    assert single.status_code == 413
    assert single.json()["error"] == "body_too_large"
    assert batch.status_code == 413
    assert topic_records() == []


def test_oversized_event_in_a_batch_is_rejected_alone(
    limited: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    big = {
        **processed("H75-0210"),
        "type": "vn.tthc.dossier.stopped.v1",
        "data": {"at": "2025-08-05T10:00:00+07:00", "reason": "x" * 2500},
    }
    response = post_batch(limited, [received("H75-0210", commune), big])
    assert response.status_code == 200, response.text
    outcomes = [(r["outcome"], r["reason"]) for r in response.json()["results"]]
    assert outcomes == [("accepted", None), ("rejected", "too_large")]
    assert post_event(limited, big).status_code == 413
    assert len(topic_records(expect=1)) == 1


def test_too_many_events_is_413(
    limited: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    events = [received(f"H75-03{n:02}", commune) for n in range(4)]
    as_array = post_batch(limited, events)
    as_ndjson = limited.post(
        "/v1/events/batch",
        content=b"\n".join(orjson.dumps(e) for e in events),
        headers={"Content-Type": "application/x-ndjson"},
    )
    for response in (as_array, as_ndjson):
        assert response.status_code == 413
        assert response.json()["error"] == "too_many_events"
    assert topic_records() == []


def test_mixed_batch_lets_the_good_events_through(
    client: TestClient, commune: str, topic_records: Callable[..., list[Record]]
) -> None:
    good = [received("H75-0400", commune), processed("H75-0400")]
    bad = [
        _with(received("H75-0401", commune), "data.unit", "99999"),
        "not an event",
        _with(processed("H75-0402"), "type", "vn.tthc.unknown.v1"),
    ]
    response = post_batch(client, [bad[0], good[0], bad[1], bad[2], good[1]])

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    assert [r["outcome"] for r in body["results"]] == [
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert body["results"][0]["id"] == "H75-0401/received"  # as sent, to find it
    records = topic_records(expect=2)
    assert sorted(r.value["id"] for r in records) == ["H75-0400/processed", "H75-0400/received"]


@pytest.fixture
def with_catalogue(
    make_settings: Callable[..., IngestSettings], tmp_path: Path
) -> Iterator[TestClient]:
    catalogue = tmp_path / "procedures.txt"
    catalogue.write_text("# thủ tục của tỉnh\n1.001234.000.00.00.H75\n", encoding="utf-8")
    with TestClient(
        create_app(make_settings(procedures_file=catalogue)),
        headers={"Authorization": f"Bearer {PROVINCE_KEY}"},
    ) as test_client:
        yield test_client


def _configured(code: str) -> dict[str, Any]:
    at = "2025-08-01T08:00:00+07:00"
    data = {
        "at": at,
        "name": "Cấp giấy phép xây dựng",
        "authority_levels": ["commune"],
        "online_service": "full",
    }
    return cloudevent("procedure.configured", code, at, data, source="csdl-tthc")


def test_unknown_procedure_with_a_catalogue(with_catalogue: TestClient, commune: str) -> None:
    new = "2.000111.000.00.00.H75"
    known = post_event(with_catalogue, received("H75-0500", commune))
    unknown = post_event(with_catalogue, received("H75-0501", commune, procedure=new))
    assert known.status_code == 202
    assert unknown.status_code == 422
    assert unknown.json()["reason"] == "unknown_procedure"
    assert [p["field"] for p in unknown.json()["problems"]] == ["data.procedure"]

    # Configured earlier in the same batch: known.
    batch = post_batch(
        with_catalogue, [_configured(new), received("H75-0502", commune, procedure=new)]
    )
    assert [r["outcome"] for r in batch.json()["results"]] == ["accepted", "accepted"]
    # And from then on.
    later = post_event(with_catalogue, received("H75-0503", commune, procedure=new))
    assert later.status_code == 202
