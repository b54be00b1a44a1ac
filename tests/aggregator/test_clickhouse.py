"""services.storage.clickhouse on chDB: migrations, idempotent inserts, tallies.

No Kafka here: the batch step folds a generated workload, its rows go to chDB, and every
numerator and denominator read back equals the reference computation.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from services.aggregator.processing import (
    BatchProcessor,
    Catalog,
    Deriver,
    HistoryStore,
    Record,
)
from services.storage.clickhouse import (
    SchemaError,
    check_schema,
    insert_facts,
    migrate,
    tallies,
    truncate_facts,
)
from services.storage.schema import MIGRATIONS, SINGLE_NODE, schema_migrations_table
from tests.aggregator.conftest import MIDDLE, SMALL, FactsAt, encode, sample_units
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.events import Event
from tthc.facts import DossierFacts
from tthc.measures import Subject
from tthc.periods import parse_period
from tthc.profile import load_profile
from tthc.reference import reference_tallies, scope_of
from tthc.simulation import generate_events


def fold_and_insert(client, events: list[Event], batch: int = 400) -> None:
    """What the worker does, minus Kafka: batches through the step, rows into ClickHouse."""
    step = BatchProcessor(
        HistoryStore({}), Deriver(Catalog(), WorkingCalendar(), load_profile().settings)
    )
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        outcome = asyncio.run(step.process([Record(encode(e)) for e in chunk]))
        insert_facts(client, outcome.rows)
    # what the worker's reconciliation does once the catalog changed
    codes = client.query("SELECT code FROM dossier_facts FINAL").result_columns[0]
    insert_facts(client, {Subject.dossier: step.rederive_dossiers(codes)})


def assert_tallies_equal_reference(client, events, tree, as_of) -> dict:
    profile = load_profile()
    facts_at = FactsAt(events)
    seen = {}
    for unit in sample_units(tree):
        for label in ("2024-05", "2024-Q2", "2024"):
            scope = scope_of(tree, unit, parse_period(label), as_of)
            expected = reference_tallies(profile, facts_at(scope.cutoff), scope)
            assert tallies(client, profile, scope) == expected, (unit, label)
            seen[(unit, label)] = expected
    return seen


def test_migrations_apply_once_and_check_the_schema(clickhouse) -> None:
    versions = [m.version for m in MIGRATIONS]
    with capture_logs() as logs:
        assert migrate(clickhouse) == versions
    assert logs == []  # a fresh database has nothing to replay
    assert migrate(clickhouse) == []
    rows = clickhouse.query("SELECT count() FROM schema_migrations FINAL").result_rows
    assert rows == [(len(versions),)]
    clickhouse.command("ALTER TABLE feedback_facts DROP COLUMN classified")
    with pytest.raises(SchemaError, match="feedback_facts.classified"):
        check_schema(clickhouse)


def test_migrations_4_5_7_and_9_bring_a_database_made_before_them_to_today(clickhouse) -> None:
    # a database migrated up to 3 by the code of then: migrations are frozen, so theirs
    for statement in schema_migrations_table().sql(SINGLE_NODE):
        clickhouse.command(statement)
    for migration in MIGRATIONS[:3]:
        for statement in migration.sql():
            clickhouse.command(statement)
    clickhouse.insert(
        "schema_migrations",
        [(m.version, m.name, datetime.now(UTC)) for m in MIGRATIONS[:3]],
        column_names=["version", "name", "applied_at"],
    )
    with pytest.raises(SchemaError, match="dossier_facts.supplement_seconds"):
        check_schema(clickhouse)
    with capture_logs() as logs:
        later = [m.version for m in MIGRATIONS[3:]]
        assert migrate(clickhouse) == later and {4, 5, 7, 9, 10} <= set(later)  # and the check
    (warning,) = [e for e in logs if e["log_level"] == "warning"]
    assert "tthc replay" in warning["event"] and {4, 5, 7, 9, 10} <= set(warning["migrations"])
    columns = [r[0] for r in clickhouse.query("DESCRIBE TABLE dossier_facts").result_rows]
    assert columns.index("supplement_seconds") == columns.index("paused_seconds") + 1
    # the instants come after the columns of then, in the order of the fact row
    assert columns[-20:] == DossierFacts.columns()[-20:]
    for table in ("unit_scores", "unit_score_history"):  # no total without data (9)
        types = dict(r[:2] for r in clickhouse.query(f"DESCRIBE TABLE {table}").result_rows)
        assert types["total"] == "Nullable(Float64)"
    columns = [r[0] for r in clickhouse.query("DESCRIBE TABLE procedure_facts").result_rows]
    # the old flag stays for writers of the code before, until they are upgraded
    assert "first_late_decision_on" in columns and "announced_late" in columns
    assert columns.index("name") == columns.index("published_complete") + 1


def test_every_tally_equals_the_reference(clickhouse, tree, small_events) -> None:
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events)
    seen = assert_tallies_equal_reference(clickhouse, small_events, tree, MIDDLE)
    # the workload exercises every measure somewhere
    province_year = seen[(tree.root.code, "2024")]
    assert all(t.denominator > 0 for t in province_year.values()), province_year


@pytest.mark.parametrize(
    "cutoff",
    [
        datetime(2024, 4, 17, 14, 23, 41, tzinfo=VN_TZ),
        datetime(2024, 6, 3, 8, 5, tzinfo=VN_TZ),
        datetime(2024, 6, 28, 16, 30, tzinfo=VN_TZ),
    ],
)
def test_tallies_at_cutoffs_inside_periods_equal_the_fold_of_the_events_by_then(
    clickhouse, tree, small_events, cutoff
) -> None:
    """Everything sent, judged at an instant inside the periods: ClickHouse counts only what
    had happened by then, as the reference folds it, supplement patterns of 2.1 included."""
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events)
    assert_tallies_equal_reference(clickhouse, small_events, tree, cutoff)
    patterns = clickhouse.query(
        "SELECT countIf(has(supplement_answered_at, NULL)), "
        "countIf(arrayExists(a -> a > ended_at, supplement_answered_at)), "
        "countIf(has(supplement_due_reset, true)), "
        "countIf(length(supplement_requested_at) > 0 "
        "AND supplement_requested_at[1] > due_values[1]) "
        "FROM dossier_facts FINAL"
    ).result_rows[0]
    # unanswered requests, answers after the end, due dates re-set, requests after the due date
    assert all(n > 0 for n in patterns), patterns


def test_rows_written_twice_or_out_of_order_count_once(clickhouse, tree, small_events) -> None:
    migrate(clickhouse)
    profile = load_profile()
    scope = scope_of(tree, tree.root.code, parse_period("2024"), MIDDLE)
    fold_and_insert(clickhouse, small_events)
    once = tallies(clickhouse, profile, scope)
    fold_and_insert(clickhouse, small_events[::-1])  # everything again, backwards
    assert tallies(clickhouse, profile, scope) == once
    final, codes = clickhouse.query(
        "SELECT (SELECT count() FROM dossier_facts FINAL), uniqExact(code) FROM dossier_facts"
    ).result_rows[0]
    assert final == codes


def test_open_dossiers_turn_late_with_no_new_event(clickhouse, tree) -> None:
    """The workload stops mid-May: judged later, dossiers still open are past due."""
    events = generate_events(tree, replace(SMALL, until=MIDDLE))
    migrate(clickhouse)
    fold_and_insert(clickhouse, events)
    profile = load_profile()
    scope = scope_of(tree, tree.root.code, parse_period("2024-05"), MIDDLE)
    later = replace(scope, cutoff=MIDDLE + timedelta(days=10))
    now, then = tallies(clickhouse, profile, scope), tallies(clickhouse, profile, later)
    assert then["dossiers_on_time"].numerator < now["dossiers_on_time"].numerator
    assert then["dossiers_on_time"].denominator == now["dossiers_on_time"].denominator
    assert_tallies_equal_reference(clickhouse, events, tree, MIDDLE)
    assert_tallies_equal_reference(clickhouse, events, tree, MIDDLE + timedelta(days=10))


def test_truncate_empties_the_facts(clickhouse, small_events) -> None:
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events[:200])
    truncate_facts(clickhouse)
    assert clickhouse.query("SELECT count() FROM dossier_facts").result_rows == [(0,)]
