"""The ClickHouse schema of the facts tables, derived from the domain's fact dataclasses.

Each table is a function that returns its SQL, built from small helpers, so that the generated
DDL can be pinned by a snapshot test and a change to a fact row shows up as a readable diff.
Migrations are an ordered list of statements applied once each, recorded in `schema_migrations`;
every statement is idempotent (IF NOT EXISTS) so that a start interrupted half-way is harmless.

Deduplication is designed into the tables: one row per entity code (ORDER BY code), replaced by
a newer row (ReplacingMergeTree on `version`, monotonic per entity). A redelivered event rewrites
the same row with the same version, so at-least-once delivery counts once. The tables are not
partitioned: ReplacingMergeTree only collapses rows within a partition, and a correction can move
a dossier to another month.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from tthc.facts import CommuneFacts, DossierFacts, Facts, FeedbackFacts, ProcedureFacts
from tthc.measures import Subject, TableNames, WindowTables

VERSION_COLUMN = "version"
MIGRATIONS_TABLE = "schema_migrations"
TABLES = TableNames()  # the names the measures' SQL reads
WINDOWS = WindowTables()  # the rolling windows the API's refresher writes

FACTS_OF: dict[Subject, type[Facts]] = {
    Subject.dossier: DossierFacts,
    Subject.feedback: FeedbackFacts,
    Subject.procedure: ProcedureFacts,
    Subject.commune: CommuneFacts,
}

_SCALARS: dict[Any, str] = {
    str: "String",
    bool: "Bool",
    int: "Int64",
    float: "Float64",
    datetime: "DateTime('UTC')",
    date: "Date",
}


def clickhouse_type(annotation: Any) -> str:
    """The ClickHouse type of a fact column's Python annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(annotation)) != 2:
            raise TypeError(f"only `X | None` unions map to ClickHouse, not {annotation!r}")
        return f"Nullable({clickhouse_type(args[0])})"
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"Array({clickhouse_type(item)})"
    try:
        return _SCALARS[annotation]
    except KeyError:
        raise TypeError(f"no ClickHouse type for {annotation!r}") from None


def fact_columns(facts: type[Facts]) -> list[tuple[str, str]]:
    """(name, ClickHouse type) of every column of a fact row, in declaration order."""
    hints = typing.get_type_hints(facts)
    return [(f.name, clickhouse_type(hints[f.name])) for f in fields(facts)]  # type: ignore[arg-type]


# --- Helpers for engines and settings -----------------------------------------------------------


def replacing_merge_tree(version: str) -> str:
    return f"ReplacingMergeTree({version})"


def _columns_sql(columns: list[tuple[str, str]]) -> str:
    return ",\n".join(f"    `{name}` {type_}" for name, type_ in columns)


def _create_table(name: str, columns: list[tuple[str, str]], engine: str, order_by: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {name}\n(\n{_columns_sql(columns)}\n)\n"
        f"ENGINE = {engine}\nORDER BY {order_by}"
    )


# --- Tables -------------------------------------------------------------------------------------


def facts_table_sql(subject: Subject, tables: TableNames = TABLES) -> str:
    """One row per entity code, the row with the highest version wins."""
    columns = fact_columns(FACTS_OF[subject]) + [(VERSION_COLUMN, "UInt64")]
    return _create_table(
        getattr(tables, subject.value), columns, replacing_merge_tree(VERSION_COLUMN), "code"
    )


def dossier_facts_table_sql(tables: TableNames = TABLES) -> str:
    return facts_table_sql(Subject.dossier, tables)


def feedback_facts_table_sql(tables: TableNames = TABLES) -> str:
    return facts_table_sql(Subject.feedback, tables)


def procedure_facts_table_sql(tables: TableNames = TABLES) -> str:
    return facts_table_sql(Subject.procedure, tables)


def commune_facts_table_sql(tables: TableNames = TABLES) -> str:
    return facts_table_sql(Subject.commune, tables)


def schema_migrations_table_sql() -> str:
    # Two processes may migrate at once (aggregator and API): a repeated row collapses.
    return _create_table(
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
SCORE_COLUMNS: list[tuple[str, str]] = [
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
]


def unit_scores_table_sql() -> str:
    """The latest scorecard of every unit for the current periods (read with FINAL)."""
    return _create_table(
        UNIT_SCORES_TABLE,
        SCORE_COLUMNS,
        replacing_merge_tree("computed_at"),
        "(period, unit, indicator)",
    )


def unit_score_history_table_sql() -> str:
    """Scorecards over time: a row each time a value changed, and every row at least hourly."""
    return (
        _create_table(
            UNIT_SCORE_HISTORY_TABLE,
            SCORE_COLUMNS,
            "MergeTree",
            "(unit, indicator, period, computed_at)",
        )
        + "\nPARTITION BY toYYYYMM(computed_at)"
    )


# --- Rolling windows: written by the API's refresher, a generation at a time --------------------
# One partition per generation: a new generation is written beside the last one, and an old one
# goes with a cheap DROP PARTITION; readers read the latest generation recorded as complete.


def _by_generation(name: str, columns: list[tuple[str, str]], order_by: str) -> str:
    return (
        _create_table(name, [("generation", "UInt64"), *columns], "MergeTree", order_by)
        + "\nPARTITION BY generation"
    )


def unit_day_tallies_table_sql() -> str:
    """Numerator and denominator of each windowed measure per unit and local day of receipt."""
    return _by_generation(
        WINDOWS.tallies,
        [
            ("unit", "String"),
            ("day", "Date"),
            ("measure", "LowCardinality(String)"),
            ("numerator", "Float64"),
            ("denominator", "Int64"),
        ],
        "(unit, day, measure)",
    )


def unit_day_procedure_sets_table_sql() -> str:
    """The procedures of each dossier set (online dossiers, paid online) per unit and day."""
    return _by_generation(
        WINDOWS.sets,
        [
            ("unit", "String"),
            ("day", "Date"),
            ("set_name", "LowCardinality(String)"),
            ("procedure", "String"),
        ],
        "(set_name, unit, day, procedure)",
    )


def window_generations_table_sql() -> str:
    """A row when a generation starts (complete = false) and one when it is whole."""
    return _by_generation(
        WINDOWS.generations,
        [
            ("cutoff", "DateTime('UTC')"),  # the instant its tallies are judged at
            ("computed_at", "DateTime64(3, 'UTC')"),
            ("complete", "Bool"),
        ],
        "complete",
    )


# --- Migrations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # It adds a fact column: rows written before it hold the column's default until
    # `tthc replay` derives them again.
    needs_replay: bool = False


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "facts tables",
        (
            dossier_facts_table_sql(),
            feedback_facts_table_sql(),
            procedure_facts_table_sql(),
            commune_facts_table_sql(),
        ),
    ),
    Migration(
        2,
        "score snapshots",
        (unit_scores_table_sql(), unit_score_history_table_sql()),
    ),
    Migration(
        3,
        "rolling windows",
        (
            unit_day_tallies_table_sql(),
            unit_day_procedure_sets_table_sql(),
            window_generations_table_sql(),
        ),
    ),
    Migration(
        4,
        "all supplement time, for 2.2",
        # Written out, not derived from today's fact row: a migration must not change later.
        # (A fresh database has the column from its CREATE already: IF NOT EXISTS.)
        (
            "ALTER TABLE dossier_facts "
            "ADD COLUMN IF NOT EXISTS `supplement_seconds` Int64 AFTER `paused_seconds`",
        ),
        needs_replay=True,
    ),
    Migration(
        5,
        "the day of the first late decision, for 1.1",
        (
            "ALTER TABLE procedure_facts "
            "ADD COLUMN IF NOT EXISTS `first_late_decision_on` Nullable(Date) "
            "AFTER `first_announced_on`",
            # `announced_late` stays: a writer of the code before still names it in its inserts
            # until it is upgraded; nothing reads it any more.
        ),
        needs_replay=True,
    ),
    Migration(
        7,
        "when each thing happened, for scores exact at any instant",
        # Written out, not derived from today's fact rows, like 4 and 5. Rows written before
        # it hold empty instants (nothing happened, nothing refused) until derived again.
        (
            "ALTER TABLE dossier_facts"
            " ADD COLUMN IF NOT EXISTS `refused_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `withdrawn_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `due_changed_at` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `due_values` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `supplement_requested_at` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `supplement_answered_at` Array(Nullable(DateTime('UTC'))),"
            " ADD COLUMN IF NOT EXISTS `supplement_due_reset` Array(Bool),"
            " ADD COLUMN IF NOT EXISTS `fee_changed_at` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `fee_values` Array(Int64),"
            " ADD COLUMN IF NOT EXISTS `paid_online_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `result_electronic_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `result_pushed_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `result_digitized_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `digitized_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `reused_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `data_store_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `identity_verified_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `rated_at` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `rated_dissatisfied` Array(Bool),"
            " ADD COLUMN IF NOT EXISTS `complaint_at` Nullable(DateTime('UTC'))",
            "ALTER TABLE feedback_facts"
            " ADD COLUMN IF NOT EXISTS `classified_at` Nullable(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `rated_at` Array(DateTime('UTC')),"
            " ADD COLUMN IF NOT EXISTS `rated_dissatisfied` Array(Bool),"
            " ADD COLUMN IF NOT EXISTS `complained_again_at` Nullable(DateTime('UTC'))",
        ),
        needs_replay=True,
    ),
)


def schema_sql() -> str:
    """Every statement a fresh database runs, in order: what the snapshot test pins."""
    blocks = [schema_migrations_table_sql() + ";"]
    for migration in MIGRATIONS:
        blocks.append(f"-- migration {migration.version}: {migration.name}")
        blocks.extend(statement + ";" for statement in migration.statements)
    return "\n\n".join(blocks) + "\n"
