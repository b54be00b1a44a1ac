"""The generated DDL is pinned: a change to a fact row shows up here as a readable diff.

After an intended change, regenerate with TTHC_UPDATE_SNAPSHOTS=1 and add a migration.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from services.storage.schema import clickhouse_type, schema_sql

SNAPSHOT = Path(__file__).parent / "snapshots" / "schema.sql"


def test_schema_matches_snapshot() -> None:
    sql = schema_sql()
    if os.environ.get("TTHC_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(sql, encoding="utf-8")
    assert sql == SNAPSHOT.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, "String"),
        (bool, "Bool"),
        (int, "Int64"),
        (float, "Float64"),
        (datetime, "DateTime('UTC')"),
        (date, "Date"),
        (datetime | None, "Nullable(DateTime('UTC'))"),
        (list[str], "Array(String)"),
    ],
)
def test_python_types_map_to_clickhouse(annotation: object, expected: str) -> None:
    assert clickhouse_type(annotation) == expected


def test_unmappable_types_are_refused() -> None:
    with pytest.raises(TypeError):
        clickhouse_type(dict[str, int])
    with pytest.raises(TypeError):
        clickhouse_type(int | str)
