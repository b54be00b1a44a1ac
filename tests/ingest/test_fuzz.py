"""Property-based fuzzing: whatever is sent, never a 5xx; 202 only for valid events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.app import create_app
from tests.ingest.helpers import COMMUNE_KEY, HEADER_SAFE, PROVINCE_KEY, api_keys
from tthc.events import EventError, parse_event

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
# Values that hit the validators' edges more often than random text does.
edgy = json_values | st.sampled_from(
    [
        "",
        "1.0",
        "75",
        "99999",
        "2025-08-04T08:30:00+07:00",
        "2999-01-01T00:00:00Z",
        "2025-08-04T08:30:00",
        "2025-08-04",
        "vn.tthc.dossier.received.v1",
        -1,
        0,
        10**14,
        [],
        {},
    ]
)


@pytest.fixture(scope="module")
def fuzz_client(kafka_bootstrap: str, tree: Any) -> Iterator[TestClient]:
    from services.ingest.settings import IngestSettings

    commune = tree.units_at_level("commune")[0].code
    settings_ = IngestSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic=f"test.ingest.fuzz.{uuid.uuid4().hex[:8]}",
        kafka_timeout=5.0,
        api_keys=api_keys(commune),
        max_batch_events=20,
        max_body_bytes=64 * 1024,
        log_level="WARNING",
    )
    with TestClient(
        create_app(settings_), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
    ) as client:
        yield client


@st.composite
def mutated_events(draw: st.DrawFn, examples: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid example with a few fields replaced, removed or added, at either level."""
    event = orjson.loads(orjson.dumps(draw(st.sampled_from(examples))))
    for _ in range(draw(st.integers(0, 3))):
        target = (
            event["data"] if draw(st.booleans()) and isinstance(event.get("data"), dict) else event
        )
        keys = sorted(target) or ["x"]
        name = draw(st.sampled_from(keys) | st.text(min_size=1, max_size=8))
        if draw(st.integers(0, 3)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(edgy)
    return event


def _assert_sane(response: Any) -> None:
    assert response.status_code < 500, response.text
    response.json()  # always a JSON answer


def _examples(client: TestClient) -> list[dict[str, Any]]:
    return list(client.app.state.ingest.examples.values())  # type: ignore[attr-defined]


def test_any_json_to_the_single_endpoint(fuzz_client: TestClient) -> None:
    examples = _examples(fuzz_client)
    statuses: list[int] = []

    @FUZZ
    @given(
        body=json_values | mutated_events(examples),
        key=st.sampled_from([PROVINCE_KEY, COMMUNE_KEY]),
    )
    def check(body: Any, key: str) -> None:
        response = fuzz_client.post(
            "/v1/events",
            content=orjson.dumps(body),
            headers={
                "Content-Type": "application/cloudevents+json",
                "Authorization": f"Bearer {key}",
            },
        )
        _assert_sane(response)
        statuses.append(response.status_code)
        if response.status_code in (200, 202):
            # Accepted or duplicate only when the domain agrees the event is valid.
            try:
                parse_event(body)
            except EventError as error:  # pragma: no cover - the failure message
                pytest.fail(f"accepted an invalid event: {error}")
        else:
            # 409: the same (source, id) the fuzzer sent before, with another payload
            assert response.status_code in (400, 403, 409, 413, 422), response.text

    check()
    # The fuzzing reached Kafka too, not only the validators.
    assert 202 in statuses and 422 in statuses


def test_any_batch(fuzz_client: TestClient) -> None:
    examples = _examples(fuzz_client)

    @FUZZ
    @given(
        events=st.lists(json_values | mutated_events(examples), max_size=25), ndjson=st.booleans()
    )
    def check(events: list[Any], ndjson: bool) -> None:
        if ndjson:
            body = b"\n".join(orjson.dumps(e) for e in events)
            kind = "application/x-ndjson"
        else:
            body, kind = orjson.dumps(events), "application/cloudevents-batch+json"
        response = fuzz_client.post(
            "/v1/events/batch", content=body, headers={"Content-Type": kind}
        )
        _assert_sane(response)
        if len(events) > 20:
            assert response.status_code == 413
        elif response.status_code == 200:
            results = response.json()["results"]
            assert len(results) == len(events)
            for event, result in zip(events, results, strict=True):
                if result["outcome"] != "rejected":
                    parse_event(event)

    check()


def test_any_bytes_and_content_type(fuzz_client: TestClient) -> None:
    @FUZZ
    @given(
        body=st.binary(max_size=300),
        kind=st.sampled_from(
            [
                "application/cloudevents+json",
                "application/json",
                "application/x-ndjson",
                "application/cloudevents-batch+json",
                "text/plain",
                "",
            ]
        ),
        path=st.sampled_from(["/v1/events", "/v1/events/batch"]),
    )
    def check(body: bytes, kind: str, path: str) -> None:
        response = fuzz_client.post(path, content=body, headers={"Content-Type": kind})
        _assert_sane(response)

    check()


# Header values as a sender may write them: percent-encoded text, or raw percent noise.
header_values = st.text(max_size=30).map(lambda t: quote(t, safe=HEADER_SAFE)) | st.sampled_from(
    ["%", "%FF", "%zz", "%C3", "2025-08-04T08:30:00%2B07:00", "1.0"]
)


@st.composite
def binary_requests(
    draw: st.DrawFn, examples: list[dict[str, Any]]
) -> tuple[list[tuple[str, str]], Any]:
    """A mutated example in binary mode, with headers dropped, added, repeated or re-cased."""
    event = draw(mutated_events(examples))
    headers = [
        (f"ce-{name}", quote(str(value), safe=HEADER_SAFE))
        for name, value in event.items()
        if name not in ("data", "datacontenttype") and re.fullmatch(r"[A-Za-z0-9_]+", name)
    ]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(
            st.sampled_from([n for n, _ in headers] or ["ce-id"])
            | st.from_regex(r"\Ace-[A-Za-z0-9_]{0,10}\Z")
        )
        headers.append((draw(st.sampled_from([name, name.upper()])), draw(header_values)))
    if headers and draw(st.booleans()):
        dropped = draw(st.sampled_from([n for n, _ in headers]))
        headers = [(n, v) for n, v in headers if n != dropped]
    kind = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])
    )
    return [("Content-Type", kind), *headers], event.get("data")


def test_any_binary_mode_event(fuzz_client: TestClient) -> None:
    examples = _examples(fuzz_client)
    statuses: list[int] = []

    @FUZZ
    @given(request=binary_requests(examples), key=st.sampled_from([PROVINCE_KEY, COMMUNE_KEY]))
    def check(request: tuple[list[tuple[str, str]], Any], key: str) -> None:
        headers, data = request
        response = fuzz_client.post(
            "/v1/events",
            content=orjson.dumps(data),
            headers=[*headers, ("Authorization", f"Bearer {key}")],
        )
        _assert_sane(response)
        statuses.append(response.status_code)
        if response.status_code in (200, 202):
            # Accepted only when the envelope rebuilt from the headers is a valid event.
            attributes = {n.lower().removeprefix("ce-"): unquote(v) for n, v in headers[1:]}
            parse_event({**attributes, "data": data})
        else:
            assert response.status_code in (400, 403, 409, 413, 415, 422), response.text

    check()
    assert 202 in statuses and 422 in statuses
