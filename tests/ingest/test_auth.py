"""API keys: required, looked up by hash, scoped to a subtree of units, never logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.auth import hash_key
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import (
    COMMUNE_KEY,
    PROVINCE_KEY,
    SOURCE_BOUND_KEY,
    Record,
    cloudevent,
    post_batch,
    post_binary,
    post_event,
    processed,
    received,
)
from tthc.units import UnitTree


def test_no_key_or_a_wrong_key_is_401(client: TestClient, commune: str) -> None:
    event = received("H75-0600", commune)
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-a-key"}):
        response = post_event(client, event, **headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"
    assert post_batch(client, [event], Authorization="Bearer nope").status_code == 401


def test_x_api_key_header_works(client: TestClient, commune: str) -> None:
    response = post_event(
        client, received("H75-0601", commune), Authorization="", **{"X-API-Key": COMMUNE_KEY}
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("post", "outside_code", "inside_code"),
    [(post_event, "H75-0602", "H75-0603"), (post_binary, "H75-B010", "H75-B011")],
    ids=["structured", "binary"],
)
def test_unit_outside_the_key_scope_is_403(
    client: TestClient,
    commune: str,
    other_commune: str,
    topic_records: Callable[..., list[Record]],
    post: Callable[..., Any],
    outside_code: str,
    inside_code: str,
) -> None:
    as_commune = {"Authorization": f"Bearer {COMMUNE_KEY}"}

    outside = post(client, received(outside_code, other_commune), **as_commune)
    inside = post(client, received(inside_code, commune), **as_commune)

    assert outside.status_code == 403, outside.text
    assert outside.json()["reason"] == "out_of_scope"
    assert [p["field"] for p in outside.json()["problems"]] == ["data.unit"]
    assert inside.status_code == 202, inside.text
    assert [r.key for r in topic_records(expect=1)] == [inside_code.encode()]


def test_batch_rejects_only_the_events_outside_the_scope(
    client: TestClient,
    commune: str,
    other_commune: str,
    topic_records: Callable[..., list[Record]],
) -> None:
    events = [received("H75-0604", other_commune), received("H75-0605", commune)]
    response = post_batch(client, events, Authorization=f"Bearer {COMMUNE_KEY}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["outcome"], r["reason"]) for r in results] == [
        ("rejected", "out_of_scope"),
        ("accepted", None),
    ]
    assert [r.key for r in topic_records(expect=1)] == [b"H75-0605"]


def test_a_unit_key_may_not_configure_procedures(client: TestClient) -> None:
    event = cloudevent(
        "procedure.published",
        "1.000001.000.00.00.H75",
        "2025-08-01T08:00:00+07:00",
        {"published_on": "2025-08-01", "components": ["name"]},
        event_id="p/1",
        source="x",
    )
    response = post_event(client, event, Authorization=f"Bearer {COMMUNE_KEY}")
    assert response.status_code == 403
    assert response.json()["problems"][0]["field"] == "subject"
    assert post_event(client, event).status_code == 202  # the province key may


def test_a_key_bound_to_sources_sends_only_those(client: TestClient, commune: str) -> None:
    as_kiosk = {"Authorization": f"Bearer {SOURCE_BOUND_KEY}"}
    rated = {**processed("H75-0606"), "source": "kiosk/26068"}
    foreign = processed("H75-0606")  # source "mot-cua"

    assert post_event(client, rated, **as_kiosk).status_code == 202
    refused = post_event(client, foreign, **as_kiosk)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "source_not_allowed"
    assert refused.json()["problems"][0]["field"] == "source"


def test_a_source_bound_to_a_key_is_not_anyone_elses(client: TestClient, commune: str) -> None:
    # The province key is bound to no source; the kiosk's source is the kiosk key's alone, so
    # that no other key can take its event ids first.
    taken = {**processed("H75-0607"), "source": "kiosk/26068"}
    refused = post_event(client, taken)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "source_not_allowed"
    assert post_event(client, processed("H75-0607")).status_code == 202  # its own source


def test_keys_are_never_logged(
    make_settings: Callable[..., IngestSettings], commune: str, capsys: pytest.CaptureFixture
) -> None:
    with TestClient(create_app(make_settings())) as test_client:
        post_event(
            test_client, received("H75-0607", commune), Authorization=f"Bearer {PROVINCE_KEY}"
        )
        post_event(test_client, received("H75-0608", commune), Authorization="Bearer wrong-key-xyz")
    logs = capsys.readouterr().err
    assert '"integration": "province"' in logs
    for secret in (PROVINCE_KEY, hash_key(PROVINCE_KEY), "wrong-key-xyz"):
        assert secret not in logs


def test_anonymous_only_when_allowed(
    make_settings: Callable[..., IngestSettings], commune: str
) -> None:
    with TestClient(create_app(make_settings(allow_anonymous=True))) as test_client:
        assert post_event(test_client, received("H75-0609", commune)).status_code == 202
        # A key that is presented must still be valid.
        wrong = post_event(test_client, received("H75-0610", commune), Authorization="Bearer x")
        assert wrong.status_code == 401


def test_a_key_scoped_to_a_unit_not_in_the_tree_stops_the_start(
    make_settings: Callable[..., IngestSettings], tree: UnitTree
) -> None:
    keys = [{"name": "typo", "sha256": hash_key("k"), "scope": "75.XXX"}]
    with pytest.raises(ValueError, match="not in the tree"):
        create_app(make_settings(api_keys=keys))


def test_keys_from_a_toml_file(
    make_settings: Callable[..., IngestSettings], commune: str, tmp_path
) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[[keys]]\nname = "file-key"\nsha256 = "{hash_key("from-file")}"\nscope = "{commune}"\n',
        encoding="utf-8",
    )
    with TestClient(create_app(make_settings(api_keys=[], api_keys_file=path))) as test_client:
        ok = post_event(
            test_client, received("H75-0611", commune), Authorization="Bearer from-file"
        )
        assert ok.status_code == 202
