"""The CloudEvents envelope and the payloads: what is accepted, and how refusals read."""

from __future__ import annotations

import pytest

from tthc.events import EVENT_TYPES, PAYLOADS, Entity, EventError, parse_event


def received(**data_overrides: object) -> dict:
    data = {
        "unit": "25264",
        "procedure": "1.000001.000.00.00.H19",
        "channel": 2,
        "received_at": "2024-05-06T08:00:00+07:00",
        "due_at": "2024-05-10T17:00:00+07:00",
    }
    data.update(data_overrides)
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "mot-cua/dong-nai",
        "type": "vn.tthc.dossier.received.v1",
        "subject": "H19.22-240506-0001",
        "time": "2024-05-06T08:00:01+07:00",
        "datacontenttype": "application/json",
        "data": data,
    }


def problems(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    return caught.value.problems


def test_a_valid_event_round_trips_through_its_structured_json():
    event = parse_event(received())
    assert event.entity is Entity.dossier
    assert event.key == ("mot-cua/dong-nai", "evt-1")
    assert event.unit == "25264"
    assert parse_event(event.to_cloudevent()) == event


def test_every_fact_has_one_versioned_type_and_entity():
    assert len(EVENT_TYPES) == len(PAYLOADS)
    assert all(t.startswith("vn.tthc.") and t.endswith(".v1") for t in EVENT_TYPES)
    entities = {p.entity for p in PAYLOADS}
    assert entities == set(Entity)


def test_errors_name_the_field_path_and_the_reason():
    naive = problems(received(received_at="2024-05-06T08:00:00"))
    assert naive[0][0] == "data.received_at" and "timezone" in naive[0][1]
    channel = problems(received(channel=7))
    assert channel[0][0] == "data.channel"
    missing = received()
    del missing["data"]["unit"]
    assert problems(missing)[0] == ("data.unit", "Field required")
    assert problems(received(unit="bad code!"))[0][0] == "data.unit"
    assert problems(received(extra_field=1))[0][0] == "data.extra_field"


def test_the_envelope_is_checked_before_the_payload():
    unknown = received()
    unknown["type"] = "vn.tthc.dossier.teleported.v1"
    path, reason = problems(unknown)[0]
    assert path == "type" and "unknown event type" in reason
    wrong_spec = received()
    wrong_spec["specversion"] = "0.3"
    assert problems(wrong_spec)[0][0] == "specversion"
    assert problems([1, 2])[0] == ("(event)", "an event must be a JSON object")
    no_subject = received()
    del no_subject["subject"]
    assert problems(no_subject)[0][0] == "subject"


def test_cloudevents_extension_attributes_are_allowed():
    raw = received()
    raw["traceparent"] = "00-abc-def-01"
    assert parse_event(raw).id == "evt-1"
