"""Worked examples of every event type, generated from the payload models.

The OpenAPI page and ``GET /v1/event-types`` show them. Nothing here restates a model: each
example is built from the payload's JSON schema (enums, formats, bounds), with a few field names
given realistic values, then validated by the domain, so a model change that breaks an example
fails at start-up and in the tests instead of misleading an integrator.
"""

from __future__ import annotations

import inspect
from typing import Any

from tthc.events import EVENT_TYPES, Entity, Payload, make_event, parse_event
from tthc.units import UnitLevel, UnitTree

EXAMPLE_SOURCE = "mot-cua"
EXAMPLE_PROCEDURE = "1.001234.000.00.00.H75"
_AT = "2025-08-04T08:30:00+07:00"
_DAY = "2025-08-04"

# Realistic values by field name; every other field is derived from its schema.
_BY_NAME: dict[str, Any] = {
    "procedure": EXAMPLE_PROCEDURE,
    "channel": 2,
    "online_service": "full",
    "authority_levels": ["commune"],
    "due_at": "2025-08-08T17:00:00+07:00",
    "new_due_at": "2025-08-12T17:00:00+07:00",
    "effective_on": "2025-08-15",
    "reason": "Thiếu bản sao giấy khai sinh",
    "name": "Đăng ký khai sinh",
    "category": "Thái độ phục vụ",
    "decision_number": "1234/QĐ-UBND",
    "amount": 50_000,
    "digitized_components": 3,
    "reused_components": 1,
    "count": 2,
    "processing_working_days": 3,
}


def _subject(entity: Entity, unit: str) -> str:
    return {
        Entity.dossier: f"H75.{unit}-250804-0001",
        Entity.feedback: f"PAKN-{unit}-2025-000123",
        Entity.procedure: EXAMPLE_PROCEDURE,
    }.get(entity, unit)


def _example_units(tree: UnitTree) -> dict[str, str]:
    communes = tree.units_at_level(UnitLevel.commune)
    departments = tree.units_at_level(UnitLevel.department)
    commune = (communes or [tree.root])[0].code
    return {"unit": commune, "to_unit": (departments or [tree.root])[0].code}


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition (no recursion here)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs[schema["$ref"].rsplit("/", 1)[-1]]
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return {**_inline(target, defs), **_inline(rest, defs)}
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def payload_schema(payload_type: type[Payload]) -> dict[str, Any]:
    """The JSON schema of a payload, self-contained (no ``$defs``)."""
    schema = payload_type.model_json_schema()
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


def _value(schema: dict[str, Any]) -> Any:
    if "anyOf" in schema:
        branch = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _value(branch)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return {"date-time": _AT, "date": _DAY}.get(schema.get("format", ""), "ABC-1")
    if kind == "boolean":
        return True
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "array":
        items = schema.get("items", {})
        return list(items["enum"]) if "enum" in items else [_value(items)]
    raise ValueError(f"no example for schema {schema!r}")


def example_payload(payload_type: type[Payload], tree: UnitTree) -> dict[str, Any]:
    names = {**_BY_NAME, **_example_units(tree)}
    if payload_type.entity is Entity.procedure:
        names["unit"] = tree.root.code  # the province announces procedures
    schema = payload_schema(payload_type)
    return {
        field: names[field] if field in names else _value(spec)
        for field, spec in schema["properties"].items()
    }


def example_event(payload_type: type[Payload], tree: UnitTree) -> dict[str, Any]:
    """A complete, valid CloudEvent of this payload's type, as an integration would post it."""
    payload = payload_type.model_validate(example_payload(payload_type, tree))
    subject = _subject(payload_type.entity, _example_units(tree)["unit"])
    event = make_event(
        payload,
        subject=subject,
        id=f"{subject}/{payload_type.fact}/1",
        source=EXAMPLE_SOURCE,
    )
    cloudevent = event.to_cloudevent()
    parse_event(cloudevent)  # an example the domain refuses must never reach the docs
    return cloudevent


def describe(payload_type: type[Payload]) -> str:
    return inspect.getdoc(payload_type) or ""


def all_examples(tree: UnitTree) -> dict[str, dict[str, Any]]:
    """Event type → example CloudEvent, for every type the domain knows."""
    return {type_: example_event(p, tree) for type_, p in EVENT_TYPES.items()}


def envelope_schema() -> dict[str, Any]:
    """The JSON schema of a posted CloudEvent: the domain's envelope, one variant per type.

    Each variant fixes ``type`` and gives ``data`` that type's payload schema, so a validator
    (and the OpenAPI page) knows exactly which payload goes with which type.
    """
    from tthc.events import Event

    schema = Event.model_json_schema()
    schema = _inline(schema, schema.get("$defs", {}))
    common = dict(schema["properties"])
    common["specversion"] = {"type": "string", "enum": ["1.0"]}
    common["datacontenttype"] = {"type": "string", "enum": ["application/json"]}
    required = ["specversion", *schema.get("required", [])]
    return {
        "title": "CloudEvent",
        "description": "CloudEvents 1.0, structured JSON mode; extension attributes are ignored",
        "oneOf": [
            {
                "title": type_,
                "type": "object",
                "properties": {
                    **common,
                    "type": {"type": "string", "const": type_},
                    "data": payload_schema(payload),
                },
                "required": required,
                "additionalProperties": True,
            }
            for type_, payload in sorted(EVENT_TYPES.items())
        ],
    }
