"""The ClickHouse schema: migrations written out as operations, rendered for one node or a cluster.

Migrations are an ordered list, applied once each and recorded in `schema_migrations`. Each is
frozen text: its tables and columns are written out as they were when it was released, never
derived from today's fact rows, so a fresh database and one upgraded from migration 1 end with
the same schema (tests/aggregator/test_schema.py builds both and compares them). What ties the
tables to the code is `check_schema` in `clickhouse.py`: at start it compares the live columns
with today's fact rows, so a fact change without a migration fails early.

Writing a migration (both layouts render from it; never write SQL text for one layout):

    Migration(6, "what it is for", (
        add_column(TABLES.dossier, "answered_on", "Nullable(Date)", after="returned_at"),
        create_table("new_table", [("unit", "String"), ...], merge_tree(), "(unit)"),
    ), needs_replay=True)   # needs_replay: it adds a fact column rows written before lack

`create_table`, `add_column` and `truncate` return operations; `Operation.sql(layout)` renders
the statements. A table's placement follows from its name (`SHARD_KEYS`), not from the
migration. Every statement is idempotent (IF [NOT] EXISTS): a start interrupted half-way, or
two services migrating at once, is harmless.

Layouts. One node (the default, `Layout()`): the tables under their names, as always. A cluster
(`Layout("tthc")`, the setting TTHC_*_CLICKHOUSE_CLUSTER):
- per-entity tables (dossier and feedback facts, the big ones) are sharded by their code: each
  shard holds `<name>_local`, a Replicated…MergeTree, and every node has `<name>`, a Distributed
  table in front, sharding by cityHash64(code). Every version of an entity's row lands on one
  shard, so ReplacingMergeTree's deduplication and FINAL stay shard-local and exact.
- the other tables (procedure and commune facts, score snapshots, rolling windows, migrations)
  are small, or computed over all shards at once: every node holds a whole copy, replicated
  through Keeper. A query on the Distributed tables that reads them in a subquery or a JOIN
  reads the shard's own copy; nothing needs a second network hop.
- DDL runs ON CLUSTER where every node must run it (CREATE, and ALTER of the sharded tables);
  an ALTER or TRUNCATE of a replicated-everywhere table runs once and Keeper carries it.
Readers and writers use the same names in both layouts: every query works unchanged, given the
server settings of deploy/clickhouse/ (distributed_product_mode = 'global' for IN subqueries on
two Distributed tables, foreground inserts so a written batch is on its shard before Kafka
offsets are committed).
`Layout(cluster, replicated=False)` is the same shape without Keeper (plain engines, no ON
CLUSTER): a one-node cluster such as embedded chDB's, where the tests and the scaling benchmark
run the Distributed SQL.

Deduplication is designed into the tables: one row per entity code (ORDER BY code), replaced by
a newer row (ReplacingMergeTree on `version`, monotonic per entity). A redelivered event rewrites
the same row with the same version, so at-least-once delivery counts once. The tables are not
partitioned: ReplacingMergeTree only collapses rows within a partition, and a correction can move
a dossier to another month.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tthc.facts import FACTS_OF, ColumnType, Facts, Scalar
from tthc.measures import TableNames
from tthc.period_scores import UNIT_TREE_TABLE
from tthc.windows import SUBJECTS, WindowTables, rollup_sql

VERSION_COLUMN = "version"
MIGRATIONS_TABLE = "schema_migrations"
TABLES = TableNames()  # the names the measures' SQL reads
BY_DAY = WindowTables()  # the facts by unit and day and the windows the aggregator keeps
LOCAL_SUFFIX = "_local"  # a shard's own part of a sharded table, in cluster mode

# The sharded tables and their sharding keys; every other table is whole on every node.
SHARD_KEYS: dict[str, str] = {
    TABLES.dossier: "cityHash64(code)",
    TABLES.feedback: "cityHash64(code)",
    # a window's rows are all on the shard of its unit: FINAL and the recompute stay local
    BY_DAY.dossier: "cityHash64(unit)",
    BY_DAY.feedback: "cityHash64(unit)",
}

_SCALARS: dict[Scalar, str] = {
    Scalar.text: "String",
    Scalar.flag: "Bool",
    Scalar.integer: "Int64",
    Scalar.real: "Float64",
    Scalar.instant: "DateTime('UTC')",
    Scalar.day: "Date",
}


def clickhouse_type(column: ColumnType) -> str:
    """The ClickHouse type of a fact column's type (`tthc.facts`, declared there once)."""
    type_ = _SCALARS[column.scalar]
    if column.nullable:
        type_ = f"Nullable({type_})"
    return f"Array({type_})" if column.array else type_


def fact_columns(facts: type[Facts]) -> list[tuple[str, str]]:
    """(name, ClickHouse type) of every column today's fact row writes, in declaration order."""
    return [(name, clickhouse_type(type_)) for name, type_ in facts.column_types().items()]


# --- Layouts ------------------------------------------------------------------------------------

# The cluster setting: empty (one node) or a cluster of the servers' remote_servers.
CLUSTER_SETTING_PATTERN = r"^([A-Za-z_][A-Za-z0-9_]*)?$"


@dataclass(frozen=True)
class Layout:
    """Where the tables live: one node (cluster '') or the shards of a named cluster."""

    cluster: str = ""
    # Keeper-backed: Replicated engines and ON CLUSTER DDL. False: one node without a Keeper.
    replicated: bool = True

    def __post_init__(self) -> None:
        if not re.match(CLUSTER_SETTING_PATTERN, self.cluster):
            raise ValueError(f"a cluster name is letters, digits and _: {self.cluster!r}")

    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.cluster}" if self.cluster and self.replicated else ""

    def sharded(self, table: str) -> bool:
        return bool(self.cluster) and table in SHARD_KEYS

    def local(self, table: str) -> str:
        """The table that holds the rows: `<name>_local` on each shard for a sharded table."""
        return table + LOCAL_SUFFIX if self.sharded(table) else table


SINGLE_NODE = Layout()


# --- Operations: what a migration does, rendered for a layout -----------------------------------


class Operation(Protocol):
    def sql(self, layout: Layout) -> list[str]: ...


@dataclass(frozen=True)
class Engine:
    """A MergeTree family engine: `kind` MergeTree or ReplacingMergeTree, its own arguments."""

    kind: str
    args: tuple[str, ...] = ()

    def sql(self, layout: Layout, table: str) -> str:
        if not (layout.cluster and layout.replicated):
            return f"{self.kind}({', '.join(self.args)})" if self.args else self.kind
        # A sharded table's replicas are per shard; a whole-everywhere one has one set of replicas.
        shard = "{shard}" if layout.sharded(table) else "all"
        path = f"'/clickhouse/tables/{shard}/{{database}}/{{table}}', '{{replica}}'"
        return f"Replicated{self.kind}({', '.join((path, *self.args))})"


def merge_tree() -> Engine:
    return Engine("MergeTree")


def replacing_merge_tree(version: str) -> Engine:
    return Engine("ReplacingMergeTree", (version,))


def _columns_sql(columns: Sequence[tuple[str, str]]) -> str:
    return ",\n".join(f"    `{name}` {type_}" for name, type_ in columns)


@dataclass(frozen=True)
class CreateTable:
    name: str
    columns: tuple[tuple[str, str], ...]
    engine: Engine
    order_by: str
    partition_by: str = ""

    def sql(self, layout: Layout) -> list[str]:
        def create(name: str, engine: str) -> str:
            return (
                f"CREATE TABLE IF NOT EXISTS {name}{layout.on_cluster()}\n"
                f"(\n{_columns_sql(self.columns)}\n)\nENGINE = {engine}"
            )

        local = layout.local(self.name)
        table = create(local, self.engine.sql(layout, self.name)) + f"\nORDER BY {self.order_by}"
        if self.partition_by:
            table += f"\nPARTITION BY {self.partition_by}"
        if not layout.sharded(self.name):
            return [table]
        key = SHARD_KEYS[self.name]
        front = f"Distributed({layout.cluster}, currentDatabase(), {local}, {key})"
        return [table, create(self.name, front)]


def create_table(
    name: str,
    columns: Sequence[tuple[str, str]],
    engine: Engine,
    order_by: str,
    *,
    partition_by: str = "",
) -> CreateTable:
    return CreateTable(name, tuple(columns), engine, order_by, partition_by)


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: str
    type_: str
    after: str | None  # None: at the end

    def sql(self, layout: Layout) -> list[str]:
        clause = f"ADD COLUMN IF NOT EXISTS `{self.column}` {self.type_}"
        if self.after is not None:
            clause += f" AFTER `{self.after}`"
        if not layout.sharded(self.table):  # one node, or replicated: Keeper carries it
            return [f"ALTER TABLE {self.table} {clause}"]
        # the shards' tables, then the Distributed ones in front (every node has one)
        return [
            f"ALTER TABLE {name}{layout.on_cluster()} {clause}"
            for name in (layout.local(self.table), self.table)
        ]


def add_column(table: str, column: str, type_: str, *, after: str | None = None) -> AddColumn:
    return AddColumn(table, column, type_, after)


@dataclass(frozen=True)
class ModifyColumn:
    """A column's type changed in place (a table that is whole on every node)."""

    table: str
    column: str
    type_: str

    def sql(self, layout: Layout) -> list[str]:
        if layout.sharded(self.table):
            raise ValueError(f"{self.table} is sharded: change its columns with a new column")
        # replicated everywhere: run once, Keeper carries it
        return [f"ALTER TABLE {self.table} MODIFY COLUMN `{self.column}` {self.type_}"]


def modify_column(table: str, column: str, type_: str) -> ModifyColumn:
    return ModifyColumn(table, column, type_)


@dataclass(frozen=True)
class Truncate:
    table: str

    def sql(self, layout: Layout) -> list[str]:
        on_cluster = layout.on_cluster() if layout.sharded(self.table) else ""
        return [f"TRUNCATE TABLE IF EXISTS {layout.local(self.table)}{on_cluster}"]


def truncate(table: str) -> Truncate:
    return Truncate(table)


# --- Tables, as each migration created them -----------------------------------------------------
# Frozen: a later change to a table is a new migration (add_column), never an edit here.


def _facts_table(name: str, columns: Sequence[tuple[str, str]]) -> CreateTable:
    """One row per entity code, the row with the highest version wins."""
    return create_table(
        name,
        [*columns, (VERSION_COLUMN, "UInt64")],
        replacing_merge_tree(VERSION_COLUMN),
        "code",
    )


def dossier_facts_table() -> CreateTable:
    return _facts_table(
        TABLES.dossier,
        [
            ("code", "String"),
            ("unit", "String"),
            ("procedure", "String"),
            ("counted", "Bool"),
            ("channel", "Int64"),
            ("received_at", "DateTime('UTC')"),
            ("due_at", "Nullable(DateTime('UTC'))"),
            ("ended_at", "Nullable(DateTime('UTC'))"),
            ("withdrawn", "Bool"),
            ("supplement_requests", "Int64"),
            ("paused_seconds", "Int64"),
            ("paused_since", "Nullable(DateTime('UTC'))"),
            ("returned_at", "Nullable(DateTime('UTC'))"),
            ("result_electronic", "Bool"),
            ("result_digitized", "Bool"),
            ("result_pushed_to_data_store", "Bool"),
            ("synced_at", "Nullable(DateTime('UTC'))"),
            ("sync_due_at", "Nullable(DateTime('UTC'))"),
            ("fee", "Int64"),
            ("paid_online", "Bool"),
            ("digitized_components", "Int64"),
            ("reused_components", "Int64"),
            ("data_store_components", "Int64"),
            ("population_data_used", "Bool"),
            ("dissatisfied", "Bool"),
            ("complaint", "Bool"),
            ("online_service", "String"),
            ("full_online_eligible", "Bool"),
            ("returns_result_document", "Bool"),
        ],
    )


def feedback_facts_table() -> CreateTable:
    return _facts_table(
        TABLES.feedback,
        [
            ("code", "String"),
            ("unit", "String"),
            ("received_at", "DateTime('UTC')"),
            ("classified", "Bool"),
            ("decided_at", "Nullable(DateTime('UTC'))"),
            ("decide_due_at", "DateTime('UTC')"),
            ("info_requested_at", "Nullable(DateTime('UTC'))"),
            ("info_request_due_at", "DateTime('UTC')"),
            ("ended_at", "Nullable(DateTime('UTC'))"),
            ("handle_due_at", "DateTime('UTC')"),
            ("dissatisfied", "Bool"),
            ("complained_again", "Bool"),
        ],
    )


def procedure_facts_table() -> CreateTable:
    return _facts_table(
        TABLES.procedure,
        [
            ("code", "String"),
            ("announcing_unit", "String"),
            ("configured", "Bool"),
            ("authority_levels", "Array(String)"),
            ("online_service", "String"),
            ("full_online_eligible", "Bool"),
            ("fee_bearing", "Bool"),
            ("payment_integrated", "Bool"),
            ("for_individuals", "Bool"),
            ("uses_population_data", "Bool"),
            ("first_announced_on", "Nullable(Date)"),
            # Read by nothing since migration 5; written by no code since then (its default).
            ("announced_late", "Bool"),
            ("publish_due_on", "Nullable(Date)"),
            ("first_published_on", "Nullable(Date)"),
            ("components_complete", "Bool"),
        ],
    )


def commune_facts_table() -> CreateTable:
    return _facts_table(
        TABLES.commune,
        [
            ("code", "String"),
            ("certified_copy_offered_since", "Nullable(Date)"),
            ("first_certified_copy_at", "Nullable(DateTime('UTC'))"),
        ],
    )


def schema_migrations_table() -> CreateTable:
    # Two processes may migrate at once (aggregator and API): a repeated row collapses.
    return create_table(
        MIGRATIONS_TABLE,
        [("version", "UInt32"), ("name", "String"), ("applied_at", "DateTime('UTC')")],
        replacing_merge_tree("applied_at"),
        "version",
    )


# --- Score snapshots: written by the API's refresher, read by dashboards and rankings -----------

UNIT_SCORES_TABLE = "unit_scores"
UNIT_SCORE_HISTORY_TABLE = "unit_score_history"

# One row per (period, unit, indicator); indicator '' is the unit's total row (group_number 0).
# For an indicator of several parts, numerator and denominator add up its applicable parts and
# rate is its points share. `total` and `grade_vi` (the unit's) repeat on every row.
# The columns of migration 2, which the refresher writes (migration 9 made `total` nullable).
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("period", "String"),  # '2025-11', '2025-Q4', '2025'
    ("period_kind", "LowCardinality(String)"),  # month | quarter | half | year
    ("period_start", "Date"),
    ("period_end", "Date"),  # the first day after the period
    ("unit", "String"),
    ("indicator", "String"),
    ("level", "LowCardinality(String)"),
    ("parent", "String"),  # '' for the province
    ("unit_name", "String"),
    ("group_number", "UInt8"),
    ("group_name_vi", "String"),
    ("name_vi", "String"),
    ("assessed", "Bool"),  # the unit's level is assessed on this indicator
    ("numerator", "Float64"),
    ("denominator", "Int64"),
    ("rate", "Nullable(Float64)"),
    ("points", "Float64"),
    ("max_points", "Float64"),
    ("lost", "Float64"),
    ("total", "Float64"),
    ("grade_vi", "LowCardinality(String)"),
    ("cutoff", "DateTime('UTC')"),  # the instant the period was judged at
    ("computed_at", "DateTime64(3, 'UTC')"),
)


def unit_scores_table() -> CreateTable:
    """The latest scorecard of every unit for the current periods (read with FINAL)."""
    return create_table(
        UNIT_SCORES_TABLE,
        SCORE_COLUMNS,
        replacing_merge_tree("computed_at"),
        "(period, unit, indicator)",
    )


def unit_score_history_table() -> CreateTable:
    """Scorecards over time: a row each time a value changed, and every row at least hourly."""
    return create_table(
        UNIT_SCORE_HISTORY_TABLE,
        SCORE_COLUMNS,
        merge_tree(),
        "(unit, indicator, period, computed_at)",
        partition_by="toYYYYMM(computed_at)",
    )


# --- Rolling windows: written by the API's refresher, a generation at a time --------------------
# One partition per generation: a new generation is written beside the last one, and an old one
# goes with a cheap DROP PARTITION; readers read the latest generation recorded as complete.


def _by_generation(name: str, columns: list[tuple[str, str]], order_by: str) -> CreateTable:
    return create_table(
        name,
        [("generation", "UInt64"), *columns],
        merge_tree(),
        order_by,
        partition_by="generation",
    )


def unit_day_tallies_table() -> CreateTable:
    """Numerator and denominator of each windowed measure per unit and local day of receipt."""
    return _by_generation(
        "unit_day_tallies",
        [
            ("unit", "String"),
            ("day", "Date"),
            ("measure", "LowCardinality(String)"),
            ("numerator", "Float64"),
            ("denominator", "Int64"),
        ],
        "(unit, day, measure)",
    )


def unit_day_procedure_sets_table() -> CreateTable:
    """The procedures of each dossier set (online dossiers, paid online) per unit and day."""
    return _by_generation(
        "unit_day_procedure_sets",
        [
            ("unit", "String"),
            ("day", "Date"),
            ("set_name", "LowCardinality(String)"),
            ("procedure", "String"),
        ],
        "(set_name, unit, day, procedure)",
    )


def window_generations_table() -> CreateTable:
    """A row when a generation starts (complete = false) and one when it is whole."""
    return _by_generation(
        "window_generations",
        [
            ("cutoff", "DateTime('UTC')"),  # the instant its tallies are judged at
            ("computed_at", "DateTime64(3, 'UTC')"),
            ("complete", "Bool"),
        ],
        "complete",
    )


# --- Rolling windows kept by the aggregator (migration 11) ----------------------------------
# The fact rows again, keyed by (unit, local day of receipt, code): a window is recomputed from
# its key's granules alone. A dossier moved to another unit or day leaves a row marked deleted
# under its old key (a filter column, not ReplacingMergeTree's is_deleted: FINAL would drop such
# rows, and a key emptied so must still be recomputed, to an empty window).


def _by_day_table(name: str, columns: list[tuple[str, str]]) -> CreateTable:
    return create_table(
        name,
        [*columns, ("day", "Date"), ("is_deleted", "UInt8"), (VERSION_COLUMN, "UInt64")],
        replacing_merge_tree(VERSION_COLUMN),
        "(unit, day, code)",
    )


def dossier_facts_by_day_table() -> CreateTable:
    return _by_day_table(
        BY_DAY.dossier,
        [
            ("code", "String"),
            ("unit", "String"),
            ("procedure", "String"),
            ("counted", "Bool"),
            ("channel", "Int64"),
            ("received_at", "DateTime('UTC')"),
            ("due_at", "Nullable(DateTime('UTC'))"),
            ("ended_at", "Nullable(DateTime('UTC'))"),
            ("withdrawn", "Bool"),
            ("supplement_requests", "Int64"),
            ("paused_seconds", "Int64"),
            ("supplement_seconds", "Int64"),
            ("paused_since", "Nullable(DateTime('UTC'))"),
            ("returned_at", "Nullable(DateTime('UTC'))"),
            ("result_electronic", "Bool"),
            ("result_digitized", "Bool"),
            ("result_pushed_to_data_store", "Bool"),
            ("synced_at", "Nullable(DateTime('UTC'))"),
            ("sync_due_at", "Nullable(DateTime('UTC'))"),
            ("fee", "Int64"),
            ("paid_online", "Bool"),
            ("digitized_components", "Int64"),
            ("reused_components", "Int64"),
            ("data_store_components", "Int64"),
            ("population_data_used", "Bool"),
            ("dissatisfied", "Bool"),
            ("complaint", "Bool"),
            ("online_service", "String"),
            ("full_online_eligible", "Bool"),
            ("returns_result_document", "Bool"),
            ("refused_at", "Nullable(DateTime('UTC'))"),
            ("withdrawn_at", "Nullable(DateTime('UTC'))"),
            ("due_changed_at", "Array(DateTime('UTC'))"),
            ("due_values", "Array(DateTime('UTC'))"),
            ("supplement_requested_at", "Array(DateTime('UTC'))"),
            ("supplement_answered_at", "Array(Nullable(DateTime('UTC')))"),
            ("supplement_due_reset", "Array(Bool)"),
            ("fee_changed_at", "Array(DateTime('UTC'))"),
            ("fee_values", "Array(Int64)"),
            ("paid_online_at", "Nullable(DateTime('UTC'))"),
            ("result_electronic_at", "Nullable(DateTime('UTC'))"),
            ("result_pushed_at", "Nullable(DateTime('UTC'))"),
            ("result_digitized_at", "Nullable(DateTime('UTC'))"),
            ("digitized_at", "Nullable(DateTime('UTC'))"),
            ("reused_at", "Nullable(DateTime('UTC'))"),
            ("data_store_at", "Nullable(DateTime('UTC'))"),
            ("identity_verified_at", "Nullable(DateTime('UTC'))"),
            ("rated_at", "Array(DateTime('UTC'))"),
            ("rated_dissatisfied", "Array(Bool)"),
            ("complaint_at", "Nullable(DateTime('UTC'))"),
        ],
    )


def feedback_facts_by_day_table() -> CreateTable:
    return _by_day_table(
        BY_DAY.feedback,
        [
            ("code", "String"),
            ("unit", "String"),
            ("received_at", "DateTime('UTC')"),
            ("classified", "Bool"),
            ("decided_at", "Nullable(DateTime('UTC'))"),
            ("decide_due_at", "DateTime('UTC')"),
            ("info_requested_at", "Nullable(DateTime('UTC'))"),
            ("info_request_due_at", "DateTime('UTC')"),
            ("ended_at", "Nullable(DateTime('UTC'))"),
            ("handle_due_at", "DateTime('UTC')"),
            ("dissatisfied", "Bool"),
            ("complained_again", "Bool"),
            ("classified_at", "Nullable(DateTime('UTC'))"),
            ("rated_at", "Array(DateTime('UTC'))"),
            ("rated_dissatisfied", "Array(Bool)"),
            ("complained_again_at", "Nullable(DateTime('UTC'))"),
        ],
    )


# One window row: the tallies of a (unit, day or month, subject) and what changes them later
_WINDOW_ROW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unit", "String"),
    ("day", "Date"),
    ("subject", "LowCardinality(String)"),
    ("version", "UInt64"),
    ("judged_at", "DateTime64(3, 'UTC')"),
    ("measure", "Array(LowCardinality(String))"),
    ("numerator", "Array(Float64)"),
    ("denominator", "Array(Int64)"),
    ("month_numerator", "Array(Float64)"),
    ("month_denominator", "Array(Int64)"),
    ("quarter_numerator", "Array(Float64)"),
    ("quarter_denominator", "Array(Int64)"),
    ("year_numerator", "Array(Float64)"),
    ("year_denominator", "Array(Int64)"),
    ("change_measure", "Array(LowCardinality(String))"),
    ("change_at", "Array(DateTime64(3, 'UTC'))"),
    ("change_numerator", "Array(Float64)"),
    ("change_denominator", "Array(Int64)"),
    ("set_name", "Array(LowCardinality(String))"),
    ("set_procedure", "Array(String)"),
    ("set_since", "Array(DateTime('UTC'))"),
    ("set_until", "Array(Nullable(DateTime('UTC')))"),
)


def unit_day_windows_table() -> CreateTable:
    """One row per (unit, local day of receipt, subject), replaced whole (tthc.windows)."""
    return create_table(
        BY_DAY.windows, _WINDOW_ROW_COLUMNS, replacing_merge_tree("version"), "(unit, day, subject)"
    )


# --- Month rows of the windows (migration 13) ---------------------------------------------------


def unit_month_windows_table() -> CreateTable:
    """One row per (unit, first day of a month, subject): its day rows summed (tthc.windows)."""
    return create_table(
        BY_DAY.months, _WINDOW_ROW_COLUMNS, replacing_merge_tree("version"), "(unit, day, subject)"
    )


@dataclass(frozen=True)
class Fill:
    """Rows computed from other tables, written into a table whole on every node: run once,
    the replicas carry them."""

    table: str
    statements: tuple[str, ...]

    def sql(self, layout: Layout) -> list[str]:
        if layout.sharded(self.table):
            raise ValueError(f"{self.table} is sharded: fill it shard by shard")
        return list(self.statements)


# --- Events the aggregator refused to count ------------------------------------------------------

REJECTIONS_TABLE = "rejections"


def rejections_table() -> CreateTable:
    """Written out, not derived: it is migration 6 and must not change later. One row per
    refused (source, id) and reason, whichever copy was written last."""
    return create_table(
        REJECTIONS_TABLE,
        [
            ("integration", "LowCardinality(String)"),
            ("source", "String"),
            ("id", "String"),
            ("type", "LowCardinality(String)"),
            ("subject", "String"),
            ("reason", "LowCardinality(String)"),
            ("detail", "String"),
            ("event_time", "DateTime64(3, 'UTC')"),
            ("rejected_at", "DateTime64(3, 'UTC')"),
        ],
        replacing_merge_tree("rejected_at"),
        "(integration, source, id, reason)",
    )


# --- How far the data goes: written by the aggregator after each commit ----------------------

WATERMARKS_TABLE = "pipeline_watermarks"


def pipeline_watermarks_table() -> CreateTable:
    """Per consumer group and partition: the committed offset, the end of the log as last seen,
    and the newest event time committed (everything before it in the partition is in the facts).
    A small table: a whole copy on every node of a cluster. Written out: migration 8's."""
    return create_table(
        WATERMARKS_TABLE,
        [
            ("group", "String"),
            ("topic", "String"),
            ("partition", "UInt32"),
            ("committed", "Int64"),
            ("log_end", "Int64"),
            ("event_time", "Nullable(DateTime64(3, 'UTC'))"),
            ("updated_at", "DateTime64(3, 'UTC')"),
        ],
        replacing_merge_tree("updated_at"),
        "(`group`, topic, partition)",
    )


# --- The unit tree: written by the worker at start-up, read by the dashboards' scores ---------


def unit_tree_table() -> CreateTable:
    """One row per (unit, ancestor): `ancestor` a current unit, `unit` a code of its subtree
    (merged units included), described by the other columns (tthc.period_scores). A start writes
    the whole tree beside the last one and then deletes the older: readers read the latest
    `written_at`. Small: a whole copy on every node of a cluster. Written out: migration 12's."""
    return create_table(
        UNIT_TREE_TABLE,
        [
            ("unit", "String"),
            ("ancestor", "String"),
            ("name", "String"),
            ("level", "LowCardinality(String)"),
            ("parent", "String"),
            ("today", "String"),
            ("today_level", "LowCardinality(String)"),
            ("written_at", "DateTime64(3, 'UTC')"),
        ],
        merge_tree(),
        "(ancestor, unit)",
    )


# --- Migrations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    operations: tuple[Operation, ...]
    # It adds a fact column: rows written before it hold the column's default until
    # `tthc replay` derives them again.
    needs_replay: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.operations, tuple) or any(
            isinstance(op, str) for op in self.operations
        ):
            raise TypeError(
                f"migration {self.version}: a tuple of operations (create_table, add_column, …), "
                "not SQL text, which would be right for one layout only"
            )

    def sql(self, layout: Layout = SINGLE_NODE) -> list[str]:
        return [statement for op in self.operations for statement in op.sql(layout)]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "facts tables",
        (
            dossier_facts_table(),
            feedback_facts_table(),
            procedure_facts_table(),
            commune_facts_table(),
        ),
    ),
    Migration(2, "score snapshots", (unit_scores_table(), unit_score_history_table())),
    Migration(
        3,
        "rolling windows",
        (unit_day_tallies_table(), unit_day_procedure_sets_table(), window_generations_table()),
    ),
    Migration(
        4,
        "all supplement time, for 2.2",
        (add_column(TABLES.dossier, "supplement_seconds", "Int64", after="paused_seconds"),),
        needs_replay=True,
    ),
    Migration(
        5,
        "the day of the first late decision, for 1.1",
        # `announced_late` stays: a writer of the code before still names it in its inserts
        # until it is upgraded; nothing reads it any more.
        (
            add_column(
                TABLES.procedure,
                "first_late_decision_on",
                "Nullable(Date)",
                after="first_announced_on",
            ),
        ),
        needs_replay=True,
    ),
    Migration(6, "events refused by the aggregator", (rejections_table(),)),
    Migration(
        7,
        "when each thing happened, for scores exact at any instant",
        # Rows written before it hold empty instants (nothing happened, nothing refused)
        # until derived again.
        (
            add_column(TABLES.dossier, "refused_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "withdrawn_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "due_changed_at", "Array(DateTime('UTC'))"),
            add_column(TABLES.dossier, "due_values", "Array(DateTime('UTC'))"),
            add_column(TABLES.dossier, "supplement_requested_at", "Array(DateTime('UTC'))"),
            add_column(
                TABLES.dossier, "supplement_answered_at", "Array(Nullable(DateTime('UTC')))"
            ),
            add_column(TABLES.dossier, "supplement_due_reset", "Array(Bool)"),
            add_column(TABLES.dossier, "fee_changed_at", "Array(DateTime('UTC'))"),
            add_column(TABLES.dossier, "fee_values", "Array(Int64)"),
            add_column(TABLES.dossier, "paid_online_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "result_electronic_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "result_pushed_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "result_digitized_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "digitized_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "reused_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "data_store_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "identity_verified_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.dossier, "rated_at", "Array(DateTime('UTC'))"),
            add_column(TABLES.dossier, "rated_dissatisfied", "Array(Bool)"),
            add_column(TABLES.dossier, "complaint_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.feedback, "classified_at", "Nullable(DateTime('UTC'))"),
            add_column(TABLES.feedback, "rated_at", "Array(DateTime('UTC'))"),
            add_column(TABLES.feedback, "rated_dissatisfied", "Array(Bool)"),
            add_column(TABLES.feedback, "complained_again_at", "Nullable(DateTime('UTC'))"),
        ),
        needs_replay=True,
    ),
    Migration(8, "pipeline watermarks", (pipeline_watermarks_table(),)),
    Migration(
        9,
        "no total for a unit with nothing to judge; each publication, for 1.3 at any day",
        (
            # the refresher rewrites the snapshot at every refresh
            modify_column(UNIT_SCORES_TABLE, "total", "Nullable(Float64)"),
            modify_column(UNIT_SCORE_HISTORY_TABLE, "total", "Nullable(Float64)"),
            # rows written before hold no publication until derived again
            add_column(TABLES.procedure, "published_on", "Array(Date)"),
            add_column(TABLES.procedure, "published_complete", "Array(Bool)"),
        ),
        needs_replay=True,
    ),
    Migration(
        10,
        "procedure names, from the catalogue; the components a publication lacks, for 1.3",
        (
            add_column(TABLES.procedure, "name", "String"),
            add_column(TABLES.procedure, "missing_components", "Array(String)"),
        ),
        needs_replay=True,
    ),
    Migration(
        11,
        "rolling windows kept by the aggregator: facts by unit and day, and their windows",
        # filled for data written before by `tthc windows rebuild` (the aggregator fills them
        # from now on); the API's windows of migration 3 and snapshots of 2 are no longer written
        (dossier_facts_by_day_table(), feedback_facts_by_day_table(), unit_day_windows_table()),
    ),
    Migration(12, "the unit tree, for scores computed in SQL", (unit_tree_table(),)),
    Migration(
        13,
        "month rows of the windows, for a year read in twelve rows per unit",
        # the day windows written before, summed (the aggregator keeps both from now on)
        (
            unit_month_windows_table(),
            Fill(BY_DAY.months, tuple(rollup_sql(subject, None) for subject in SUBJECTS)),
        ),
    ),
)


def truncate_facts_sql(layout: Layout = SINGLE_NODE) -> list[str]:
    """Empty every facts table (replay starts from nothing)."""
    return [s for subject in FACTS_OF for s in truncate(getattr(TABLES, subject.value)).sql(layout)]


def schema_sql(layout: Layout = SINGLE_NODE) -> str:
    """Every statement a fresh database runs, in order: what the snapshot tests pin."""
    blocks = [s + ";" for s in schema_migrations_table().sql(layout)]
    for migration in MIGRATIONS:
        blocks.append(f"-- migration {migration.version}: {migration.name}")
        blocks.extend(statement + ";" for statement in migration.sql(layout))
    return "\n\n".join(blocks) + "\n"
