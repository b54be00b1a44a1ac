"""ClickHouse for the aggregator and the API: client, migrations, fact inserts, tallies.

The same SQL runs on a ClickHouse server (`http://host:8123`) and on the embedded engine
(`chdb:///absolute/dir`, clickhouse-connect's chDB backend): only the URL differs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from services.observability import get_logger
from services.storage.schema import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    SINGLE_NODE,
    TABLES,
    VERSION_COLUMN,
    Layout,
    fact_columns,
    schema_migrations_table,
    truncate_facts_sql,
)
from tthc.expr import sql_literal
from tthc.facts import FACTS_OF, Facts
from tthc.measures import Scope, Subject, Tally, subject_sql
from tthc.period_scores import SCORES_VIEW, UNIT_TREE_TABLE, scores_view_body, unit_tree_rows
from tthc.profile import Profile
from tthc.scoring import profile_measures
from tthc.units import UnitTree

log = get_logger("clickhouse")

__all__ = [
    "Client",
    "Layout",
    "SchemaError",
    "VersionedFacts",
    "clickhouse_client",
    "insert_facts",
    "migrate",
    "tallies",
    "truncate_facts",
]


class SchemaError(RuntimeError):
    """The database's tables do not match the fact rows this code writes."""


@dataclass(frozen=True)
class VersionedFacts:
    """A fact row and its version: the highest version of a code is the current row."""

    facts: Facts
    version: int
    # the entity had no history before this batch: no row of it was written before, so the
    # windows' step need not look up where it was (services.storage.windows)
    fresh: bool = False


# The embedded engine's allocator (chDB's own jemalloc, configured from JE_MALLOC_CONF when the
# library loads) keeps freed pages for 5 s by default, so each window step's working memory is
# still resident when the next batch builds its rows. Handing pages back after 0.2 s, from a
# background thread, lowered a worker's peak at 300,000 open dossiers by ~80 MiB (with the
# smaller caches of its settings) at no measured cost in speed. An operator's own value wins.
EMBEDDED_ALLOCATOR_CONF = "background_thread:true,dirty_decay_ms:200"


def clickhouse_client(url: str, settings: Mapping[str, int] | None = None) -> Client:
    """A client for `http(s)://[user:password@]host:port[/database]` or `chdb:///dir`, its
    queries run with `settings` (ClickHouse's, by name).

    A chDB directory can be open in one process only, and in one client of that process.
    """
    if not url.startswith(("http://", "https://", "chdb://")):
        raise ValueError(f"ClickHouse URL must start with http://, https:// or chdb://: {url!r}")
    if url.startswith("chdb://"):
        os.environ.setdefault("JE_MALLOC_CONF", EMBEDDED_ALLOCATOR_CONF)
    return clickhouse_connect.get_client(dsn=url, settings=dict(settings or {}))


def applied_migrations(client: Client, layout: Layout = SINGLE_NODE) -> set[int]:
    for statement in schema_migrations_table().sql(layout):
        client.command(statement)
    result = client.query(f"SELECT DISTINCT version FROM {MIGRATIONS_TABLE}")
    return {int(row[0]) for row in result.result_rows}


def migrate(client: Client, layout: Layout = SINGLE_NODE) -> list[int]:
    """Apply the migrations not yet applied, in order; return their versions.

    Statements are idempotent, so a migration interrupted before it was recorded is simply run
    again. Afterwards the facts tables are checked against the fact rows of this code.
    """
    done = applied_migrations(client, layout)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.sql(layout):
            client.command(statement)
        client.insert(
            MIGRATIONS_TABLE,
            [(migration.version, migration.name, datetime.now(UTC))],
            column_names=["version", "name", "applied_at"],
        )
        applied.append(migration.version)
    check_schema(client)
    stale = [m.version for m in MIGRATIONS if m.needs_replay and m.version in applied]
    if done and stale:  # not a fresh database: it may hold rows written before them
        log.warning(
            "facts written before these migrations lack what they add: run `tthc replay`",
            migrations=stale,
        )
    return applied


def check_schema(client: Client) -> None:
    """Fail early, naming the column, when a fact row changed without a migration."""
    for subject, facts in FACTS_OF.items():
        table = getattr(TABLES, subject.value)
        result = client.query(f"DESCRIBE TABLE {table}")
        live = {row[0]: row[1] for row in result.result_rows}
        expected = dict(fact_columns(facts)) | {VERSION_COLUMN: "UInt64"}
        for name, type_ in expected.items():
            if live.get(name) != type_:
                raise SchemaError(
                    f"{table}.{name}: the code writes {type_}, the database has "
                    f"{live.get(name, 'no such column')}; add a migration"
                )


def insert_facts(
    client: Client, rows_by_subject: Mapping[Subject, Sequence[VersionedFacts]]
) -> dict[Subject, float]:
    """One insert per facts table; return each insert's duration in seconds.

    Inserting a row again (a redelivered event) is harmless: the same code and version collapse.
    """
    durations: dict[Subject, float] = {}
    for subject, rows in rows_by_subject.items():
        if not rows:
            continue
        columns = FACTS_OF[subject].columns() + [VERSION_COLUMN]
        # Column by column: the client sends columns, and would transpose rows itself.
        data = list(zip(*((*row.facts.values(), row.version) for row in rows), strict=True))
        started = time.perf_counter()
        client.insert(
            getattr(TABLES, subject.value), data, column_names=columns, column_oriented=True
        )
        durations[subject] = time.perf_counter() - started
    return durations


def write_unit_tree(client: Client, tree: UnitTree) -> int:
    """Write the tree beside the last one, then delete the older ones; return the rows written.
    One insert is one part, so a reader of the latest `written_at` sees a whole tree."""
    now = datetime.now(UTC)
    written_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the column's ms
    rows = unit_tree_rows(tree)
    columns = [*rows[0], "written_at"]
    client.insert(
        UNIT_TREE_TABLE, [[*row.values(), written_at] for row in rows], column_names=columns
    )
    instant = written_at.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
    client.command(
        f"ALTER TABLE {UNIT_TREE_TABLE} DELETE WHERE written_at < "
        f"toDateTime64({sql_literal(instant)}, 3, 'UTC')"
    )
    return len(rows)


def create_scores_view(client: Client, profile: Profile, layout: Layout = SINGLE_NODE) -> None:
    """(Re)create the view of every unit's scores for a period, scored with `profile`."""
    client.command(
        f"CREATE OR REPLACE VIEW {SCORES_VIEW}{layout.on_cluster()} AS\n{scores_view_body(profile)}"
    )


def truncate_facts(client: Client, layout: Layout = SINGLE_NODE) -> None:
    for statement in truncate_facts_sql(layout):
        client.command(statement)


def tallies(client: Client, profile: Profile, scope: Scope) -> dict[str, Tally]:
    """Numerator and denominator of every measure the profile scores, one query per subject."""
    scored = profile_measures(profile)
    result: dict[str, Tally] = {}
    for subject in Subject:
        measures = [m for m in scored if m.subject is subject]
        if not measures:
            continue
        row = client.query(subject_sql(subject, measures, scope, TABLES)).named_results()
        values = next(iter(row))
        for m in measures:
            numerator = values[f"{m.key}__num"]
            result[m.key] = Tally(
                float(numerator) if m.average else int(numerator),
                int(values[f"{m.key}__den"]),
            )
    return result
