"""The migrations' DDL is pinned for both layouts, and frozen: a fresh database and one upgraded
from migration 1 end with the same schema.

After an intended change (a new migration), regenerate with TTHC_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.scale import one_shard_client
from services.storage.clickhouse import Client, migrate
from services.storage.schema import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    SHARD_KEYS,
    TABLES,
    Layout,
    Migration,
    add_column,
    clickhouse_type,
    create_table,
    merge_tree,
    schema_migrations_table,
    schema_sql,
    truncate_facts_sql,
)
from tthc.facts import FACTS_OF, Scalar, column_type

SNAPSHOTS = Path(__file__).parent / "snapshots"
CLUSTER = Layout("tthc")
ONE_SHARD = Layout("tthc", replicated=False)  # bench/one_shard.xml's cluster, without a Keeper


@pytest.mark.parametrize(
    ("layout", "snapshot"), [(Layout(), "schema.sql"), (CLUSTER, "schema-cluster.sql")]
)
def test_schema_matches_snapshot(layout: Layout, snapshot: str) -> None:
    sql = schema_sql(layout)
    if os.environ.get("TTHC_UPDATE_SNAPSHOTS"):
        (SNAPSHOTS / snapshot).write_text(sql, encoding="utf-8")
    assert sql == (SNAPSHOTS / snapshot).read_text(encoding="utf-8")


def test_migration_1_is_the_facts_tables_as_first_released() -> None:
    (dossiers, _, procedures, _) = MIGRATIONS[0].operations
    assert "supplement_seconds" not in dict(dossiers.columns)  # type: ignore[attr-defined]
    columns = dict(procedures.columns)  # type: ignore[attr-defined]
    assert columns["announced_late"] == "Bool" and "first_late_decision_on" not in columns


def test_the_cluster_shards_the_per_entity_tables_and_copies_the_rest() -> None:
    sql = schema_sql(CLUSTER)
    for table, key in SHARD_KEYS.items():
        assert f"CREATE TABLE IF NOT EXISTS {table}_local ON CLUSTER tthc\n" in sql
        assert f"ENGINE = Distributed(tthc, currentDatabase(), {table}_local, {key});" in sql
    assert "'/clickhouse/tables/{shard}/{database}/{table}'" in sql  # per shard
    assert "'/clickhouse/tables/all/{database}/{table}'" in sql  # the same on every node
    assert "procedure_facts_local" not in sql and "unit_scores_local" not in sql
    # an ALTER of a sharded table reaches every node; of a replicated one, Keeper carries it
    for name in ("dossier_facts_local", "dossier_facts"):
        assert (
            f"ALTER TABLE {name} ON CLUSTER tthc ADD COLUMN IF NOT EXISTS `supplement_seconds`"
            in sql
        )
    assert "ALTER TABLE procedure_facts ADD COLUMN" in sql
    assert truncate_facts_sql(CLUSTER)[:2] == [
        "TRUNCATE TABLE IF EXISTS dossier_facts_local ON CLUSTER tthc",
        "TRUNCATE TABLE IF EXISTS feedback_facts_local ON CLUSTER tthc",
    ]


def test_new_operations_render_in_both_layouts() -> None:
    table = create_table("t", [("unit", "String")], merge_tree(), "unit", partition_by="unit")
    assert table.sql(Layout()) == [
        "CREATE TABLE IF NOT EXISTS t\n(\n    `unit` String\n)\n"
        "ENGINE = MergeTree\nORDER BY unit\nPARTITION BY unit"
    ]
    (clustered,) = table.sql(CLUSTER)
    assert "ON CLUSTER tthc" in clustered and "ReplicatedMergeTree(" in clustered
    column = add_column("dossier_facts", "x", "Bool", after="code")
    assert column.sql(Layout()) == [
        "ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `x` Bool AFTER `code`"
    ]
    assert [s.split(" ADD")[0] for s in column.sql(ONE_SHARD)] == [
        "ALTER TABLE dossier_facts_local",
        "ALTER TABLE dossier_facts",
    ]


def test_a_migration_written_as_sql_text_is_refused() -> None:
    with pytest.raises(TypeError, match="migration 6: a tuple of operations"):
        Migration(6, "text", ("ALTER TABLE dossier_facts ADD COLUMN x Bool",))  # type: ignore[arg-type]


def test_a_cluster_name_is_an_identifier() -> None:
    with pytest.raises(ValueError, match="cluster name"):
        Layout("tthc; DROP TABLE x")


# --- Frozen: fresh and upgraded databases are the same -----------------------------------------


def schema_of(client: Client) -> dict[str, object]:
    """Every table's engine and its columns in order, as ClickHouse reports them."""
    database = client.command("SELECT currentDatabase()")
    tables = client.query(
        # a Distributed table names its database: the two databases' names differ
        "SELECT name, replaceAll(engine_full, {db:String}, '<db>') FROM system.tables "
        "WHERE database = {db:String}",
        parameters={"db": database},
    ).result_rows
    columns = client.query(
        "SELECT table, groupArray((name, type, default_kind, default_expression)) "
        "FROM (SELECT * FROM system.columns WHERE database = {db:String} ORDER BY position) "
        "GROUP BY table",
        parameters={"db": database},
    ).result_rows
    return {"tables": sorted(map(tuple, tables)), "columns": sorted(map(tuple, columns))}


def upgrade_from_migration_1(client: Client, layout: Layout) -> list[int]:
    """A database the code of migration 1 made, then migrated by today's code."""
    for statement in schema_migrations_table().sql(layout) + MIGRATIONS[0].sql(layout):
        client.command(statement)
    client.insert(
        MIGRATIONS_TABLE,
        [(1, MIGRATIONS[0].name, datetime.now(UTC))],
        column_names=["version", "name", "applied_at"],
    )
    return migrate(client, layout)


@pytest.mark.parametrize("layout", [Layout(), ONE_SHARD], ids=["single-node", "cluster"])
def test_a_fresh_database_and_one_upgraded_from_migration_1_are_the_same(
    layout: Layout, tmp_path: Path
) -> None:
    root = one_shard_client(tmp_path / "ch")
    try:
        for database in ("fresh", "upgraded"):
            root.command(f"CREATE DATABASE {database}")
        fresh = one_shard_client(tmp_path / "ch", database="fresh")
        upgraded = one_shard_client(tmp_path / "ch", database="upgraded")
        assert migrate(fresh, layout) == [m.version for m in MIGRATIONS]
        assert upgrade_from_migration_1(upgraded, layout) == [m.version for m in MIGRATIONS[1:]]
        assert schema_of(fresh) == schema_of(upgraded)
        assert len(schema_of(fresh)["tables"]) >= 10  # type: ignore[arg-type]
    finally:
        root.close()


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
        (list[datetime | None], "Array(Nullable(DateTime('UTC')))"),
    ],
)
def test_python_types_map_to_clickhouse(annotation: object, expected: str) -> None:
    assert clickhouse_type(column_type(annotation)) == expected


@pytest.mark.parametrize(
    "annotation", [dict[str, int], int | str, list[int] | None, list[list[int]]]
)
def test_unmappable_types_are_refused(annotation: object) -> None:
    with pytest.raises(TypeError):
        column_type(annotation)


def test_the_database_holds_the_domain_s_column_types(tmp_path: Path) -> None:
    """Storage's types derive from the domain's: a day column is a Date, an instant a DateTime
    in UTC, in the tables the frozen migrations build."""
    client = one_shard_client(tmp_path / "ch")
    migrate(client, Layout())
    kinds = {Scalar.day: "Date", Scalar.instant: "DateTime('UTC')"}
    for subject, facts in FACTS_OF.items():
        table = getattr(TABLES, subject.value)
        live = {row[0]: row[1] for row in client.query(f"DESCRIBE TABLE {table}").result_rows}
        for name, type_ in facts.column_types().items():
            assert live[name] == clickhouse_type(type_), f"{table}.{name}"
            if type_.scalar in kinds:
                assert kinds[type_.scalar] in live[name], f"{table}.{name}"
